/*
 * Malformed input mixed with good orders (SPEC §2): every bad message lands
 * in the dead-letter topic byte for byte, with its key, and an `rfmd-error`
 * header naming the right reason; good orders are applied and published;
 * duplicates and refunds of unknown customers are counted, not dead-lettered;
 * and rfmd's own per-reason counts match.
 *
 * The producer's local queue is limited to 2 messages here, so the
 * back-pressure path (pause consumption, drain, resume) runs constantly and
 * must not lose or reorder anything.
 *
 * usage: test_daemon_dlq RFMD
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/harness.h"
#include "rfm/event.h"

#define NGOOD 20

static const char *rfmd_path;

typedef struct bad_msg {
    char key[32];
    char *value;
    size_t len;
    event_reject reason;
    bool seen;
} bad_msg;

static bad_msg bad[32];
static int nbad;

static void add_bad(harness *h, event_reject reason, const char *value, size_t len) {
    bad_msg *b = &bad[nbad];
    snprintf(b->key, sizeof b->key, "bad-%d", nbad);
    b->value = malloc(len);
    assert_non_null(b->value);
    memcpy(b->value, value, len);
    b->len = len;
    b->reason = reason;
    nbad++;
    harness_produce(h, HARNESS_ORDERS, b->key, strlen(b->key), value, len);
}

static void add_bad_str(harness *h, event_reject reason, const char *value) {
    add_bad(h, reason, value, strlen(value));
}

static void add_good(harness *h, const char *cid, const char *oid, const char *amount) {
    char json[256];
    int n = snprintf(json, sizeof json,
                     "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"ts\":\"2021-03-01T10:00:00Z\","
                     "\"amount\":%s,\"channel\":\"Android App\",\"categories\":[\"KADIN\"]}",
                     oid, cid, amount);
    harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)n);
}

static void produce_bad_batch(harness *h) {
    add_bad_str(h, EVENT_NOT_JSON, "this is not json");
    add_bad_str(h, EVENT_NOT_OBJECT, "[1,2,3]");
    add_bad_str(h, EVENT_MISSING_FIELD,
                "{\"order_id\":\"m1\",\"customer_id\":\"c1\",\"ts\":\"2021-03-01\"}");
    add_bad_str(h, EVENT_WRONG_TYPE,
                "{\"order_id\":\"w1\",\"customer_id\":{\"id\":1},\"ts\":\"2021-03-01\","
                "\"amount\":5}");
    add_bad_str(h, EVENT_BAD_TS,
                "{\"order_id\":\"t1\",\"customer_id\":\"c1\",\"ts\":\"yesterday\",\"amount\":5}");
    add_bad_str(h, EVENT_BAD_AMOUNT,
                "{\"order_id\":\"a1\",\"customer_id\":\"c1\",\"ts\":\"2021-03-01\","
                "\"amount\":\"abc\"}");
    add_bad_str(h, EVENT_BAD_ID,
                "{\"order_id\":\"i1\",\"customer_id\":\"\",\"ts\":\"2021-03-01\",\"amount\":5}");
    add_bad_str(h, EVENT_NOT_UTF8,
                "{\"order_id\":\"u1\xff\xfe\",\"customer_id\":\"c1\",\"ts\":\"2021-03-01\","
                "\"amount\":5}");
    char cats[2048];
    int n = snprintf(cats, sizeof cats,
                     "{\"order_id\":\"k1\",\"customer_id\":\"c1\",\"ts\":\"2021-03-01\","
                     "\"amount\":5,\"categories\":[");
    for (int i = 0; i < 40; i++)
        n += snprintf(cats + n, sizeof cats - (size_t)n, "%s\"C%d\"", i ? "," : "", i);
    snprintf(cats + n, sizeof cats - (size_t)n, "]}");
    add_bad_str(h, EVENT_TOO_MANY_CATEGORIES, cats);
    /* Over the default 64 KiB limit, otherwise a valid order. */
    size_t big_len = 70000;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    int head = snprintf(big, big_len + 1,
                        "{\"order_id\":\"b1\",\"customer_id\":\"c1\",\"ts\":\"2021-03-01\","
                        "\"amount\":5,\"pad\":\"");
    memset(big + head, 'x', big_len - (size_t)head - 2);
    memcpy(big + big_len - 2, "\"}", 2);
    add_bad(h, EVENT_TOO_LARGE, big, big_len);
    free(big);
}

