/*
 * event encoding (src/codec/event_encode.c): order events as rfm-replay
 * writes them (contract §2) and segment-change events (contract §8), byte
 * for byte; escaping that keeps any id valid JSON and UTF-8; and encode ->
 * decode giving the same order back.
 */
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

static void assert_str(order_str s, const char *want) {
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

static void test_encode_order(void **state) {
    (void)state;
    order_str cats[2] = {{"KADIN", 5}, {"ERKEK", 5}};
    order o = {
        .customer_id = {"17850", 5},
        .order_id = {"536365", 6},
        .ts = 1291191960,
        .amount_cents = 13912,
        .channel = {"Android App", 11},
        .categories = cats,
        .ncategories = 2,
    };
    char *s = event_encode_order(&F, &o);
    assert_non_null(s);
    assert_string_equal(s, "{\"order_id\":\"536365\",\"customer_id\":\"17850\","
                           "\"ts\":\"2010-12-01T08:26:00Z\",\"amount\":139.12,"
                           "\"channel\":\"Android App\",\"categories\":[\"KADIN\",\"ERKEK\"]}");
    free(s);
    order m = {.customer_id = {"c", 1}, .order_id = {"o", 1}, .ts = 0, .amount_cents = -7};
    s = event_encode_order(NULL, &m);
    assert_string_equal(s,
                        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"ts\":\"1970-01-01T00:00:00Z\","
                        "\"amount\":-0.07}");
    free(s);
    event_fields g = F;
    g.order_id = "Invoice";
    g.amount = "a\"b";
    s = event_encode_order(&g, &m);
    assert_string_equal(s,
                        "{\"Invoice\":\"o\",\"customer_id\":\"c\",\"ts\":\"1970-01-01T00:00:00Z\","
                        "\"a\\\"b\":-0.07}");
    free(s);
}

/* encode -> decode gives the same order back, whatever bytes the ids hold. */
static void test_encode_round_trip(void **state) {
    (void)state;
    static const char *const ids[] = {
        "plain",
        "quote\"d",
        "back\\slash",
        "t\xc3\xbcrk\xc3\xa7\xc3\xa9",
        "\xf0\x9f\x98\x80",
        "slash/</script>",
        "\xe2\x80\xa8 line sep",
        "x",
    };
    static const int64_t amounts[] = {
        0, 1, -1, 10, 79938, -539121, MONEY_MAX_CENTS, -MONEY_MAX_CENTS, 99999};
    static const int64_t times[] = {0, 1, 1614333600, 4294967295LL, 951782400};
    order_str cats[3] = {{"KADIN", 5}, {"A\"B", 3}, {"\xc3\x87OCUK", 6}};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        for (size_t a = 0; a < sizeof amounts / sizeof *amounts; a++) {
            size_t t = (i + a) % (sizeof times / sizeof *times);
            order o = {
                .customer_id = {ids[i], strlen(ids[i])},
                .order_id = {ids[(i + 1) % 8], strlen(ids[(i + 1) % 8])},
                .ts = times[t],
                .amount_cents = amounts[a],
                .channel = {ids[(i + 2) % 8], a % 2 ? strlen(ids[(i + 2) % 8]) : 0},
                .categories = cats,
                .ncategories = a % 4,
            };
            char *s = event_encode_order(&F, &o);
            assert_non_null(s);
            event_decoded D;
            memset(&D, 0, sizeof D);
            char E[256];
            if (event_decode(&F, s, strlen(s), EVENT_MAX_BYTES, &D, E, sizeof E) != EVENT_OK)
                fail_msg("%s: %s", s, E);
            assert_str(D.o.customer_id, ids[i]);
            assert_str(D.o.order_id, ids[(i + 1) % 8]);
            assert_int_equal(D.o.ts, times[t]);
            assert_int_equal(D.o.amount_cents, amounts[a]);
            assert_int_equal(D.o.channel.len, o.channel.len);
            assert_int_equal(D.o.ncategories, o.ncategories);
            for (size_t k = 0; k < o.ncategories; k++)
                assert_memory_equal(D.o.categories[k].p, cats[k].p, cats[k].len);
            event_decoded_free(&D);
            free(s);
        }
}

static void test_encode_escaping(void **state) {
    (void)state;
    const char id[] = "a\"b\\c\n\t\r\x01\x1f\x7f/\xc3\xa9\xff\xe2\x82z";
    order o = {
        .customer_id = {id, sizeof id - 1}, .order_id = {"o", 1}, .ts = 0, .amount_cents = 1};
    char *s = event_encode_order(&F, &o);
    assert_string_equal(
        s, "{\"order_id\":\"o\",\"customer_id\":\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u001f"
           "\x7f/\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\",\"ts\":\"1970-01-01T00:00:00Z\","
           "\"amount\":0.01}");
    /* Valid JSON and valid UTF-8 even though the id was not. */
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "customer_id")),
                        "a\"b\\c\n\t\r\x01\x1f\x7f/\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
    json_decref(j);
    free(s);
}

