/* event: decoding order events (contract §2), with reasons and exact amounts;
 * the encoders are tested in test_event_encode.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rfm/event.h"
#include "rfm/money.h"

static event_fields F;
static event_decoded D;
static char E[256];

static event_reject dec_n(const char *buf, size_t len, size_t max) {
    return event_decode(&F, buf, len, max, &D, E, sizeof E);
}

static event_reject dec(const char *json) {
    return dec_n(json, strlen(json), EVENT_MAX_BYTES);
}

/* A valid order with one field's value replaced (or removed when NULL). */
static char *with(const char *name, const char *value) {
    static char buf[4096];
    static const char *const names[] = {"order_id", "customer_id", "ts", "amount"};
    static const char *const values[] = {"\"o-1\"", "\"c-1\"", "\"2021-02-26T10:00:00Z\"", "12.5"};
    int n = snprintf(buf, sizeof buf, "{");
    for (int i = 0; i < 4; i++) {
        const char *v = values[i];
        if (!strcmp(names[i], name))
            v = value;
        if (v)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%s\"%s\":%s", n > 1 ? "," : "",
                          names[i], v);
    }
    if (strcmp(name, "order_id") && strcmp(name, "customer_id") && strcmp(name, "ts") &&
        strcmp(name, "amount") && value)
        n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"%s\":%s", name, value);
    snprintf(buf + n, sizeof buf - (size_t)n, "}");
    return buf;
}

#define expect_reject(json, reason)                                                                \
    do {                                                                                           \
        event_reject r_ = dec(json);                                                               \
        if (r_ != (reason))                                                                        \
            fail_msg("%s: got %s (%s), want %s", (json), event_reject_name(r_), E,                 \
                     event_reject_name(reason));                                                   \
        assert_true(strlen(E) > 0);                                                                \
        assert_null(D.priv);                                                                       \
    } while (0)

static void expect_ok(const char *json) {
    event_reject r = dec(json);
    if (r != EVENT_OK)
        fail_msg("%s: rejected %s (%s)", json, event_reject_name(r), E);
    assert_string_equal(E, "");
}

static int64_t amount_of(const char *value) {
    expect_ok(with("amount", value));
    return D.o.amount_cents;
}

static int64_t ts_of(const char *value) {
    expect_ok(with("ts", value));
    return D.o.ts;
}

static int setup(void **state) {
    (void)state;
    event_fields_default(&F);
    memset(&D, 0, sizeof D);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    event_decoded_free(&D);
    return 0;
}

