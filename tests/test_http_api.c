/*
 * The HTTP handlers without a daemon, a server or Kafka: a store with five
 * customers (one whose id needs percent-encoding), a status filled by hand
 * as the daemon would, and http_route called with each endpoint's URL.
 * Status codes, content types and bodies are checked before and after the
 * first rescore, so what the endpoints derive from the status (readiness,
 * unscored customers, breakpoints, metrics) is pinned down here and not
 * only end to end (test_daemon_http). The store is the status's only one
 * (partition 0) and no home function is set: several stores, a home
 * function and restoring partitions are test_http_group's.
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

#include "rfm/order.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"
#include "rfmd/http/http_internal.h"
#include "test_http.h"
#include "util/clock.h"

#define DAY       86400
#define MAY_1     1619827200LL /* 2021-05-01T00:00:00Z */
#define NCUST     5
#define SPECIAL   "a/b c+%\xc3\xa9" /* a/b c+%é */
#define SPECIAL_Q "a%2Fb%20c%2B%25%C3%A9"

typedef struct fixture {
    store *store;
    http_store one; /* st.stores: the store as partition 0 */
    score_settings scoring;
    segment_map map;
    score_breakpoints bp;
    pipeline_stats pipe;
    saver_stats snap;
    http_status st;
    int lag_calls;
    int owned_mode; /* fake_owned: 0 none, 1 several, unsorted */
} fixture;

/* Customer i: i+1 orders of 10(i+1).50 on 2021-05-(2i+1); the special id
 * one order on 2021-05-03, in category "books" through channel "web". */
static void add_order(store *s, const char *cid, int k, int64_t ts, int64_t cents) {
    char oid[64];
    snprintf(oid, sizeof oid, "%s-%d", cid, k);
    order_str cats[] = {{"books", 5}};
    order o = {
        .customer_id = {cid, strlen(cid)},
        .order_id = {oid, strlen(oid)},
        .ts = ts,
        .amount_cents = cents,
        .channel = {"web", 3},
        .categories = cats,
        .ncategories = 1,
    };
    assert_int_equal(order_apply(s, &o, NULL), ORDER_APPLIED);
}

/* What the daemon's lag callback does: one sample per assigned partition. */
static void fake_lag(void *ctx, http_lag_emit_fn emit, void *emit_ctx) {
    fixture *f = ctx;
    f->lag_calls++;
    emit(emit_ctx, "orders", 3, 42);
    emit(emit_ctx, "orders", 4, 0);
}

/* What the daemon's partitions callback does, out of order, each topic
 * name in a buffer reused for the next (borrowed for the call only). */
static void fake_owned(void *ctx, http_partitions_emit_fn emit, void *emit_ctx) {
    fixture *f = ctx;
    if (f->owned_mode == 0)
        return;
    static const struct {
        const char *topic;
        int32_t partition;
        int64_t next, committed, high, lag;
        bool caught_up;
        int64_t customers;
    } parts[] = {
        {"orders", 10, 500, 480, 520, 20, true, 31},
        {"orders", 2, 7, -1, 7, 0, true, 0},
        {"b-orders", 0, 0, -1, -1, -1, false, -1},  /* nothing known yet */
        {"orders", 9, 100, 100, -1, -1, false, 12}, /* watermark not cached */
    };
    char topic[32];
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        snprintf(topic, sizeof topic, "%s", parts[i].topic);
        http_partition p = {
            .topic = topic,
            .partition = parts[i].partition,
            .state = HTTP_PARTITION_RUNNING,
            .next_offset = parts[i].next,
            .committed = parts[i].committed,
            .high_watermark = parts[i].high,
            .lag = parts[i].lag,
            .caught_up = parts[i].caught_up,
            .customers = parts[i].customers,
            /* ignored while running: no "restore" object */
            .restore_position = 3,
            .restore_end = 4,
            .restored_records = 5,
        };
        emit(emit_ctx, &p);
        memset(topic, 'x', sizeof topic - 1);
    }
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->store = store_new();
    if (!f->store)
        return -1;
    for (int i = 0; i < NCUST - 1; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "c-%d", i);
        for (int k = 0; k <= i; k++)
            add_order(f->store, cid, k, MAY_1 + 2 * i * DAY + k * 3600, 1000 * (i + 1) + 50);
    }
    add_order(f->store, SPECIAL, 0, MAY_1 + 2 * DAY, 999);
    f->one = (http_store){.partition = 0, .store = f->store};
    score_settings_default(&f->scoring);
    segment_map_default(&f->map, f->scoring.bins);
    f->pipe.consumed = 12;
    f->pipe.applied = 11;
    f->pipe.rejected_by[1] = 1;
    f->snap.written = 0;
    f->st = (http_status){
        .kafka_version = "test-kafka",
        .started_ms = clock_mono_ms() - 1500,
        .started_wall_ms = clock_wall_ms() - 1500,
        .partitions = 2,
        .reloads_ok = 2,
        .reloads_failed = 1,
        .stores = &f->one,
        .nstores = 1,
        .bp = &f->bp,
        .scoring = &f->scoring,
        .segments = &f->map,
        .pipeline = &f->pipe,
        .snapshot = &f->snap,
        .producer = {.delivered = 9},
        .producer_queue = 3,
        .pending = 1,
        .lag = fake_lag,
        .lag_ctx = f,
        .group_id = "rfmd-test",
        .owned = fake_owned,
        .owned_ctx = f,
    };
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    store_free(f->store);
    free(f);
    return 0;
}