static void test_encode_change(void **state) {
    (void)state;
    event_change c = {
        .customer_id = "17850",
        .customer_len = 5,
        .segment = "champions",
        .previous_segment = "loyal_customers",
        .r = 5,
        .f = 5,
        .m = 4,
        .recency_days = 2,
        .frequency = 34,
        .monetary_cents = 539121,
        .cause = "order",
        .order_id = "536365",
        .order_len = 6,
        .as_of = 1323561600, /* 2011-12-11 */
        .breakpoints_version = 17,
        .emitted_at_ms = 1795341600123LL, /* 2026-11-22T10:00:00.123Z */
    };
    size_t len = 0;
    char *s = event_encode_change(&c, &len);
    const char *want =
        "{\"customer_id\":\"17850\",\"segment\":\"champions\",\"previous_segment\":"
        "\"loyal_customers\",\"r\":5,\"f\":5,\"m\":4,\"rf\":\"55\",\"rfm\":\"554\","
        "\"recency_days\":2,\"frequency\":34,\"monetary\":5391.21,\"cause\":\"order\","
        "\"order_id\":\"536365\",\"as_of\":\"2011-12-11\",\"breakpoints_version\":17,"
        "\"emitted_at\":\"2026-11-22T10:00:00.123Z\"}";
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    free(s);

    /* New customer, rescore: null previous, no order_id even if one is set. */
    c.previous_segment = NULL;
    c.cause = "rescore";
    c.monetary_cents = 5;
    c.customer_id = "q\"\\\x01";
    c.customer_len = 4;
    c.r = 1, c.f = 2, c.m = 3;
    c.breakpoints_version = 18446744073709551615ULL;
    s = event_encode_change(&c, &len);
    want = "{\"customer_id\":\"q\\\"\\\\\\u0001\",\"segment\":\"champions\",\"previous_segment\":"
           "null,\"r\":1,\"f\":2,\"m\":3,\"rf\":\"12\",\"rfm\":\"123\",\"recency_days\":2,"
           "\"frequency\":34,\"monetary\":0.05,\"cause\":\"rescore\",\"as_of\":\"2011-12-11\","
           "\"breakpoints_version\":18446744073709551615,"
           "\"emitted_at\":\"2026-11-22T10:00:00.123Z\"}";
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    free(s);
    c.breakpoints_version = 18;
    s = event_encode_change(&c, &len);
    json_error_t e;
    json_t *j = json_loadb(s, len, 0, &e);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "previous_segment")));
    assert_null(json_object_get(j, "order_id"));
    json_decref(j);
    free(s);

    /* An id with a NUL byte (length-delimited) survives as \u0000. */
    c.customer_id = "a\0b";
    c.customer_len = 3;
    c.monetary_cents = -12345;
    s = event_encode_change(&c, &len);
    assert_non_null(strstr(s, "\"customer_id\":\"a\\u0000b\""));
    assert_non_null(strstr(s, "\"monetary\":-123.45,"));
    free(s);
}

int main(void) {
    event_fields_default(&F);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_order),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_encode_escaping),
        cmocka_unit_test(test_encode_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