static void assert_str(order_str s, const char *want) {
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

static void test_good_full(void **state) {
    (void)state;
    expect_ok("{\"order_id\":\"536365\",\"customer_id\":\"17850\",\"ts\":\"2010-12-01T08:26:00Z\","
              "\"amount\":139.12,\"currency\":\"GBP\",\"channel\":\"Android App\","
              "\"categories\":[\"KADIN\",\"ERKEK\"],\"extra\":{\"nested\":[1,2,{\"x\":null}]}}");
    assert_str(D.o.order_id, "536365");
    assert_str(D.o.customer_id, "17850");
    assert_int_equal(D.o.ts, 1291191960);
    assert_int_equal(D.o.amount_cents, 13912);
    assert_str(D.o.channel, "Android App");
    assert_int_equal(D.o.ncategories, 2);
    assert_ptr_equal(D.o.categories, D.cats);
    assert_str(D.o.categories[0], "KADIN");
    assert_str(D.o.categories[1], "ERKEK");
    assert_non_null(D.priv);
}

static void test_good_minimal(void **state) {
    (void)state;
    expect_ok(" \n{\"ts\":\"2021-02-26\",\"amount\":-5,\"customer_id\":\"c\",\"order_id\":\"o\","
              "\"channel\":null,\"categories\":null,\"currency\":null}\n");
    assert_str(D.o.order_id, "o");
    assert_str(D.o.customer_id, "c");
    assert_int_equal(D.o.ts, 1614297600);
    assert_int_equal(D.o.amount_cents, -500);
    assert_int_equal(D.o.channel.len, 0);
    assert_int_equal(D.o.ncategories, 0);
    /* A UTF-8 BOM in front is ignored. */
    expect_ok("\xEF\xBB\xBF{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1}");
    assert_int_equal(D.o.ts, 0);
    /* Empty category names are dropped; an empty list is no categories. */
    expect_ok(with("categories", "[\"\",\"A\",\"\"]"));
    assert_int_equal(D.o.ncategories, 1);
    assert_str(D.o.categories[0], "A");
    expect_ok(with("categories", "[]"));
    assert_int_equal(D.o.ncategories, 0);
}

static void test_custom_fields(void **state) {
    (void)state;
    F.order_id = "Invoice";
    F.customer_id = "Customer ID";
    F.ts = "when";
    F.amount = "total";
    F.channel = "src";
    expect_ok("{\"Invoice\":\"I1\",\"Customer ID\":\"C1\",\"when\":1614333600000,\"total\":\"1.5\","
              "\"src\":\"web\",\"order_id\":7}");
    assert_str(D.o.order_id, "I1");
    assert_str(D.o.customer_id, "C1");
    assert_int_equal(D.o.ts, 1614333600);
    assert_int_equal(D.o.amount_cents, 150);
    assert_str(D.o.channel, "web");
    expect_reject("{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1}",
                  EVENT_MISSING_FIELD);
    assert_string_equal(E, "field 'Invoice' is missing");
    event_fields_default(&F);
}

static void test_ts(void **state) {
    (void)state;
    assert_int_equal(ts_of("\"2021-02-26T13:00:00+03:00\""), 1614333600);
    assert_int_equal(ts_of("\"2021-02-26t10:00:00.75z\""), 1614333600);
    assert_int_equal(ts_of("\"2020-02-29\""), 1582934400);
    assert_int_equal(ts_of("1614333600000"), 1614333600);
    assert_int_equal(ts_of("1614333600999"), 1614333600);
    assert_int_equal(ts_of("0"), 0);
    assert_int_equal(ts_of("4294967295999"), 4294967295LL);
    assert_int_equal(ts_of("\"2106-02-07T06:28:15Z\""), 4294967295LL);
    /* Epoch seconds where ms are expected: a valid 1970 instant, kept. */
    assert_int_equal(ts_of("1614333600"), 1614333);

    expect_reject(with("ts", "\"2021-02-30\""), EVENT_BAD_TS);
    assert_string_equal(
        E, "field 'ts': \"2021-02-30\" is not a valid RFC 3339 time or epoch milliseconds");
    expect_reject(with("ts", "\"2021-02-29\""), EVENT_BAD_TS);
    expect_reject(with("ts", "\"yesterday\""), EVENT_BAD_TS);
    expect_reject(with("ts", "\"1614333600000\""), EVENT_BAD_TS);
    expect_reject(with("ts", "\"2021-02-26T10:00:00\""), EVENT_BAD_TS);
    expect_reject(with("ts", "\"\""), EVENT_BAD_TS);
    /* Parse fine, but outside the engine's u32 seconds. */
    expect_reject(with("ts", "\"1900-01-01\""), EVENT_BAD_TS);
    assert_string_equal(E, "field 'ts': time -2208988800 is outside 1970-01-01T00:00:00.000Z .. "
                           "2106-02-07T06:28:15.000Z");
    expect_reject(with("ts", "\"9999-12-31T23:59:59Z\""), EVENT_BAD_TS);
    expect_reject(with("ts", "\"1969-12-31T23:59:59Z\""), EVENT_BAD_TS);
    expect_reject(with("ts", "\"2106-02-07T06:28:16Z\""), EVENT_BAD_TS);
    expect_reject(with("ts", "-1"), EVENT_BAD_TS); /* negative epoch ms */
    expect_reject(with("ts", "-86400000"), EVENT_BAD_TS);
    expect_reject(with("ts", "4294967296000"), EVENT_BAD_TS);
    expect_reject(with("ts", "9223372036854775807"), EVENT_BAD_TS);
    expect_reject(with("ts", "99999999999999999999"), EVENT_BAD_TS); /* jansson overflow */
    assert_non_null(strstr(E, "field 'ts'"));
    expect_reject(with("ts", "1614333600000.0"), EVENT_WRONG_TYPE);
    assert_string_equal(E, "field 'ts': expected an RFC 3339 string or integer epoch "
                           "milliseconds, got a real number");
    expect_reject(with("ts", "true"), EVENT_WRONG_TYPE);
    expect_reject(with("ts", "{}"), EVENT_WRONG_TYPE);
    expect_reject(with("ts", "null"), EVENT_MISSING_FIELD);
    expect_reject(with("ts", NULL), EVENT_MISSING_FIELD);
}

static void test_amount_exact(void **state) {
    (void)state;
    assert_int_equal(amount_of("0.1"), 10);
    assert_int_equal(amount_of("0.2"), 20);
    assert_int_equal(amount_of("0.1") + amount_of("0.2"), 30);
    assert_int_equal(amount_of("799.38"), 79938);
    assert_int_equal(amount_of("1e2"), 10000);
    assert_int_equal(amount_of("1E+2"), 10000);
    assert_int_equal(amount_of("100"), 10000);
    assert_int_equal(amount_of("-0"), 0);
    assert_int_equal(amount_of("-0.0"), 0);
    assert_int_equal(amount_of("-12.34"), -1234);
    assert_int_equal(amount_of("5391.21"), 539121);
    /* Rounding follows the text, not the double below it. */
    assert_int_equal(amount_of("2.675"), 268);
    assert_int_equal(amount_of("1.005"), 101);
    assert_int_equal(amount_of("0.005"), 1);
    assert_int_equal(amount_of("-0.005"), -1);
    assert_int_equal(amount_of("0.004999"), 0);
    assert_int_equal(amount_of("1e-7"), 0);
    assert_int_equal(amount_of("1e-400"), 0); /* underflows to 0.0 */
    assert_int_equal(amount_of("9999999999999.99"), MONEY_MAX_CENTS - 1);
    assert_int_equal(amount_of("10000000000000"), MONEY_MAX_CENTS);
    assert_int_equal(amount_of("-10000000000000"), -MONEY_MAX_CENTS);
    assert_int_equal(amount_of("1e13"), MONEY_MAX_CENTS);
    /* Decimal strings never touch a double. */
    assert_int_equal(amount_of("\"0.1\""), 10);
    assert_int_equal(amount_of("\"799.38\""), 79938);
    assert_int_equal(amount_of("\"1e2\""), 10000);
    assert_int_equal(amount_of("\"-0.07\""), -7);
    assert_int_equal(amount_of("\"0.12499999999999999999\""), 12);
    assert_int_equal(amount_of("\"9999999999999.99\""), MONEY_MAX_CENTS - 1);
}

/* Every amount 0.00 .. 1000.00 and a spread of large ones, written as JSON
 * numbers with two decimals, decode to exactly their cents. */
static void test_amount_exact_sweep(void **state) {
    (void)state;
    char json[160], num[32];
    for (int64_t c = -100000; c <= 100000; c++) {
        money_format(c, num, sizeof num);
        snprintf(json, sizeof json,
                 "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":%s}", num);
        if (dec(json) != EVENT_OK || D.o.amount_cents != c)
            fail_msg("%s decoded to %lld (%s)", num, (long long)D.o.amount_cents, E);
    }
    /* Half-cent ties round as written, away from zero, not as the double. */
    for (int64_t c = 0; c < 100000; c++) {
        snprintf(json, sizeof json,
                 "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":-%lld.%02lld5}",
                 (long long)(c / 100), (long long)(c % 100));
        if (dec(json) != EVENT_OK || D.o.amount_cents != -(c + 1))
            fail_msg("%s decoded to %lld (%s)", json, (long long)D.o.amount_cents, E);
    }
    for (int64_t c = MONEY_MAX_CENTS; c > 0; c = c / 3 * 2 - 1) {
        money_format(c, num, sizeof num);
        snprintf(json, sizeof json,
                 "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":%s}", num);
        if (dec(json) != EVENT_OK || D.o.amount_cents != c)
            fail_msg("%s decoded to %lld (%s)", num, (long long)D.o.amount_cents, E);
    }
}

