/*
 * Time moves on (SPEC §3, event clock): ten "old" customers order in January
 * 2020 and get their first segments once rfmd has consumed the backlog. Then
 * ten other customers order in June 2021: as_of jumps by 17 months, and the
 * periodic rescore (500 ms here) must move the old customers — who sent
 * nothing — into low recency scores, publishing cause "rescore" events with
 * the right previous segment. The new customers' events, meanwhile, come
 * from their orders (cause "order", with order_id).
 *
 * Runs with the cooperative-sticky assignor, so the incremental rebalance
 * path is the one exercised.
 *
 * usage: test_daemon_rescore RFMD
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

#define NOLD 10
#define NNEW 10
/* Old customers with r >= 4 before the jump: old-6..old-9. Chosen by index,
 * not by the r of their last event: events follow segment changes, so that
 * r can be stale within an unchanged segment. */
#define RECENT(i) ((i) >= 6)

static const char *rfmd_path;

static void produce_orders(harness *h, const char *who, int i, const char *date) {
    char cid[32];
    snprintf(cid, sizeof cid, "%s-%d", who, i);
    for (int k = 0; k <= i; k++) {
        char json[256];
        int n = snprintf(json, sizeof json,
                         "{\"order_id\":\"%s-%d-%d\",\"customer_id\":\"%s\","
                         "\"ts\":\"%sT%02d:00:00Z\",\"amount\":%d.50}",
                         who, i, k, cid, date, k % 24, 10 * (i + 1));
        harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)n);
    }
}

/* Index of the last event of `cid` at or after message `from`, or -1. */
static long last_of(const hreader *r, const char *cid, size_t from) {
    long at = -1;
    for (size_t i = from; i < r->n; i++)
        if (r->msgs[i].key && !strcmp(r->msgs[i].key, cid))
            at = (long)i;
    return at;
}

