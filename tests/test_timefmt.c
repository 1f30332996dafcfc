/* timefmt: civil-date arithmetic, RFC 3339 and the Online Retail forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/timefmt.h"

static int parse(const char *s, int64_t *t) {
    *t = -12345; /* must be overwritten on success */
    return timefmt_parse_rfc3339(s, strlen(s), t);
}

static int64_t ok(const char *s) {
    int64_t t;
    if (parse(s, &t) != 0)
        fail_msg("'%s' should parse", s);
    return t;
}

static void bad(const char *s) {
    int64_t t = 777;
    if (timefmt_parse_rfc3339(s, strlen(s), &t) == 0)
        fail_msg("'%s' should be rejected, got %lld", s, (long long)t);
    assert_int_equal(t, 777); /* untouched on failure */
}

static int64_t retail_ok(const char *s) {
    int64_t t;
    if (timefmt_parse_retail(s, strlen(s), &t) != 0)
        fail_msg("retail '%s' should parse", s);
    return t;
}

static void retail_bad(const char *s) {
    int64_t t;
    if (timefmt_parse_retail(s, strlen(s), &t) == 0)
        fail_msg("retail '%s' should be rejected, got %lld", s, (long long)t);
}

static void test_days_from_civil(void **state) {
    (void)state;
    assert_int_equal(timefmt_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(timefmt_days_from_civil(1970, 1, 2), 1);
    assert_int_equal(timefmt_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(timefmt_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(timefmt_days_from_civil(2021, 2, 26), 18684);
    assert_int_equal(timefmt_days_from_civil(2106, 2, 7), 49710);
    assert_int_equal(timefmt_days_from_civil(0, 1, 1), -719528);
    assert_int_equal(timefmt_days_from_civil(9999, 12, 31), 2932896);
    assert_int_equal(timefmt_days_from_civil(-1, 12, 31), -719529);
}

/* civil_from_days inverts days_from_civil on every day of 0000..9999 and the
 * day count advances by exactly one per calendar day. */
static void test_civil_round_trip(void **state) {
    (void)state;
    int64_t first = timefmt_days_from_civil(0, 1, 1);
    int64_t last = timefmt_days_from_civil(9999, 12, 31);
    int64_t py = 0;
    unsigned pm = 1, pd = 0;
    for (int64_t z = first; z <= last; z++) {
        int64_t y;
        unsigned m, d;
        timefmt_civil_from_days(z, &y, &m, &d);
        assert_int_equal(timefmt_days_from_civil(y, m, d), z);
        /* Successor of the previous date. */
        if (y == py && m == pm)
            assert_int_equal(d, pd + 1);
        else
            assert_int_equal(d, 1);
        py = y, pm = m, pd = d;
    }
    assert_int_equal(py, 9999);
    int64_t y;
    unsigned m, d;
    timefmt_civil_from_days(-719529, &y, &m, &d);
    assert_int_equal(y, -1);
    assert_int_equal(m, 12);
    assert_int_equal(d, 31);
}

static void test_rfc3339_basic(void **state) {
    (void)state;
    assert_int_equal(ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ok("2021-02-26T10:00:00Z"), 1614333600);
    assert_int_equal(ok("2021-02-26t10:00:00z"), 1614333600);
    assert_int_equal(ok("2021-02-26 10:00:00Z"), 1614333600);
    assert_int_equal(ok("2021-02-26"), 1614297600);
    assert_int_equal(ok("2106-02-07T06:28:15Z"), 4294967295LL);
    assert_int_equal(ok("1969-12-31T23:59:59Z"), -1);
    assert_int_equal(ok("1900-01-01"), -2208988800LL);
    assert_int_equal(ok("0000-01-01"), -62167219200LL);
    assert_int_equal(ok("9999-12-31T23:59:59Z"), 253402300799LL);
    /* Length-delimited: bytes after len are not read. */
    int64_t t;
    assert_int_equal(timefmt_parse_rfc3339("2021-02-26XYZ", 10, &t), 0);
    assert_int_equal(t, 1614297600);
}

static void test_rfc3339_offsets_fractions(void **state) {
    (void)state;
    assert_int_equal(ok("2021-02-26T13:00:00+03:00"), 1614333600);
    assert_int_equal(ok("2021-02-26T05:30:00-04:30"), 1614333600);
    assert_int_equal(ok("2021-02-26T10:00:00+00:00"), 1614333600);
    assert_int_equal(ok("2021-02-26T10:00:00-00:00"), 1614333600);
    assert_int_equal(ok("2021-02-27T09:59:00+23:59"), 1614333600);
    /* Offset crossing the day and the year. */
    assert_int_equal(ok("2021-01-01T01:00:00+02:00"), ok("2020-12-31T23:00:00Z"));
    /* Fractions are dropped (floor: they are non-negative). */
    assert_int_equal(ok("2021-02-26T10:00:00.999Z"), 1614333600);
    assert_int_equal(ok("2021-02-26T10:00:00.5+03:00"), 1614333600 - 3 * 3600);
    assert_int_equal(ok("2021-02-26T10:00:00.000000000001Z"), 1614333600);
    assert_int_equal(ok("1969-12-31T23:59:59.5Z"), -1);
}

static void test_rfc3339_calendar(void **state) {
    (void)state;
    assert_int_equal(ok("2020-02-29"), 1582934400);
    assert_int_equal(ok("2000-02-29"), 951782400);
    bad("2021-02-29");
    bad("1900-02-29"); /* divisible by 100, not by 400 */
    bad("2021-02-30");
    bad("2021-04-31");
    bad("2021-13-01");
    bad("2021-00-10");
    bad("2021-01-00");
    bad("2021-01-32");
    assert_int_equal(ok("2021-12-31"), 1640908800);
    assert_int_equal(ok("2021-04-30"), 1619740800);
}

static void test_rfc3339_leap_second(void **state) {
    (void)state;
    /* Read as 23:59:59 UTC of the same day. */
    assert_int_equal(ok("2016-12-31T23:59:60Z"), ok("2016-12-31T23:59:59Z"));
    assert_int_equal(ok("2017-01-01T02:59:60+03:00"), ok("2016-12-31T23:59:59Z"));
    assert_int_equal(ok("2016-12-31T23:59:60.5Z"), 1483228799);
    bad("2016-12-31T12:00:60Z");
    bad("2016-12-31T23:58:60Z");
    bad("2016-12-31T23:59:60+01:00"); /* that is 22:59:60 UTC */
    bad("2016-12-31T23:59:61Z");
}

static void test_rfc3339_rejects(void **state) {
    (void)state;
    static const char *const rejects[] = {
        "",
        "2021",
        "2021-02",
        "21-02-26",
        "2021-2-26",
        "2021-02-26T",
        "2021-02-26T10:00:00",  /* no offset */
        "2021-02-26T10:00Z",    /* no seconds */
        "2021-02-26T24:00:00Z", /* hour 24 */
        "2021-02-26T10:60:00Z",
        "2021-02-26T1:00:00Z",
        "2021-02-26T10:00:00.Z", /* empty fraction */
        "2021-02-26T10:00:00+24:00",
        "2021-02-26T10:00:00+03:60",
        "2021-02-26T10:00:00+0300",
        "2021-02-26T10:00:00+03",
        "2021-02-26T10:00:00ZZ",
        "2021-02-26T10:00:00Z ",
        " 2021-02-26",
        "2021-02-26 ",
        "2021-02-26x10:00:00Z",
        "2021/02/26",
        "+2021-02-26",
        "-001-01-01",
        "20210226",
        "2021-02-26T10:00:00 Z",
        "1614333600",
        "yesterday",
    };
    for (size_t i = 0; i < sizeof rejects / sizeof *rejects; i++)
        bad(rejects[i]);
    /* An embedded NUL ends nothing: it is just a bad byte. */
    int64_t t;
    assert_int_equal(timefmt_parse_rfc3339("2021-02-26\0", 11, &t), -1);
    assert_int_equal(timefmt_parse_rfc3339("2021-02-26T10:00:00\0Z", 21, &t), -1);
}

static void test_retail(void **state) {
    (void)state;
    int64_t want = ok("2010-12-01T08:26:00Z");
    assert_int_equal(retail_ok("2010-12-01 08:26:00"), want);
    assert_int_equal(retail_ok("2010-12-01 08:26"), want);
    assert_int_equal(retail_ok("12/1/2010 8:26"), want);
    assert_int_equal(retail_ok("12/01/2010 08:26"), want);
    assert_int_equal(retail_ok("12/01/2010 08:26:30"), want + 30);
    assert_int_equal(retail_ok("2010-12-01 08:26:59"), want + 59);
    /* Month first: 1/12 is January 12th. */
    assert_int_equal(retail_ok("1/12/2011 17:05"), ok("2011-01-12T17:05:00Z"));
    assert_int_equal(retail_ok("2/29/2012 0:00"), ok("2012-02-29"));
    assert_int_equal(retail_ok("12/9/2011 12:50"), ok("2011-12-09T12:50:00Z"));

    retail_bad("");
    retail_bad("2010-12-01");
    retail_bad("2010-12-01 8:26"); /* ISO form keeps two-digit hours */
    retail_bad("2010-12-01T08:26:00");
    retail_bad("2010-12-01 08:26:00Z");
    retail_bad("2010-12-01 08:26:60");
    retail_bad("2010-12-01 24:00");
    retail_bad("2010-12-32 08:26");
    retail_bad("13/1/2010 8:26"); /* day first is not read */
    retail_bad("2/29/2011 8:26");
    retail_bad("12/1/10 8:26");
    retail_bad("12/1/2010");
    retail_bad("12/1/2010 8:6");
    retail_bad("12/1/2010  8:26");
    retail_bad("012/1/2010 8:26");
    retail_bad("12/1/2010 8:26 ");
    retail_bad("12-1-2010 8:26");
}

static void test_format(void **state) {
    (void)state;
    char buf[40];
    timefmt_date(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01");
    timefmt_date(1614333600, buf, sizeof buf);
    assert_string_equal(buf, "2021-02-26");
    timefmt_date(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31");
    timefmt_date(4294967295LL, buf, sizeof buf);
    assert_string_equal(buf, "2106-02-07");
    char small[11];
    timefmt_date(253402300799LL, small, sizeof small);
    assert_string_equal(small, "9999-12-31");

    timefmt_rfc3339_ms(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    timefmt_rfc3339_ms(1614333600123LL, buf, sizeof buf);
    assert_string_equal(buf, "2021-02-26T10:00:00.123Z");
    timefmt_rfc3339_ms(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    char exact[25];
    timefmt_rfc3339_ms(1796119200123LL, exact, sizeof exact);
    assert_string_equal(exact, "2026-12-01T10:00:00.123Z");
    assert_int_equal(ok(exact), 1796119200);
}

static void test_day_start(void **state) {
    (void)state;
    assert_int_equal(timefmt_day_start(0), 0);
    assert_int_equal(timefmt_day_start(86399), 0);
    assert_int_equal(timefmt_day_start(86400), 86400);
    assert_int_equal(timefmt_day_start(1614333600), 1614297600);
    assert_int_equal(timefmt_day_start(-1), -86400);
    assert_int_equal(timefmt_day_start(-86400), -86400);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_from_civil),  cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_rfc3339_basic),    cmocka_unit_test(test_rfc3339_offsets_fractions),
        cmocka_unit_test(test_rfc3339_calendar), cmocka_unit_test(test_rfc3339_leap_second),
        cmocka_unit_test(test_rfc3339_rejects),  cmocka_unit_test(test_retail),
        cmocka_unit_test(test_format),           cmocka_unit_test(test_day_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