static void test_amount_bad(void **state) {
    (void)state;
    expect_reject(with("amount", "10000000000001"), EVENT_BAD_AMOUNT);
    assert_string_equal(E, "field 'amount': 10000000000001 is beyond +-10000000000000");
    expect_reject(with("amount", "-10000000000001"), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "10000000000000.01"), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "1e14"), EVENT_BAD_AMOUNT);
    assert_string_equal(
        E, "field 'amount': \"1e+14\" is not a finite decimal within +-10000000000000");
    expect_reject(with("amount", "1e308"), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "9223372036854775807"), EVENT_BAD_AMOUNT);
    /* Numbers jansson itself cannot hold: still a bad amount, not "not JSON". */
    expect_reject(with("amount", "1e309"), EVENT_BAD_AMOUNT);
    assert_non_null(strstr(E, "field 'amount': number out of range"));
    expect_reject(with("amount", "-1e309"), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "99999999999999999999999"), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "-99999999999999999999999"), EVENT_BAD_AMOUNT);
    /* The same overflow elsewhere is just bad JSON... */
    expect_reject(with("x", "1e309"), EVENT_NOT_JSON);
    expect_reject(with("x", "{\"amount\":1e309}"), EVENT_NOT_JSON);
    expect_reject(with("x", "[\"amount\",1e309]"), EVENT_NOT_JSON);
    expect_reject("{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":[1e309]}",
                  EVENT_NOT_JSON);
    /* ...and a key that merely contains the name does not count. */
    expect_reject("{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"my\\\"amount\":1e309}",
                  EVENT_NOT_JSON);
    expect_reject(with("amount", "\"abc\""), EVENT_BAD_AMOUNT);
    assert_string_equal(E,
                        "field 'amount': \"abc\" is not a finite decimal within +-10000000000000");
    expect_reject(with("amount", "\"NaN\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "\"Infinity\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "\"-inf\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "\"0x10\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "\"\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "\" 5\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "\"1,50\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "\"1e400\""), EVENT_BAD_AMOUNT);
    expect_reject(with("amount", "NaN"), EVENT_NOT_JSON); /* not JSON at all */
    expect_reject(with("amount", "Infinity"), EVENT_NOT_JSON);
    expect_reject(with("amount", "true"), EVENT_WRONG_TYPE);
    assert_string_equal(E, "field 'amount': expected a number or decimal string, got a boolean");
    expect_reject(with("amount", "[1]"), EVENT_WRONG_TYPE);
    expect_reject(with("amount", "{}"), EVENT_WRONG_TYPE);
    expect_reject(with("amount", "null"), EVENT_MISSING_FIELD);
    expect_reject(with("amount", NULL), EVENT_MISSING_FIELD);
    assert_string_equal(E, "field 'amount' is missing");
}

