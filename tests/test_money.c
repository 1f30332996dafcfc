/* money: exact decimal parsing, rounding, limits and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/money.h"

static int64_t cents(const char *s) {
    int64_t c = 0x5A5A;
    if (money_parse(s, strlen(s), &c) != 0)
        fail_msg("'%s' should parse", s);
    return c;
}

static void bad(const char *s) {
    int64_t c = 0x5A5A;
    if (money_parse(s, strlen(s), &c) == 0)
        fail_msg("'%s' should be rejected, got %lld", s, (long long)c);
    assert_int_equal(c, 0x5A5A);
}

static int64_t scaled(const char *s, int scale) {
    int64_t v = 0;
    if (money_parse_scaled(s, strlen(s), scale, &v) != 0)
        fail_msg("'%s' at scale %d should parse", s, scale);
    return v;
}

static void test_plain(void **state) {
    (void)state;
    assert_int_equal(cents("0"), 0);
    assert_int_equal(cents("12"), 1200);
    assert_int_equal(cents("-3.5"), -350);
    assert_int_equal(cents("+3.5"), 350);
    assert_int_equal(cents("799.38"), 79938);
    assert_int_equal(cents("0.1"), 10);
    assert_int_equal(cents("0.2"), 20);
    assert_int_equal(cents("0.07"), 7);
    assert_int_equal(cents("-0.07"), -7);
    assert_int_equal(cents("5391.21"), 539121);
    assert_int_equal(cents("007.50"), 750);
    assert_int_equal(cents("5."), 500);
    assert_int_equal(cents(".5"), 50);
    assert_int_equal(cents("-.5"), -50);
    assert_int_equal(cents("-0"), 0);
    assert_int_equal(cents("-0.00"), 0);
    assert_int_equal(cents("0.10000000000000000000000000000000000001"), 10);
    /* Not NUL-terminated: only len bytes count. */
    int64_t c;
    assert_int_equal(money_parse("12.345678", 5, &c), 0);
    assert_int_equal(c, 1234);
    assert_int_equal(money_parse("12.345678", 6, &c), 0);
    assert_int_equal(c, 1235);
}

static void test_exponent(void **state) {
    (void)state;
    assert_int_equal(cents("1e3"), 100000);
    assert_int_equal(cents("1E3"), 100000);
    assert_int_equal(cents("1e+2"), 10000);
    assert_int_equal(cents("1e2"), 10000);
    assert_int_equal(cents("1.5e1"), 1500);
    assert_int_equal(cents("12345e-2"), 12345);
    assert_int_equal(cents("5e-3"), 1); /* 0.005 rounds up */
    assert_int_equal(cents("4.9e-3"), 0);
    assert_int_equal(cents("7.9938e2"), 79938);
    assert_int_equal(cents("0e99999999999999999999"), 0);
    assert_int_equal(cents("1e-99999999999999999999"), 0);
    assert_int_equal(cents("-1e-99999999999999999999"), 0);
    assert_int_equal(cents("1e13"), MONEY_MAX_CENTS);
    assert_int_equal(cents("0.000001e8"), 10000);
    bad("1e99999999999999999999");
    bad("1e14");
    bad("1e");
    bad("1e+");
    bad("1e-");
    bad("1ee2");
    bad("1e2.5");
    bad("e2");
}

static void test_rounding(void **state) {
    (void)state;
    /* Half away from zero, decided by the first dropped digit. */
    assert_int_equal(cents("0.005"), 1);
    assert_int_equal(cents("0.004"), 0);
    assert_int_equal(cents("0.0049999999999"), 0);
    assert_int_equal(cents("-0.005"), -1);
    assert_int_equal(cents("-0.004"), 0);
    assert_int_equal(cents("1.125"), 113);
    assert_int_equal(cents("1.135"), 114);
    assert_int_equal(cents("-1.125"), -113);
    assert_int_equal(cents("2.675"), 268); /* 2.67499999... as a double */
    assert_int_equal(cents("0.995"), 100);
    assert_int_equal(cents("9.999"), 1000);
    assert_int_equal(cents("0.00000000000000000000000005"), 0);
    /* Leading zeros in the fraction are not significant digits. */
    assert_int_equal(cents("0.0050"), 1);
    assert_int_equal(cents("000000000000000000000000000001.005"), 101);
}

