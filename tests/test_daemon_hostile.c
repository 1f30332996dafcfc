/*
 * Hostile and odd order messages (issue: hostile input), through rfmd over
 * Kafka: a catalogue of cases, each either applied as SPEC §2 says or
 * dead-lettered with a precise reason — never both, never neither — mixed
 * with good orders, which must all be applied. rfmd must not crash.
 *
 * Each case has its own customer id (and message key), so its effect can be
 * read off the final snapshot's dump: frequency and monetary of applied
 * cases are checked exactly, and times through recency, relative to a
 * reference customer whose order is at 2021-03-01T10:00:00Z. The catalogue
 * is printed, one line per case with its outcome, for RELIABILITY.md.
 *
 * usage: test_daemon_hostile RFMD   (RFM_BIN from ctest, for rfmctl)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/flo.h"
#include "daemon/harness.h"

#define NGOOD 50
#define TS    "\"ts\":\"2021-03-01T10:00:00Z\""

static const char *rfmd_path;
static int errors; /* every mismatch is reported before the test fails */

#define MISMATCH(...)                                                                              \
    do {                                                                                           \
        fprintf(stderr, "MISMATCH: " __VA_ARGS__);                                                 \
        fprintf(stderr, "\n");                                                                     \
        errors++;                                                                                  \
    } while (0)

typedef struct hcase {
    const char *name; /* also the message key, unless nokey */
    char *value;      /* NULL: a Kafka null value */
    size_t len;
    const char *reason; /* rfmd-error reason; NULL = applied */
    /* applied: the customer's row must show these (frequency, monetary) and
     * its recency relative to the reference customer's */
    const char *customer;
    int frequency;
    const char *monetary;
    int recency_delta; /* INT32_MIN: not checked; INT32_MAX: "far older" */
    bool nokey;
    bool seen;
} hcase;

static hcase cases[64];
static int ncases;

static hcase *add(const char *name, const char *reason, const void *value, size_t len) {
    hcase *c = &cases[ncases++];
    memset(c, 0, sizeof *c);
    c->name = name;
    c->reason = reason;
    if (value) {
        c->value = malloc(len ? len : 1);
        assert_non_null(c->value);
        memcpy(c->value, value, len);
    }
    c->len = len;
    c->recency_delta = INT32_MIN;
    return c;
}

static hcase *bad(const char *name, const char *reason, const char *json) {
    return add(name, reason, json, strlen(json));
}

static hcase *good(const char *name, const char *json, const char *customer, int frequency,
                   const char *monetary, int recency_delta) {
    hcase *c = add(name, NULL, json, strlen(json));
    c->customer = customer;
    c->frequency = frequency;
    c->monetary = monetary;
    c->recency_delta = recency_delta;
    return c;
}