static void test_ids(void **state) {
    (void)state;
    char id[200], json[400];
    memset(id, 'x', 128);
    id[128] = '\0';
    snprintf(json, sizeof json, "\"%s\"", id);
    expect_ok(with("customer_id", json));
    assert_int_equal(D.o.customer_id.len, 128);
    snprintf(json, sizeof json, "\"%sy\"", id);
    expect_reject(with("customer_id", json), EVENT_BAD_ID);
    assert_non_null(strstr(E, "is 129 bytes, more than 128"));
    assert_true(strlen(E) < 200); /* the value is shortened in the detail */

    expect_ok(with("order_id", "\"m\\u00fc\\u015fteri \\\"q\\\" \\\\ \xe2\x82\xac\""));
    assert_str(D.o.order_id, "m\xc3\xbc\xc5\x9f"
                             "teri \"q\" \\ \xe2\x82\xac");

    expect_reject(with("customer_id", "\"\""), EVENT_BAD_ID);
    assert_string_equal(E, "field 'customer_id' is empty");
    expect_reject(with("order_id", "\"a\\u0000b\""), EVENT_BAD_ID);
    assert_string_equal(E, "field 'order_id': \"a\\x00b\" contains a control character");
    expect_reject(with("order_id", "\"a\\tb\""), EVENT_BAD_ID);
    expect_reject(with("order_id", "\"a\\u007fb\""), EVENT_BAD_ID);
    expect_reject(with("order_id", "\"a\\u0085b\""), EVENT_BAD_ID); /* C1 NEL */
    expect_ok(with("order_id", "\"a\\u00a0b\""));                   /* NBSP is not a control */

    expect_reject(with("customer_id", "17850"), EVENT_WRONG_TYPE);
    assert_string_equal(E, "field 'customer_id': expected a string, got an integer");
    expect_reject(with("order_id", "{\"id\":1}"), EVENT_WRONG_TYPE);
    expect_reject(with("order_id", "[\"a\"]"), EVENT_WRONG_TYPE);
    expect_reject(with("order_id", "1.5"), EVENT_WRONG_TYPE);
    expect_reject(with("customer_id", "null"), EVENT_MISSING_FIELD);
    expect_reject(with("customer_id", NULL), EVENT_MISSING_FIELD);
    assert_string_equal(E, "field 'customer_id' is missing");
    /* Keys are case-sensitive. */
    expect_reject("{\"Order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1}",
                  EVENT_MISSING_FIELD);
}