/* The first rescore, as the pipeline runs it. */
static void rescore(fixture *f) {
    assert_int_equal(score_breakpoints_compute(&f->scoring, f->store, clock_wall_ms() / 1000,
                                               f->bp.version, &f->bp),
                     0);
    score_rescore_all(&f->scoring, &f->bp, &f->map, f->store, NULL, NULL);
}

/* GET url from the fixture's status. */
static http_reply get(const fixture *f, const char *url, int want_status, json_t **out) {
    return http_get(&f->st, url, want_status, out);
}

static void test_health(void **state) {
    fixture *f = *state;
    json_t *o;
    http_reply r = get(f, "/healthz", 200, &o);
    assert_string_equal(jstr(o, "status"), "ok");
    assert_true(json_is_false(json_object_get(o, "ready")));
    assert_int_equal(jint(o, "customers"), NCUST);
    assert_int_equal(jint(o, "partitions"), 2);
    assert_int_equal(jint(o, "breakpoints_version"), 0);
    assert_true(json_number_value(json_object_get(o, "uptime_seconds")) >= 1.4);
    json_decref(o);
    free(r.body);

    /* Not ready: 503 with the reason; then ready. */
    r = get(f, "/readyz", 503, &o);
    assert_string_equal(jstr(o, "status"), "not ready");
    assert_string_equal(jstr(o, "reason"), "no partitions assigned yet");
    json_decref(o);
    free(r.body);
    f->st.ready = true;
    f->st.caught_up = true;
    r = get(f, "/readyz", 200, &o);
    assert_string_equal(jstr(o, "status"), "ready");
    assert_true(json_is_true(json_object_get(o, "caught_up")));
    assert_null(json_object_get(o, "reason"));
    json_decref(o);
    free(r.body);
}