static void test_limits(void **state) {
    (void)state;
    assert_int_equal(cents("10000000000000"), MONEY_MAX_CENTS);
    assert_int_equal(cents("-10000000000000"), -MONEY_MAX_CENTS);
    assert_int_equal(cents("9999999999999.99"), MONEY_MAX_CENTS - 1);
    assert_int_equal(cents("10000000000000.004"), MONEY_MAX_CENTS);
    bad("10000000000000.005"); /* rounds to one cent past the limit */
    bad("10000000000000.01");
    bad("-10000000000000.01");
    assert_int_equal(cents("9999999999999.995"), MONEY_MAX_CENTS); /* rounds onto it */
    bad("99999999999999999999999999999");
    bad("18446744073709551616");
    bad("9223372036854775808");
}

static void test_syntax(void **state) {
    (void)state;
    static const char *const rejects[] = {
        "",    "-",    "+",   ".",   "-.",   "+-1",      "--1",      "1.2.3", "1,5", " 1",   "1 ",
        "1 0", "NaN",  "nan", "inf", "-inf", "Infinity", "0x10",     "1_000", "$5",  "1e2 ", "5\n",
        "1/2", "1..2", "١٢",  "1d",  "1f",   "0b1",      "1,000.00", "..5",   "5..", "e",    ".e1",
    };
    for (size_t i = 0; i < sizeof rejects / sizeof *rejects; i++)
        bad(rejects[i]);
    int64_t c;
    assert_int_equal(money_parse("1\0", 2, &c), -1);
    assert_int_equal(money_parse(NULL, 0, &c), -1);
}

static void test_scaled(void **state) {
    (void)state;
    assert_int_equal(scaled("2.55", 0), 3);
    assert_int_equal(scaled("2.45", 0), 2);
    assert_int_equal(scaled("-2.5", 0), -3);
    assert_int_equal(scaled("0.001", 3), 1);
    assert_int_equal(scaled("0.0015", 3), 2);
    assert_int_equal(scaled("1.95", 4), 19500);
    assert_int_equal(scaled("123.456789123", 9), 123456789123LL);
    assert_int_equal(scaled("1e-9", 9), 1);
    assert_int_equal(scaled("10000000000000", 0), 10000000000000LL);
    assert_int_equal(scaled("10000000000000", 5), 1000000000000000000LL);
    /* Scale >= 6: the 10^13-unit limit would overflow int64; INT64_MAX rules. */
    assert_int_equal(scaled("9223372036.854775807", 9), INT64_MAX);
    int64_t v;
    assert_int_equal(money_parse_scaled("9223372036.854775808", 20, 9, &v), -1);
    assert_int_equal(money_parse_scaled("10000000000000.1", 16, 0, &v), 0);
    assert_int_equal(v, 10000000000000LL);
    assert_int_equal(money_parse_scaled("10000000000000.5", 16, 0, &v), -1);
    assert_int_equal(money_parse_scaled("1", 1, -1, &v), -1);
    assert_int_equal(money_parse_scaled("1", 1, 10, &v), -1);
}

static void test_format(void **state) {
    (void)state;
    char buf[24];
    assert_int_equal(money_format(0, buf, sizeof buf), 4);
    assert_string_equal(buf, "0.00");
    money_format(-7, buf, sizeof buf);
    assert_string_equal(buf, "-0.07");
    money_format(7, buf, sizeof buf);
    assert_string_equal(buf, "0.07");
    assert_int_equal(money_format(123450, buf, sizeof buf), 7);
    assert_string_equal(buf, "1234.50");
    money_format(-100, buf, sizeof buf);
    assert_string_equal(buf, "-1.00");
    money_format(MONEY_MAX_CENTS, buf, sizeof buf);
    assert_string_equal(buf, "10000000000000.00");
    assert_int_equal(money_format(INT64_MIN, buf, sizeof buf), 21);
    assert_string_equal(buf, "-92233720368547758.08");
    money_format(INT64_MAX, buf, sizeof buf);
    assert_string_equal(buf, "92233720368547758.07");
}

/* format -> parse is the identity over a spread of values. */
static void test_round_trip(void **state) {
    (void)state;
    char buf[24];
    int64_t v = 1;
    for (int i = 0; i < 200; i++) {
        int64_t vals[2] = {v, -v};
        for (int k = 0; k < 2; k++) {
            int n = money_format(vals[k], buf, sizeof buf);
            int64_t back;
            assert_int_equal(money_parse(buf, (size_t)n, &back), 0);
            assert_int_equal(back, vals[k]);
        }
        v = v * 7 / 3 + 11;
        if (v > MONEY_MAX_CENTS)
            v %= MONEY_MAX_CENTS;
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),    cmocka_unit_test(test_exponent),
        cmocka_unit_test(test_rounding), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_syntax),   cmocka_unit_test(test_scaled),
        cmocka_unit_test(test_format),   cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