static void test_optional_fields(void **state) {
    (void)state;
    expect_reject(with("channel", "5"), EVENT_WRONG_TYPE);
    assert_string_equal(E, "field 'channel': expected a string, got an integer");
    expect_reject(with("currency", "[\"EUR\"]"), EVENT_WRONG_TYPE);
    expect_reject(with("categories", "\"KADIN\""), EVENT_WRONG_TYPE);
    expect_reject(with("categories", "[\"KADIN\",3]"), EVENT_WRONG_TYPE);
    assert_string_equal(E, "field 'categories': entry 1 is an integer, expected a string");
    expect_reject(with("categories", "[null]"), EVENT_WRONG_TYPE);

    char cats[1024];
    int n = snprintf(cats, sizeof cats, "[");
    for (int i = 0; i < ORDER_MAX_CATEGORIES; i++)
        n += snprintf(cats + n, sizeof cats - (size_t)n, "%s\"C%d\"", i ? "," : "", i);
    snprintf(cats + n, sizeof cats - (size_t)n, "]");
    expect_ok(with("categories", cats));
    assert_int_equal(D.o.ncategories, ORDER_MAX_CATEGORIES);
    assert_str(D.o.categories[31], "C31");
    snprintf(cats + n, sizeof cats - (size_t)n, ",\"C32\"]");
    expect_reject(with("categories", cats), EVENT_TOO_MANY_CATEGORIES);
    assert_string_equal(E, "field 'categories': 33 entries, at most 32");
}

static void test_not_utf8(void **state) {
    (void)state;
    expect_reject("{\"order_id\":\"u1\xff\xfe\",\"customer_id\":\"c1\",\"ts\":0,\"amount\":5}",
                  EVENT_NOT_UTF8);
    assert_string_equal(E, "invalid UTF-8 at offset 15 (byte 0xff)");
    expect_reject(with("order_id", "\"\xc0\xaf\""), EVENT_NOT_UTF8);         /* overlong '/' */
    expect_reject(with("order_id", "\"\xe0\x80\xaf\""), EVENT_NOT_UTF8);     /* overlong */
    expect_reject(with("order_id", "\"\xed\xa0\x80\""), EVENT_NOT_UTF8);     /* surrogate */
    expect_reject(with("order_id", "\"\xf4\x90\x80\x80\""), EVENT_NOT_UTF8); /* > U+10FFFF */
    expect_reject(with("order_id", "\"\xe2\x82\""), EVENT_NOT_UTF8);         /* truncated */
    expect_reject(with("order_id", "\"\x80\""), EVENT_NOT_UTF8);             /* stray */
    expect_reject("{\"a\":\"\xe2\x82", EVENT_NOT_UTF8);                      /* cut at the end */
    expect_ok(with("order_id", "\"\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\""));
}

static void test_not_json(void **state) {
    (void)state;
    expect_reject("this is not json", EVENT_NOT_JSON);
    assert_non_null(strstr(E, "not JSON: "));
    expect_reject("", EVENT_NOT_JSON);
    expect_reject("   ", EVENT_NOT_JSON);
    expect_reject("{\"order_id\": oops}", EVENT_NOT_JSON);
    expect_reject("{\"order_id\":\"o\"", EVENT_NOT_JSON);
    expect_reject("{\"order_id\":\"o\",}", EVENT_NOT_JSON);
    expect_reject("{'order_id':'o'}", EVENT_NOT_JSON);
    expect_reject("{} {}", EVENT_NOT_JSON);
    expect_reject("{}x", EVENT_NOT_JSON);
    expect_reject("{\"a\":\"\\ud800\"}", EVENT_NOT_JSON); /* lone surrogate escape */
    expect_reject("{\"a\":\"x\ny\"}", EVENT_NOT_JSON);    /* raw control in a string */
    assert_int_equal(dec_n("{\"a\":1}\0", 8, 100), EVENT_NOT_JSON);
    assert_string_equal(E, "not JSON: NUL byte at offset 7");
    assert_null(D.priv);
    /* Duplicate keys: which amount would be the right one? */
    expect_reject("{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"amount\":100}",
                  EVENT_NOT_JSON);
    assert_non_null(strstr(E, "duplicate"));
    assert_non_null(strstr(E, "amount"));
}