static void test_customers(void **state) {
    fixture *f = *state;
    json_t *o;
    /* Before the first rescore: known, not scored. */
    http_reply r = get(f, "/customers/c-3", 200, &o);
    assert_string_equal(jstr(o, "customer_id"), "c-3");
    assert_int_equal(jint(o, "frequency"), 4);
    assert_int_equal(jint(o, "partition"), 0); /* the one store's */
    assert_true(json_is_null(json_object_get(o, "segment")));
    assert_true(json_is_null(json_object_get(o, "rfm")));
    /* as_of before breakpoints: the coming one, the newest order's day
     * (05-07) + 2; its last order 05-07T03:00 is 1.875 days before. */
    assert_string_equal(jstr(o, "as_of"), "2021-05-09");
    assert_int_equal(jint(o, "recency_days"), 1);
    json_decref(o);
    free(r.body);

    rescore(f);
    r = get(f, "/customers/c-3", 200, &o);
    assert_string_equal(
        jstr(o, "segment"),
        segment_name(&f->map, segment_of(&f->map, (int)jint(o, "r"), (int)jint(o, "f"))));
    assert_int_equal(jint(o, "breakpoints_version"), 1);
    assert_string_equal(jstr(o, "first_order"), "2021-05-07T00:00:00.000Z");
    assert_string_equal(jstr(o, "last_order"), "2021-05-07T03:00:00.000Z");
    assert_int_equal(json_array_size(json_object_get(o, "categories")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "channels"), 0)),
                        "web");
    json_decref(o);
    free(r.body);

    /* The id is percent-decoded once: '/', ' ', '+', '%' and UTF-8. */
    r = get(f, "/customers/" SPECIAL_Q, 200, &o);
    assert_string_equal(jstr(o, "customer_id"), SPECIAL);
    assert_true(json_is_real(json_object_get(o, "monetary")));
    assert_true(json_real_value(json_object_get(o, "monetary")) == 9.99);
    json_decref(o);
    free(r.body);

    /* Unknown: 404 naming it; malformed: 400. */
    r = get(f, "/customers/nobody", 404, &o);
    assert_string_equal(jstr(o, "error"), "unknown customer");
    assert_string_equal(jstr(o, "customer_id"), "nobody");
    /* No home function: its partition is not known, the one owned is. */
    assert_true(json_is_null(json_object_get(o, "partition")));
    assert_int_equal(json_array_size(json_object_get(o, "owned")), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "owned"), 0)), 0);
    json_decref(o);
    free(r.body);
    const char *bad[] = {"/customers/", "/customers/%zz", "/customers/a%2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = get(f, bad[i], 400, &o);
        assert_non_null(jstr(o, "error"));
        json_decref(o);
        free(r.body);
    }
    r = get(f, "/nowhere", 404, &o);
    json_decref(o);
    free(r.body);
}

static void test_segments_and_breakpoints(void **state) {
    fixture *f = *state;
    json_t *o;
    http_reply r = get(f, "/segments", 200, &o);
    assert_int_equal(jint(o, "customers"), NCUST);
    assert_int_equal(jint(o, "unscored"), NCUST);
    assert_int_equal(json_array_size(json_object_get(o, "segments")), 10);
    assert_int_equal(json_array_size(json_object_get(o, "partitions")), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "partitions"), 0)), 0);
    json_decref(o);
    free(r.body);
    r = get(f, "/breakpoints", 503, &o);
    assert_int_equal(jint(o, "version"), 0);
    json_decref(o);
    free(r.body);

    rescore(f);
    r = get(f, "/segments", 200, &o);
    assert_int_equal(jint(o, "unscored"), 0);
    assert_int_equal(jint(o, "breakpoints_version"), 1);
    assert_string_equal(jstr(o, "as_of"), "2021-05-09");
    json_t *list = json_object_get(o, "segments");
    json_int_t total = 0;
    for (size_t i = 0; i < json_array_size(list); i++)
        total += jint(json_array_get(list, i), "customers");
    assert_int_equal(total, NCUST);
    json_decref(o);
    free(r.body);

    r = get(f, "/breakpoints", 200, &o);
    assert_int_equal(jint(o, "version"), 1);
    assert_int_equal(jint(o, "bins"), 5);
    assert_int_equal(jint(o, "customers"), NCUST);
    assert_string_equal(jstr(o, "as_of"), "2021-05-09");
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "m"), "edges")), 6);
    json_decref(o);
    free(r.body);
}

/* Group scope: /breakpoints carries the record's round and this member's
 * counters, /metrics the round's families; local scope says so. */