static char *repeat(const char *head, char fill, size_t n, const char *tail, size_t *len) {
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = malloc(hl + n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    memset(s + hl, fill, n);
    memcpy(s + hl + n, tail, tl + 1);
    *len = hl + n + tl;
    return s;
}

static void catalogue(void) {
    ncases = 0;
    size_t len;
    char buf[1024];

    /* Bytes that are not JSON text. */
    bad("not-utf8", "not_utf8",
        "{\"order_id\":\"u1\xff\",\"customer_id\":\"h-utf8\"," TS ",\"amount\":5}");
    bad("overlong-utf8", "not_utf8",
        "{\"order_id\":\"u2\xc0\xaf\",\"customer_id\":\"h-ovl\"," TS ",\"amount\":5}");
    static const char nul[] = "{\"order_id\":\"n\0\",\"customer_id\":\"h-nul\"}";
    add("raw-nul", "not_json", nul, sizeof nul - 1);
    bad("truncated", "not_json", "{\"order_id\":\"t1\",\"customer_id\":\"h-trunc\",\"ts\":\"20");
    bad("empty", "not_json", "");
    bad("whitespace", "not_json", "   \n\t ");
    add("kafka-null-value", "not_json", NULL, 0);
    bad("top-level-array", "not_object", "[{\"order_id\":\"a\"}]");
    bad("top-level-number", "not_object", "42");
    char *deep =
        repeat("{\"order_id\":\"d1\",\"customer_id\":\"h-deep\",\"x\":", '[', 5000, "", &len);
    add("deep-nesting", "not_json", deep, len);
    free(deep);
    /* 1 MiB, otherwise a valid order: over max_message_bytes (64 KiB). */
    char *big =
        repeat("{\"order_id\":\"b1\",\"customer_id\":\"h-big\"," TS ",\"amount\":5,\"pad\":\"", 'x',
               1048576 - 80, "\"}", &len);
    add("1MiB-message", "too_large", big, len);
    free(big);
    bad("duplicate-keys", "not_json",
        "{\"order_id\":\"k1\",\"customer_id\":\"h-dupkey\"," TS ",\"amount\":5,\"amount\":500}");

    /* Fields: absent, null, wrong type. */
    bad("missing-amount", "missing_field",
        "{\"order_id\":\"m1\",\"customer_id\":\"h-miss\"," TS "}");
    bad("null-customer", "missing_field",
        "{\"order_id\":\"m2\",\"customer_id\":null," TS ",\"amount\":5}");
    bad("amount-bool", "wrong_type",
        "{\"order_id\":\"w1\",\"customer_id\":\"h-bool\"," TS ",\"amount\":true}");
    bad("order-id-int", "wrong_type",
        "{\"order_id\":17,\"customer_id\":\"h-intid\"," TS ",\"amount\":5}");
    bad("categories-string", "wrong_type",
        "{\"order_id\":\"w2\",\"customer_id\":\"h-cats\"," TS
        ",\"amount\":5,\"categories\":\"KADIN\"}");
    bad("ts-real", "wrong_type",
        "{\"order_id\":\"w3\",\"customer_id\":\"h-tsreal\",\"ts\":1614592800000.5,\"amount\":5}");

    /* Numbers. */
    bad("NaN", "not_json", "{\"order_id\":\"x1\",\"customer_id\":\"h-nan\"," TS ",\"amount\":NaN}");
    bad("Infinity", "not_json",
        "{\"order_id\":\"x2\",\"customer_id\":\"h-inf\"," TS ",\"amount\":Infinity}");
    bad("1e309", "bad_amount",
        "{\"order_id\":\"x3\",\"customer_id\":\"h-e309\"," TS ",\"amount\":1e309}");
    bad("1e18", "bad_amount",
        "{\"order_id\":\"x4\",\"customer_id\":\"h-e18\"," TS ",\"amount\":1e18}");
    bad("amount-text", "bad_amount",
        "{\"order_id\":\"x5\",\"customer_id\":\"h-atext\"," TS ",\"amount\":\"12,50\"}");
    good("negative-zero",
         "{\"order_id\":\"z1\",\"customer_id\":\"h-negzero\"," TS ",\"amount\":-0.0}", "h-negzero",
         1, "0.00", 0);
    good("amount-string",
         "{\"order_id\":\"s1\",\"customer_id\":\"h-astr\"," TS ",\"amount\":\"799.38\"}", "h-astr",
         1, "799.38", 0);
    good("half-cent", "{\"order_id\":\"s2\",\"customer_id\":\"h-half\"," TS ",\"amount\":1.005}",
         "h-half", 1, "1.01", 0);

    /* Ids. */
    bad("empty-customer", "bad_id",
        "{\"order_id\":\"i1\",\"customer_id\":\"\"," TS ",\"amount\":5}");
    bad("control-char-id", "bad_id",
        "{\"order_id\":\"i2\",\"customer_id\":\"h-ctl\\u0007\"," TS ",\"amount\":5}");
    bad("escaped-nul-id", "bad_id",
        "{\"order_id\":\"i3\",\"customer_id\":\"h-\\u0000\"," TS ",\"amount\":5}");
    static char id128[129], id129[130];
    memset(id128, 'a', 128);
    memset(id129, 'b', 129);
    snprintf(buf, sizeof buf, "{\"order_id\":\"i4\",\"customer_id\":\"%s\"," TS ",\"amount\":5}",
             id129);
    bad("129-byte-id", "bad_id", buf);
    snprintf(buf, sizeof buf, "{\"order_id\":\"i5\",\"customer_id\":\"%s\"," TS ",\"amount\":5}",
             id128);
    good("128-byte-id", buf, id128, 1, "5.00", 0);
    good("whitespace-id", "{\"order_id\":\"i6\",\"customer_id\":\"   \"," TS ",\"amount\":5}",
         "   ", 1, "5.00", 0);

    /* Times. */
    bad("feb-30", "bad_ts",
        "{\"order_id\":\"d1\",\"customer_id\":\"h-feb30\",\"ts\":\"2021-02-30\",\"amount\":5}");
    bad("ts-words", "bad_ts",
        "{\"order_id\":\"d2\",\"customer_id\":\"h-tsw\",\"ts\":\"yesterday\",\"amount\":5}");
    bad("no-offset", "bad_ts",
        "{\"order_id\":\"d3\",\"customer_id\":\"h-nooff\",\"ts\":\"2021-03-01T10:00:00\","
        "\"amount\":5}");
    bad("year-1900", "bad_ts",
        "{\"order_id\":\"d4\",\"customer_id\":\"h-1900\",\"ts\":\"1900-01-01\",\"amount\":5}");
    bad("year-9999", "bad_ts",
        "{\"order_id\":\"d5\",\"customer_id\":\"h-9999\",\"ts\":\"9999-12-31\",\"amount\":5}");
    /* 23:30 at UTC-3 is 02:30Z the next day: one day more recent. */
    good("tz-offset",
         "{\"order_id\":\"d6\",\"customer_id\":\"h-tz\",\"ts\":\"2021-03-01T23:30:00-03:00\","
         "\"amount\":5}",
         "h-tz", 1, "5.00", -1);
    good("epoch-ms",
         "{\"order_id\":\"d7\",\"customer_id\":\"h-ems\",\"ts\":1614592800000,\"amount\":5}",
         "h-ems", 1, "5.00", 0);
    /* Seconds where milliseconds are meant: 1970-01-19, a valid instant. */
    good("epoch-seconds",
         "{\"order_id\":\"d8\",\"customer_id\":\"h-esec\",\"ts\":1614592800,\"amount\":5}",
         "h-esec", 1, "5.00", INT32_MAX);

    /* Envelope. */
    hcase *nk =
        good("no-key", "{\"order_id\":\"e1\",\"customer_id\":\"h-nokey\"," TS ",\"amount\":7}",
             "h-nokey", 1, "7.00", 0);
    nk->nokey = true;
    good("bom", "\xef\xbb\xbf{\"order_id\":\"e2\",\"customer_id\":\"h-bom\"," TS ",\"amount\":5}",
         "h-bom", 1, "5.00", 0);
    good("unknown-fields",
         "{\"order_id\":\"e3\",\"customer_id\":\"h-extra\"," TS
         ",\"amount\":5,\"coupon\":{\"x\":[1]}}",
         "h-extra", 1, "5.00", 0);
    good("null-optional",
         "{\"order_id\":\"e4\",\"customer_id\":\"h-nullopt\"," TS ",\"amount\":5,\"channel\":null,"
         "\"categories\":null}",
         "h-nullopt", 1, "5.00", 0);
    /* The same order twice: applied once (SPEC: order_id dedup). */
    good("duplicate-order", "{\"order_id\":\"r1\",\"customer_id\":\"h-dup\"," TS ",\"amount\":9}",
         "h-dup", 1, "9.00", 0);
    good("duplicate-order-again",
         "{\"order_id\":\"r1\",\"customer_id\":\"h-dup\"," TS ",\"amount\":9}", "h-dup", 1, "9.00",
         0);
    /* A refund of that order: monetary back to 0, frequency kept. */
    good("refunded-order", "{\"order_id\":\"r1\",\"customer_id\":\"h-refund\"," TS ",\"amount\":4}",
         "h-refund", 1, "0.00", 0);
    good("refund", "{\"order_id\":\"r1\",\"customer_id\":\"h-refund\"," TS ",\"amount\":-4}",
         "h-refund", 1, "0.00", 0);
}

static void produce_case(harness *h, const hcase *c) {
    const char *key = c->nokey ? NULL : c->name;
    harness_produce(h, HARNESS_ORDERS, key, key ? strlen(key) : 0, c->value, c->len);
}

static void add_good(harness *h, int i) {
    char cid[32], json[256];
    snprintf(cid, sizeof cid, "good-%02d", i);
    int n = snprintf(json, sizeof json,
                     "{\"order_id\":\"g-%d\",\"customer_id\":\"%s\"," TS ",\"amount\":%d.50}", i,
                     cid, 10 + i);
    harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)n);
}