/* Details stay printable and valid UTF-8: they become a Kafka header. */
static void test_detail_hygiene(void **state) {
    (void)state;
    static const char *const inputs[] = {
        "{\"a\":\"x\x01y\"}",
        "{\"a\":\"x\x1b[31m\"}",
        "\x7f",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":\"\\u001b[2J\",\"amount\":1}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        assert_int_not_equal(dec(inputs[i]), EVENT_OK);
        for (const char *p = E; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                fail_msg("control byte 0x%02x in detail '%s'", (unsigned char)*p, E);
    }
    /* Truncation never leaves half a UTF-8 sequence. */
    const char *j = "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":\"\xc3\xbc\",\"amount\":1}";
    char small[15];
    assert_int_equal(event_decode(&F, j, strlen(j), 0, &D, small, sizeof small), EVENT_BAD_TS);
    assert_string_equal(small, "field 'ts': \"");
    char fits[16];
    assert_int_equal(event_decode(&F, j, strlen(j), 0, &D, fits, sizeof fits), EVENT_BAD_TS);
    assert_string_equal(fits, "field 'ts': \"\xc3\xbc");
}

static void test_deep_nesting(void **state) {
    (void)state;
    size_t depth = 100000, n = 0;
    char *buf = malloc(2 * depth + 64);
    assert_non_null(buf);
    n += (size_t)sprintf(buf, "{\"x\":");
    memset(buf + n, '[', depth);
    n += depth;
    memset(buf + n, ']', depth);
    n += depth;
    buf[n++] = '}';
    assert_int_equal(dec_n(buf, n, n), EVENT_NOT_JSON);
    assert_non_null(strstr(E, "depth"));
    assert_int_equal(dec_n(buf + 5, 2 * depth, n), EVENT_NOT_JSON);
    /* Moderate nesting in an ignored field is fine. */
    n = (size_t)sprintf(buf,
                        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"x\":");
    memset(buf + n, '[', 1000);
    memset(buf + n + 1000, ']', 1000);
    n += 2000;
    buf[n++] = '}';
    assert_int_equal(dec_n(buf, n, n), EVENT_OK);
    free(buf);
}

static void test_not_object(void **state) {
    (void)state;
    expect_reject("[1,2,3]", EVENT_NOT_OBJECT);
    assert_string_equal(E, "top level is an array, not an object");
    expect_reject("42", EVENT_NOT_OBJECT);
    expect_reject("\"order\"", EVENT_NOT_OBJECT);
    expect_reject("null", EVENT_NOT_OBJECT);
    assert_string_equal(E, "top level is null, not an object");
    expect_reject("true", EVENT_NOT_OBJECT);
}

static void test_too_large(void **state) {
    (void)state;
    const char *j = "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1}";
    size_t len = strlen(j);
    assert_int_equal(dec_n(j, len, len), EVENT_OK);
    assert_int_equal(dec_n(j, len, len - 1), EVENT_TOO_LARGE);
    char want[128];
    snprintf(want, sizeof want, "message is %zu bytes, more than the %zu byte limit", len, len - 1);
    assert_string_equal(E, want);
    assert_null(D.priv);
    /* Size is checked before anything else: bad bytes do not matter. */
    assert_int_equal(dec_n("\xff\xff\xff", 3, 2), EVENT_TOO_LARGE);
    /* 0 = the default limit. */
    size_t big = EVENT_MAX_BYTES + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, ' ', big);
    memcpy(buf, j, len);
    assert_int_equal(dec_n(buf, big, 0), EVENT_TOO_LARGE);
    assert_int_equal(dec_n(buf, big - 1, 0), EVENT_OK);
    free(buf);
}

/* One event_decoded reused: a rejection leaves nothing behind, every
 * success owns fresh storage (ASan checks the rest). */