static void test_round(void **state) {
    fixture *f = *state;
    rescore(f);
    json_t *o;
    http_reply r = get(f, "/breakpoints", 200, &o);
    assert_string_equal(jstr(json_object_get(o, "round"), "scope"), "local");
    json_decref(o);
    free(r.body);
    r = get(f, "/metrics", 200, NULL);
    assert_null(strstr(r.body, "rfmd_round"));
    free(r.body);

    static const int64_t offsets[3] = {17, 0, 4};
    http_round g = {.member = 0xabcdefull,
                    .is_coordinator = true,
                    .version = 7,
                    .attempt = 9,
                    .coordinator = 0x1234ull,
                    .partitions = 3,
                    .offsets = offsets,
                    .members = 2,
                    .requests = 4,
                    .bytes = 50000,
                    .duration_ms = 120,
                    .rounds = 5,
                    .restarted = 1,
                    .bytes_sent = 3000,
                    .last_duration_ms = 120,
                    .hold_ms_total = 1500};
    f->st.round = &g;
    r = get(f, "/breakpoints", 200, &o);
    json_t *round = json_object_get(o, "round");
    assert_string_equal(jstr(round, "scope"), "group");
    assert_int_equal(jint(round, "version"), 7);
    assert_int_equal(jint(round, "attempt"), 9);
    assert_string_equal(jstr(round, "coordinator"), "0000000000001234");
    assert_string_equal(jstr(round, "member"), "0000000000abcdef");
    assert_true(json_is_true(json_object_get(round, "is_coordinator")));
    assert_int_equal(json_array_size(json_object_get(round, "offsets")), 3);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(round, "offsets"), 0)), 17);
    assert_int_equal(jint(round, "bytes"), 50000);
    assert_int_equal(jint(json_object_get(round, "this_member"), "restarted"), 1);
    json_decref(o);
    free(r.body);
    r = get(f, "/metrics", 200, NULL);
    assert_line(&r, "rfmd_breakpoints_group_version 7");
    assert_line(&r, "rfmd_round_coordinator 1");
    assert_line(&r, "rfmd_rounds_total 5");
    assert_line(&r, "rfmd_round_restarts_total 1");
    assert_line(&r, "rfmd_round_bytes_sent_total 3000");
    assert_line(&r, "rfmd_round_last_duration_seconds 0.12");
    assert_line(&r, "rfmd_round_hold_seconds_total 1.5");
    free(r.body);
    f->st.round = NULL;
}

static void test_metrics(void **state) {
    fixture *f = *state;
    f->st.ready = true;
    http_reply r = get(f, "/metrics", 200, NULL);
    assert_string_equal(r.content_type, HTTP_METRICS_TYPE);
    assert_int_equal(r.len, strlen(r.body));
    assert_line(&r, "rfmd_build_info{version=\"" RFM_VERSION "\",librdkafka=\"test-kafka\"} 1");
    assert_line(&r, "rfmd_ready 1");
    assert_line(&r, "rfmd_caught_up 0");
    assert_line(&r, "rfmd_customers 5");
    assert_line(&r, "rfmd_partition_customers{partition=\"0\"} 5");
    assert_line(&r, "rfmd_partitions_restoring 0"); /* owned_mode 0: none listed */
    assert_line(&r, "rfmd_breakpoints_version 0");
    assert_line(&r, "rfmd_breakpoints_as_of_timestamp_seconds NaN");
    assert_line(&r, "rfmd_segment_customers{segment=\"unscored\"} 5");
    assert_line(&r, "rfmd_orders_consumed_total 12");
    assert_line(&r, "rfmd_orders_applied_total 11");
    assert_line(&r, "rfmd_config_reloads_total{result=\"ok\"} 2");
    assert_line(&r, "rfmd_config_reloads_total{result=\"error\"} 1");
    assert_line(&r, "rfmd_config_last_reload_success_timestamp_seconds NaN");
    assert_line(&r, "rfmd_producer_queue_messages 3");
    assert_line(&r, "rfmd_producer_delivered_total 9");
    assert_line(&r, "rfmd_pending_deliveries 1");
    assert_line(&r, "rfmd_snapshot_age_seconds NaN");
    assert_line(&r, "rfmd_consumer_assigned_partitions 2");
    assert_line(&r, "rfmd_consumer_lag_messages{topic=\"orders\",partition=\"3\"} 42");
    assert_line(&r, "rfmd_consumer_lag_messages{topic=\"orders\",partition=\"4\"} 0");
    assert_line(&r, "# TYPE rfmd_rescore_duration_seconds summary");
    assert_int_equal(f->lag_calls, 1);
    free(r.body);

    rescore(f);
    f->st.last_reload_ok_ms = 1620000000500;
    r = get(f, "/metrics", 200, NULL);
    assert_line(&r, "rfmd_breakpoints_version 1");
    assert_line(&r, "rfmd_segment_customers{segment=\"unscored\"} 0");
    assert_line(&r, "rfmd_config_last_reload_success_timestamp_seconds 1620000000.5");
    free(r.body);

    /* Without a lag callback the family is there, with no samples. */
    f->st.lag = NULL;
    r = get(f, "/metrics", 200, NULL);
    assert_line(&r, "# TYPE rfmd_consumer_lag_messages gauge");
    assert_null(memmem(r.body, r.len, "rfmd_consumer_lag_messages{", 27));
    free(r.body);
}