static void test_dead_letters(void **state) {
    harness *h = *state;
    nbad = 0;
    harness_init(h, rfmd_path, 4, 4, 1);

    char cid[32], oid[32];
    for (int i = 0; i < NGOOD; i++) {
        snprintf(cid, sizeof cid, "good-%02d", i);
        snprintf(oid, sizeof oid, "o-%02d", i);
        char amount[16];
        snprintf(amount, sizeof amount, "%d.25", 10 + i * 7);
        add_good(h, cid, oid, amount);
        if (i == 5)
            produce_bad_batch(h);
    }
    add_good(h, "good-00", "o-00", "10.25");   /* duplicate order id */
    add_good(h, "ghost", "refund-1", "-5.00"); /* refund, unknown customer */
    harness_flush(h);

    harness_write_config(h, "60s", NULL, "    queue.buffering.max.messages: \"2\"\n", NULL);
    harness_spawn(h);

    hreader *segs = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);
    int64_t t0 = harness_now_ms();
    while (segs->n < NGOOD && harness_now_ms() - t0 < 30000)
        hreader_poll(segs, 200);
    if (segs->n < NGOOD) {
        harness_dump_log(h);
        fail_msg("only %zu segment events", segs->n);
    }

    /* After the first scoring: one more bad message and a new customer. */
    add_bad_str(h, EVENT_NOT_JSON, "{\"order_id\": oops}");
    add_good(h, "late-1", "late-o-1", "99.99");
    harness_flush(h);
    t0 = harness_now_ms();
    bool late = false;
    while (!late && harness_now_ms() - t0 < 20000) {
        hreader_poll(segs, 200);
        for (size_t i = 0; i < segs->n; i++)
            if (!strcmp(segs->msgs[i].key, "late-1"))
                late = true;
    }
    assert_true(late);

    int64_t took = 0;
    int status = harness_stop(h, 10000, &took);
    harness_dump_log(h);
    assert_int_equal(status, 0);
    hreader_drain(segs, 20000);

    /* A clean stop commits everything: nothing would be consumed twice. */
    int64_t committed[4], high[4];
    harness_offsets(h, HARNESS_ORDERS, h->orders_parts, committed, high);
    for (int p = 0; p < h->orders_parts; p++)
        assert_int_equal(committed[p], high[p]);

    /* Dead letters: exactly the bad messages, unchanged, right reason. */
    hreader *dlq = hreader_open(h, HARNESS_DLQ, h->dlq_parts);
    hreader_drain(dlq, 20000);
    assert_int_equal(dlq->n, (size_t)nbad);
    for (size_t i = 0; i < dlq->n; i++) {
        const hmsg *m = &dlq->msgs[i];
        assert_non_null(m->key);
        bad_msg *b = NULL;
        for (int j = 0; j < nbad; j++)
            if (!strcmp(bad[j].key, m->key))
                b = &bad[j];
        assert_non_null(b);
        assert_false(b->seen);
        b->seen = true;
        assert_int_equal(m->len, b->len);
        assert_memory_equal(m->value, b->value, b->len);
        assert_non_null(m->error_header);
        char want[64];
        snprintf(want, sizeof want, "%s: ", event_reject_name(b->reason));
        if (strncmp(m->error_header, want, strlen(want)))
            fail_msg("%s: header '%s', expected reason '%s'", b->key, m->error_header,
                     event_reject_name(b->reason));
        assert_true(strlen(m->error_header) > strlen(want)); /* a detail follows */
    }

    /* Good orders: every customer published, the duplicate not counted,
     * the refund of an unknown customer not published. */
    int found[NGOOD] = {0};
    for (size_t i = 0; i < segs->n; i++) {
        const hmsg *m = &segs->msgs[i];
        assert_non_null(m->json);
        assert_string_equal(m->key, hjson_str(m->json, "customer_id"));
        assert_string_not_equal(m->key, "ghost");
        if (!strncmp(m->key, "good-", 5)) {
            int idx = atoi(m->key + 5);
            found[idx]++;
            assert_int_equal(hjson_int(m->json, "frequency"), 1);
        }
        if (!strcmp(m->key, "late-1")) {
            assert_string_equal(hjson_str(m->json, "cause"), "order");
            assert_string_equal(hjson_str(m->json, "order_id"), "late-o-1");
        }
    }
    for (int i = 0; i < NGOOD; i++)
        assert_true(found[i] >= 1);

    /* rfmd's own counts. */
    int count[EVENT_REJECT_COUNT] = {0};
    for (int j = 0; j < nbad; j++)
        count[bad[j].reason]++;
    for (int r = 1; r < EVENT_REJECT_COUNT; r++) {
        char want[64];
        snprintf(want, sizeof want, " %s=%d", event_reject_name((event_reject)r), count[r]);
        if (count[r] && !harness_log_contains(h, want))
            fail_msg("log lacks '%s'", want);
    }
    assert_true(harness_log_contains(h, "(duplicates 1, refunds for unknown customers 1)"));
    assert_true(harness_log_contains(h, "producer queue full"));

    hreader_close(dlq);
    hreader_close(segs);
}

static int teardown(void **state) {
    harness_teardown(state);
    for (int j = 0; j < nbad; j++)
        free(bad[j].value);
    nbad = 0;
    return 0;
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dead_letters, harness_setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