static void test_reuse(void **state) {
    (void)state;
    expect_ok(with("channel", "\"web\""));
    assert_str(D.o.channel, "web");
    expect_ok(with("categories", "[\"A\"]"));
    assert_int_equal(D.o.channel.len, 0);
    assert_int_equal(D.o.ncategories, 1);
    expect_reject(with("amount", "\"x\""), EVENT_BAD_AMOUNT);
    assert_null(D.o.order_id.p);
    assert_int_equal(D.o.ncategories, 0);
    assert_int_equal(D.o.amount_cents, 0);
    expect_ok(with("amount", "3"));
    event_decoded_free(&D);
    event_decoded_free(&D);
    assert_null(D.priv);
    /* Default field names when none are given; err may be absent. */
    const char *j = "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1}";
    assert_int_equal(event_decode(NULL, j, strlen(j), 0, &D, NULL, 0), EVENT_OK);
    assert_int_equal(event_decode(NULL, "[]", 2, 0, &D, NULL, 0), EVENT_NOT_OBJECT);
    char tiny[8];
    assert_int_equal(event_decode(NULL, "[]", 2, 0, &D, tiny, sizeof tiny), EVENT_NOT_OBJECT);
    assert_string_equal(tiny, "top lev");
}

static void test_reject_names(void **state) {
    (void)state;
    static const char *const want[] = {
        "ok",         "too_large", "not_utf8", "not_json",   "not_object",          "missing_field",
        "wrong_type", "bad_id",    "bad_ts",   "bad_amount", "too_many_categories",
    };
    assert_int_equal(sizeof want / sizeof *want, EVENT_REJECT_COUNT);
    for (int r = 0; r < EVENT_REJECT_COUNT; r++)
        assert_string_equal(event_reject_name((event_reject)r), want[r]);
    assert_string_equal(event_reject_name(EVENT_REJECT_COUNT), "unknown");
}

/* The fast path for flat objects (src/codec/event_flat.c) gives the general
 * decoder's verdict, message and order on inputs at its edges. */
static void test_fast_path_agrees(void **state) {
    (void)state;
    static const char *const inputs[] = {
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":\"2021-03-01T10:00:00Z\",\"amount\":1}",
        " {\"order_id\" : \"o\" ,\"customer_id\":\"c\",\"ts\":1614592800000,\"amount\":-0}\r\n",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":-1,\"amount\":1.005}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1e2}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":-0.0}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":\"12.345\"}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":01}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1.}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":9999999999999999999}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"x\":1e999}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"x\":-"
        "99999999999999999999}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"x\":1,\"x\":2}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\\u0041\",\"ts\":0,\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1} x",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"categories\":[]}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"categories\":[\"A\","
        "\"\",\"B\"]}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"categories\":[\"A\",]}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"categories\":[1]}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"categories\":null}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"channel\":7}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"currency\":null}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"y\":[1]}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"y\":{}}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1,\"y\":true}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":\"2021-02-30\",\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":4294967296000,\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0.5,\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":\"\x7f\",\"ts\":0,\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":\"\xc2\x85\",\"ts\":0,\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":\"\",\"ts\":0,\"amount\":1}",
        "{\"order_id\":\"o\",\"customer_id\":null,\"ts\":0,\"amount\":1}",
        "{\"order_id\":\"o\",\"ts\":0,\"amount\":1}",
        "{}",
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":0,\"amount\":1",
    };
    event_decoded g;
    memset(&g, 0, sizeof g);
    char eg[256];
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        const char *in = inputs[i];
        event_reject a = dec(in);
        event_reject b =
            event_decode_general(&F, in, strlen(in), EVENT_MAX_BYTES, &g, eg, sizeof eg);
        if (a != b || strcmp(E, eg))
            fail_msg("%s: fast %s (%s), general %s (%s)", in, event_reject_name(a), E,
                     event_reject_name(b), eg);
        if (a != EVENT_OK)
            continue;
        const order *x = &D.o, *y = &g.o;
        assert_int_equal(x->ts, y->ts);
        assert_int_equal(x->amount_cents, y->amount_cents);
        assert_int_equal(x->customer_id.len, y->customer_id.len);
        assert_memory_equal(x->customer_id.p, y->customer_id.p, x->customer_id.len);
        assert_int_equal(x->order_id.len, y->order_id.len);
        assert_int_equal(x->channel.len, y->channel.len);
        assert_int_equal(x->ncategories, y->ncategories);
        for (size_t k = 0; k < x->ncategories; k++) {
            assert_int_equal(x->categories[k].len, y->categories[k].len);
            assert_memory_equal(x->categories[k].p, y->categories[k].p, x->categories[k].len);
        }
    }
    event_decoded_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fast_path_agrees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_minimal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amount_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amount_exact_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amount_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optional_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detail_hygiene, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