static void test_partitions(void **state) {
    fixture *f = *state;
    json_t *o;
    /* None owned: an empty list, the group named. */
    http_reply r = get(f, "/partitions", 200, &o);
    assert_string_equal(jstr(o, "group_id"), "rfmd-test");
    assert_int_equal(jint(o, "partitions"), 0);
    assert_true(json_is_false(json_object_get(o, "caught_up")));
    assert_true(json_is_array(json_object_get(o, "assignment")));
    assert_int_equal(json_array_size(json_object_get(o, "assignment")), 0);
    assert_null(json_object_get(o, "members")); /* unknown: omitted */
    json_decref(o);
    free(r.body);
    /* No callback at all, no group: the same, group_id omitted. */
    f->st.owned = NULL;
    f->st.group_id = NULL;
    r = get(f, "/partitions", 200, &o);
    assert_null(json_object_get(o, "group_id"));
    assert_int_equal(jint(o, "partitions"), 0);
    json_decref(o);
    free(r.body);

    /* Several, emitted out of order: sorted by topic, then partition
     * numerically (2 before 9 before 10); unknown values are null. */
    f->st.owned = fake_owned;
    f->owned_mode = 1;
    f->st.caught_up = true;
    r = get(f, "/partitions", 200, &o);
    assert_int_equal(jint(o, "partitions"), 4);
    assert_true(json_is_true(json_object_get(o, "caught_up")));
    json_t *list = json_object_get(o, "assignment");
    assert_int_equal(json_array_size(list), 4);
    static const struct {
        const char *topic;
        json_int_t partition, next, committed, high, lag;
        bool caught_up;
        json_int_t customers;
    } want[] = {
        {"b-orders", 0, 0, -1, -1, -1, false, -1},
        {"orders", 2, 7, -1, 7, 0, true, 0},
        {"orders", 9, 100, 100, -1, -1, false, 12},
        {"orders", 10, 500, 480, 520, 20, true, 31},
    };
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(list, i);
        assert_string_equal(jstr(e, "topic"), want[i].topic);
        assert_int_equal(jint(e, "partition"), want[i].partition);
        assert_string_equal(jstr(e, "state"), "running");
        assert_int_equal(joffset(e, "next_offset"), want[i].next);
        assert_int_equal(joffset(e, "committed_offset"), want[i].committed);
        assert_int_equal(joffset(e, "high_watermark"), want[i].high);
        assert_int_equal(joffset(e, "lag"), want[i].lag);
        assert_int_equal(json_is_true(json_object_get(e, "caught_up")), want[i].caught_up);
        assert_int_equal(joffset(e, "customers"), want[i].customers);
        /* Unknown is null, never absent; no restore fields while running. */
        assert_non_null(json_object_get(e, "lag"));
        assert_non_null(json_object_get(e, "high_watermark"));
        assert_non_null(json_object_get(e, "customers"));
        assert_null(json_object_get(e, "restore"));
        assert_int_equal(json_object_size(e), 9);
    }
    json_decref(o);
    free(r.body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_customers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_and_breakpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partitions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