static void test_rescore_moves_untouched_customers(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 4, 4, 1);
    char date[16];
    for (int i = 0; i < NOLD; i++) {
        snprintf(date, sizeof date, "2020-01-%02d", 1 + i);
        produce_orders(h, "old", i, date);
    }
    harness_flush(h);
    harness_write_config(h, "500ms", "    partition.assignment.strategy: cooperative-sticky\n",
                         NULL, NULL);
    harness_spawn(h);

    hreader *r = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);
    int64_t t0 = harness_now_ms();
    while (r->n < NOLD && harness_now_ms() - t0 < 30000)
        hreader_poll(r, 200);
    if (r->n < NOLD) {
        harness_dump_log(h);
        fail_msg("only %zu first events", r->n);
    }
    /* Wait for the stream to go quiet. Under a slow build (sanitizers) the
     * first rescore.interval can fire before the backlog is read, so a
     * customer may get more than one event here: their count is not fixed,
     * the last one per customer is. */
    while (hreader_poll(r, 1500) > 0)
        ;
    size_t phase1 = r->n;
    assert_true(phase1 >= NOLD);

    char before_seg[NOLD][64];
    long long before_r[NOLD], before_version = 0;
    for (int i = 0; i < NOLD; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "old-%d", i);
        long at = last_of(r, cid, 0);
        assert_true(at >= 0);
        const json_t *e = r->msgs[at].json;
        assert_non_null(e);
        /* Events go out only on a change, so the last one may predate the
         * final as_of (2020-01-12); it is never later. */
        assert_true(strcmp(hjson_str(e, "as_of"), "2020-01-12") <= 0);
        snprintf(before_seg[i], sizeof before_seg[i], "%s", hjson_str(e, "segment"));
        before_r[i] = hjson_int(e, "r");
        before_version = hjson_int(e, "breakpoints_version");
    }
    /* old-9: most recent, most frequent, biggest spender. */
    assert_string_equal(before_seg[9], "champions");
    assert_int_equal(before_r[9], 5);
    assert_string_equal(before_seg[0], "hibernating");
    /* The recent ones, exactly (recency 2..5 days, ranks 7..10 of 10). */
    assert_string_equal(before_seg[8], "champions");
    assert_string_equal(before_seg[7], "loyal_customers");
    assert_string_equal(before_seg[6], "loyal_customers");

    for (int i = 0; i < NNEW; i++)
        produce_orders(h, "new", i, "2021-06-01");
    harness_flush(h);

    /* Wait until every old customer that was recent (r >= 4) has moved. */
    t0 = harness_now_ms();
    int moved = 0;
    for (;;) {
        hreader_poll(r, 200);
        moved = 0;
        int want = 0;
        for (int i = 0; i < NOLD; i++) {
            if (!RECENT(i))
                continue;
            want++;
            char cid[32];
            snprintf(cid, sizeof cid, "old-%d", i);
            if (last_of(r, cid, phase1) >= 0)
                moved++;
        }
        assert_true(want >= 3);
        if (moved == want || harness_now_ms() - t0 > 30000)
            break;
    }

    int64_t took = 0;
    int status = harness_stop(h, 10000, &took);
    harness_dump_log(h);
    assert_int_equal(status, 0);
    assert_true(took < 10000);
    hreader_drain(r, 20000);

    /* Old customers: only rescore events after phase 1, against the new
     * as_of, from later breakpoints; the recent ones now score low on R. */
    int changed = 0;
    for (size_t i = phase1; i < r->n; i++) {
        const hmsg *m = &r->msgs[i];
        assert_non_null(m->json);
        if (strncmp(m->key, "old-", 4))
            continue;
        int idx = atoi(m->key + 4);
        assert_string_equal(hjson_str(m->json, "cause"), "rescore");
        assert_null(json_object_get(m->json, "order_id"));
        assert_string_equal(hjson_str(m->json, "as_of"), "2021-06-03");
        assert_true(hjson_int(m->json, "breakpoints_version") > before_version);
        assert_true(hjson_int(m->json, "recency_days") >= 500);
        const char *prev = hjson_str(m->json, "previous_segment");
        assert_non_null(prev);
        assert_string_not_equal(prev, hjson_str(m->json, "segment"));
        /* The first change of a customer starts from its phase-1 segment. */
        if (last_of(r, m->key, phase1) >= 0) {
            bool first = true;
            for (size_t j = phase1; j < i; j++)
                if (!strcmp(r->msgs[j].key, m->key))
                    first = false;
            if (first)
                assert_string_equal(prev, before_seg[idx]);
        }
        changed++;
    }
    for (int i = 0; i < NOLD; i++) {
        if (!RECENT(i))
            continue;
        char cid[32];
        snprintf(cid, sizeof cid, "old-%d", i);
        long at = last_of(r, cid, phase1);
        assert_true(at >= 0);
        /* Every segment change is published, so the last event carries the
         * final segment (its r/f/m may be older: a rescore in the middle of
         * phase 2 can reach the same segment with other scores). Final, as
         * of 2021-06-03 over 20 customers: old-9 and old-8 r=3 f=5, old-7
         * and old-6 r=2 f=4 (ranks by frequency then id, "new-" < "old-"). */
        const char *want = i >= 8 ? "loyal_customers" : "at_risk";
        assert_string_equal(hjson_str(r->msgs[at].json, "segment"), want);
    }
    assert_true(changed >= moved);
    assert_true(moved >= 3);

    /* New customers: first event comes from their first order. */
    for (int i = 0; i < NNEW; i++) {
        char cid[32], oid[48];
        snprintf(cid, sizeof cid, "new-%d", i);
        snprintf(oid, sizeof oid, "new-%d-0", i);
        long first = -1;
        for (size_t j = phase1; j < r->n && first < 0; j++)
            if (!strcmp(r->msgs[j].key, cid))
                first = (long)j;
        assert_true(first >= 0);
        const json_t *e = r->msgs[first].json;
        assert_string_equal(hjson_str(e, "cause"), "order");
        assert_string_equal(hjson_str(e, "order_id"), oid);
        assert_null(hjson_str(e, "previous_segment"));
        assert_int_equal(hjson_int(e, "frequency"), 1);
    }
    assert_true(harness_log_contains(h, "incrementally"));
    hreader_close(r);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rescore_moves_untouched_customers, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