/* The dump row of a customer: recency, frequency, monetary. */
static bool row_of(const char *dump, const char *cid, int *recency, int *frequency,
                   char *monetary) {
    char needle[160];
    snprintf(needle, sizeof needle, "\n%s,", cid);
    const char *p = strstr(dump, needle);
    if (!p)
        return false;
    p += strlen(needle);
    return sscanf(p, "%d,%d,%31[^,]", recency, frequency, monetary) == 3;
}

static void test_hostile_catalogue(void **state) {
    harness *h = *state;
    errors = 0;
    catalogue();
    harness_init(h, rfmd_path, 4, 4, 1);
    /* Good orders around and between every case, on every partition. */
    for (int i = 0; i < ncases; i++) {
        add_good(h, i % NGOOD);
        produce_case(h, &cases[i]);
    }
    for (int i = 0; i < NGOOD; i++)
        add_good(h, i);
    good("reference", "{\"order_id\":\"ref\",\"customer_id\":\"h-ref0\"," TS ",\"amount\":1}",
         "h-ref0", 1, "1.00", 0);
    produce_case(h, &cases[ncases - 1]);
    harness_flush(h);

    /* The dead-letter copy of the 1 MiB message must fit the producer: by
     * default (1,000,000 bytes) it would be refused loudly and counted, as
     * conf/rfmd.yaml explains; here the limit matches the topic's. */
    harness_write_config(h, "60s", NULL, "    message.max.bytes: \"2000000\"\n", NULL);
    harness_run_to_end(h, 120000);
    assert_true(harness_log_contains(h, "stopped cleanly"));

    hreader *dlq = hreader_open(h, HARNESS_DLQ, h->dlq_parts);
    hreader_drain(dlq, 20000);
    for (size_t i = 0; i < dlq->n; i++) {
        const hmsg *m = &dlq->msgs[i];
        hcase *c = NULL;
        for (int j = 0; j < ncases && !c; j++)
            if (!cases[j].nokey && m->key && !strcmp(cases[j].name, m->key))
                c = &cases[j];
        if (!c)
            fail_msg("dead letter with key '%s' is none of the cases", m->key ? m->key : "(null)");
        if (!c->reason) {
            MISMATCH("%s: dead-lettered (%s), but it is to be applied", c->name,
                     m->error_header ? m->error_header : "no header");
            continue;
        }
        assert_false(c->seen);
        c->seen = true;
        char want[64];
        snprintf(want, sizeof want, "%s: ", c->reason);
        if (!m->error_header || strncmp(m->error_header, want, strlen(want)))
            MISMATCH("%s: rfmd-error '%s', expected reason '%s'", c->name,
                     m->error_header ? m->error_header : "(none)", c->reason);
        assert_int_equal(m->len, c->len); /* the input, byte for byte */
        if (c->len)
            assert_memory_equal(m->value, c->value, c->len);
        fprintf(stderr, "  %-22s dead-lettered: %s\n", c->name, m->error_header);
    }
    size_t ndlq = dlq->n;
    hreader_close(dlq);

    char *dump = flo_dump(h, "hostile.csv");
    int ref_rec, f;
    char mon[32];
    assert_true(row_of(dump, "h-ref0", &ref_rec, &f, mon));
    int applied = 0, dead = 0;
    for (int i = 0; i < ncases; i++) {
        hcase *c = &cases[i];
        if (c->reason) {
            if (!c->seen)
                MISMATCH("%s: expected in the dead-letter topic (%s), not there", c->name,
                         c->reason);
            dead++;
            continue;
        }
        int rec;
        if (!row_of(dump, c->customer, &rec, &f, mon)) {
            MISMATCH("%s: customer '%s' not in the state", c->name, c->customer);
            continue;
        }
        if (f != c->frequency || strcmp(mon, c->monetary))
            MISMATCH("%s: frequency %d monetary %s, expected %d and %s", c->name, f, mon,
                     c->frequency, c->monetary);
        if (c->recency_delta == INT32_MAX
                ? rec <= ref_rec + 18000
                : c->recency_delta != INT32_MIN && rec - ref_rec != c->recency_delta)
            MISMATCH("%s: recency %+d days from the reference's", c->name, rec - ref_rec);
        fprintf(stderr, "  %-22s applied: frequency %d, monetary %s, recency %+d days\n", c->name,
                f, mon, rec - ref_rec);
        applied++;
    }
    for (int i = 0; i < NGOOD; i++) {
        char cid[32], want[32];
        snprintf(cid, sizeof cid, "good-%02d", i);
        int rec;
        assert_true(row_of(dump, cid, &rec, &f, mon));
        /* Its order came several times: counted once. */
        snprintf(want, sizeof want, "%d.50", 10 + i);
        assert_int_equal(f, 1);
        assert_string_equal(mon, want);
        assert_int_equal(rec, ref_rec);
    }
    fprintf(stderr, "hostile catalogue: %d cases, %d dead-lettered with their reason, %d applied\n",
            ncases, dead, applied);
    assert_int_equal(errors, 0);
    assert_true(ncases >= 40);
    assert_int_equal(ndlq, (size_t)dead); /* nothing else dead-lettered */
    free(dump);
    for (int i = 0; i < ncases; i++)
        free(cases[i].value);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_catalogue, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
