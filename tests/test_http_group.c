/*
 * The HTTP handlers over a set of stores, one per owned input partition, as
 * an instance of a consumer group holds them: partitions 0, 2 and 5 with
 * distinct customers (listed out of order), a home function answering from
 * a fixed table with 8 partitions, and partitions 6 and 7 still restoring.
 * Beside it the same customers in one store, scored as one: every total the
 * set shows (/segments, /metrics, customers' scores and recency) must equal
 * that store's, to the last digit, before and after the first rescore.
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

#define DAY        86400
#define MAY_1      1619827200LL /* 2021-05-01T00:00:00Z */
#define NCUST      36           /* g-00..g-35, plus "late" and "misplaced" */
#define NPART      8            /* the topic's partition count, as home tells it */
#define NSTORES    3
#define NRESTORING 2

/* Customer i's partition: 0, 2, 5 in turn. */
static const int32_t owned_parts[NSTORES] = {0, 2, 5};

/* Ids home answers for besides the customers, and where they live. */
static const struct {
    const char *id;
    int32_t partition;
} probes[] = {
    {"late", 0},      /* the newest order of all: only partition 0 has it */
    {"misplaced", 2}, /* home says 2, but it sits in partition 0's store */
    {"ghost", 2},     /* owned partition, no such customer */
    {"elsewhere", 3}, /* a partition another instance owns */
    {"thawing", 7},   /* a partition this instance is restoring */
};

typedef struct fixture {
    store *part[NSTORES]; /* partitions 0, 2, 5 */
    store *all;           /* every customer of the three */
    http_store stores[NSTORES], all_one;
    score_settings scoring;
    segment_map map;
    score_breakpoints bp, all_bp;
    pipeline_stats pipe;
    saver_stats snap;
    http_status st, all_st; /* the set; the one store */
    int home_mode;          /* 0: the table; 1: cannot tell (-1) */
    int home_calls;
} fixture;

static void add_order(store *s, const char *cid, int k, int64_t ts, int64_t cents,
                      const char *category) {
    char oid[64];
    snprintf(oid, sizeof oid, "%s-%d", cid, k);
    order_str cats[] = {{category, strlen(category)}};
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

/* The same order into the partition's store and the all-in-one store. */
static void add_both(fixture *f, int slot, const char *cid, int k, int64_t ts, int64_t cents) {
    /* Partition 2's customers buy toys, the others books: category indices
     * differ between the stores, so names must come from the right one. */
    const char *cat = owned_parts[slot] == 2 ? "toys" : "books";
    add_order(f->part[slot], cid, k, ts, cents, cat);
    add_order(f->all, cid, k, ts, cents, cat);
}

static int32_t fake_home(void *ctx, const char *id, size_t len, int32_t *count) {
    fixture *f = ctx;
    f->home_calls++;
    if (f->home_mode == 1)
        return -1;
    *count = NPART;
    int i;
    char tail;
    char buf[32];
    if (len < sizeof buf) {
        memcpy(buf, id, len);
        buf[len] = 0;
        if (sscanf(buf, "g-%d%c", &i, &tail) == 1 && i >= 0 && i < NCUST)
            return owned_parts[i % NSTORES];
        for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++)
            if (!strcmp(buf, probes[k].id))
                return probes[k].partition;
    }
    return -1;
}

/* Running 0, 2, 5 with their stores' counts; 7 restoring with its progress
 * known, 6 restoring with nothing known yet. Out of order. */
static void fake_owned(void *ctx, http_partitions_emit_fn emit, void *emit_ctx) {
    fixture *f = ctx;
    http_partition p = {
        .topic = "orders",
        .partition = 7,
        .state = HTTP_PARTITION_RESTORING,
        .next_offset = 900,
        .committed = 900,
        .high_watermark = 950,
        .lag = 50,
        .customers = 40,
        .restore_position = 120,
        .restore_end = 5000,
        .restored_records = 118,
    };
    emit(emit_ctx, &p);
    for (int k = NSTORES - 1; k >= 0; k--) {
        p = (http_partition){
            .topic = "orders",
            .partition = owned_parts[k],
            .state = HTTP_PARTITION_RUNNING,
            .next_offset = 10,
            .committed = 10,
            .high_watermark = 10,
            .lag = 0,
            .caught_up = true,
            .customers = (int64_t)store_count(f->part[k]),
            .restore_position = -1,
            .restore_end = -1,
        };
        emit(emit_ctx, &p);
    }
    p = (http_partition){
        .topic = "orders",
        .partition = 6,
        .state = HTTP_PARTITION_RESTORING,
        .next_offset = -1,
        .committed = -1,
        .high_watermark = -1,
        .lag = -1,
        .customers = -1,
        .restore_position = -1,
        .restore_end = -1,
    };
    emit(emit_ctx, &p);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    f->all = store_new();
    if (!f->all)
        return -1;
    for (int k = 0; k < NSTORES; k++)
        if (!(f->part[k] = store_new()))
            return -1;
    /* Customer i: 1 + i%5 orders, spread over 40 days, amounts all
     * different, so the segments are several and the means not round. */
    for (int i = 0; i < NCUST; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "g-%02d", i);
        for (int k = 0; k <= i % 5; k++)
            add_both(f, i % NSTORES, cid, k, MAY_1 + (i * 7 % 40) * DAY + k * 3600,
                     1000 + 137 * i + 53 * k);
    }
    add_both(f, 0, "late", 0, MAY_1 + 60 * DAY + 7200, 4321);
    add_both(f, 0, "misplaced", 0, MAY_1 + 3 * DAY, 777);
    score_settings_default(&f->scoring);
    segment_map_default(&f->map, f->scoring.bins);
    /* Listed in no particular order: 5, 0, 2. */
    for (int k = 0; k < NSTORES; k++)
        f->stores[k] = (http_store){.partition = owned_parts[(k + 2) % NSTORES],
                                    .store = f->part[(k + 2) % NSTORES]};
    f->all_one = (http_store){.partition = 0, .store = f->all};
    f->st = (http_status){
        .started_ms = clock_mono_ms(),
        .started_wall_ms = clock_wall_ms(),
        .ready = true,
        .partitions = NSTORES + NRESTORING,
        .stores = f->stores,
        .nstores = NSTORES,
        .home = fake_home,
        .home_ctx = f,
        .bp = &f->bp,
        .scoring = &f->scoring,
        .segments = &f->map,
        .pipeline = &f->pipe,
        .snapshot = &f->snap,
        .owned = fake_owned,
        .owned_ctx = f,
    };
    f->all_st = f->st;
    f->all_st.stores = &f->all_one;
    f->all_st.nstores = 1;
    f->all_st.home = NULL;
    f->all_st.owned = NULL;
    f->all_st.bp = &f->all_bp;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (!f)
        return 0;
    for (int k = 0; k < NSTORES; k++)
        store_free(f->part[k]);
    store_free(f->all);
    free(f);
    return 0;
}

/* The first rescore: the set's breakpoints over the three stores, each
 * rescored against them; the one store on its own. */
static void rescore(fixture *f) {
    int64_t now = clock_wall_ms() / 1000;
    const store *set[NSTORES] = {f->part[0], f->part[1], f->part[2]};
    assert_int_equal(score_breakpoints_compute_set(&f->scoring, set, NSTORES, now, 0, &f->bp), 0);
    for (int k = 0; k < NSTORES; k++)
        score_rescore_all(&f->scoring, &f->bp, &f->map, f->part[k], NULL, NULL);
    assert_int_equal(score_breakpoints_compute(&f->scoring, f->all, now, 0, &f->all_bp), 0);
    score_rescore_all(&f->scoring, &f->all_bp, &f->map, f->all, NULL, NULL);
}

/* The JSON array [v0, v1, ...] equals a (n values). */
static void assert_int_array(const json_t *a, const json_int_t *v, size_t n) {
    if (!json_is_array(a) || json_array_size(a) != n)
        fail_msg("not an array of %zu", n);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_integer(e) || json_integer_value(e) != v[i])
            fail_msg("element %zu is not %lld", i, (long long)v[i]);
    }
}

static const json_int_t owned_sorted[NSTORES] = {0, 2, 5};

/* key of a and b is the same JSON value (and present in both). */
static void assert_same(const json_t *a, const json_t *b, const char *key) {
    const json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    if (!x || !y || !json_equal(x, y)) {
        char *sx = x ? json_dumps(x, JSON_ENCODE_ANY) : NULL;
        char *sy = y ? json_dumps(y, JSON_ENCODE_ANY) : NULL;
        fail_msg("\"%s\" differs: %s vs %s", key, sx ? sx : "(absent)", sy ? sy : "(absent)");
    }
}

/* Every customer as the set shows it equals the one store's view, with its
 * own partition; the scores compared too once scored. */
static void check_customers(fixture *f, bool scored) {
    for (int i = 0; i < NCUST + 2; i++) {
        char cid[16], url[64];
        if (i < NCUST)
            snprintf(cid, sizeof cid, "g-%02d", i);
        else
            snprintf(cid, sizeof cid, "%s", i == NCUST ? "late" : "misplaced");
        snprintf(url, sizeof url, "/customers/%s", cid);
        json_t *g, *a;
        /* "misplaced": home says 2, which does not hold it (below). */
        if (i == NCUST + 1) {
            f->home_mode = 1;
        }
        http_reply rg = http_get(&f->st, url, 200, &g);
        http_reply ra = http_get(&f->all_st, url, 200, &a);
        f->home_mode = 0;
        json_int_t want = i < NCUST ? owned_parts[i % NSTORES] : 0;
        assert_int_equal(jint(g, "partition"), want);
        assert_string_equal(jstr(g, "customer_id"), cid);
        static const char *const same[] = {"segment",
                                           "r",
                                           "f",
                                           "m",
                                           "rfm",
                                           "recency_days",
                                           "frequency",
                                           "monetary",
                                           "first_order",
                                           "last_order",
                                           "categories",
                                           "as_of",
                                           "breakpoints_version"};
        for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
            assert_same(g, a, same[k]);
        assert_true(json_is_null(json_object_get(g, "segment")) == !scored);
        /* Category names from the customer's own store. */
        assert_string_equal(json_string_value(json_array_get(json_object_get(g, "categories"), 0)),
                            want == 2 ? "toys" : "books");
        json_decref(g);
        json_decref(a);
        free(rg.body);
        free(ra.body);
    }
}

static void test_group_customers(void **state) {
    fixture *f = *state;
    check_customers(f, false);
    /* as_of over the set: the newest order (partition 0's "late", 06-30)
     * + 2 days, for customers of the other partitions too. */
    json_t *o;
    http_reply r;
    for (int i = 1; i <= 2; i++) {
        char url[32];
        snprintf(url, sizeof url, "/customers/g-%02d", i);
        r = http_get(&f->st, url, 200, &o);
        assert_string_equal(jstr(o, "as_of"), "2021-07-02");
        assert_int_equal(jint(o, "partition"), owned_parts[i]);
        json_decref(o);
        free(r.body);
    }
    rescore(f);
    check_customers(f, true);
    assert_true(f->home_calls > 0);

    /* Home known, owned, absent: the plain 404 with its partition. */
    r = http_get(&f->st, "/customers/ghost", 404, &o);
    assert_string_equal(jstr(o, "error"), "unknown customer");
    assert_string_equal(jstr(o, "customer_id"), "ghost");
    assert_int_equal(jint(o, "partition"), 2);
    assert_null(json_object_get(o, "owned"));
    json_decref(o);
    free(r.body);
    /* Only the home partition's store is asked: "misplaced" is in
     * partition 0's, home says 2. */
    r = http_get(&f->st, "/customers/misplaced", 404, &o);
    assert_string_equal(jstr(o, "error"), "unknown customer");
    assert_int_equal(jint(o, "partition"), 2);
    json_decref(o);
    free(r.body);

    /* Another instance's partition: 404 saying so, with what is owned. */
    r = http_get(&f->st, "/customers/elsewhere", 404, &o);
    assert_string_equal(jstr(o, "error"),
                        "customer belongs to partition 3, which this instance does not own");
    assert_string_equal(jstr(o, "customer_id"), "elsewhere");
    assert_int_equal(jint(o, "partition"), 3);
    assert_int_equal(jint(o, "partitions"), NPART);
    assert_int_array(json_object_get(o, "owned"), owned_sorted, NSTORES);
    json_decref(o);
    free(r.body);

    /* A partition being restored here: 503 (try again), not "not owned". */
    r = http_get(&f->st, "/customers/thawing", 503, &o);
    assert_string_equal(jstr(o, "error"),
                        "customer belongs to partition 7, which is being restored");
    assert_int_equal(jint(o, "partition"), 7);
    assert_int_equal(jint(o, "partitions"), NPART);
    assert_int_array(json_object_get(o, "owned"), owned_sorted, NSTORES);
    json_decref(o);
    free(r.body);
    /* Without the owned walk nothing says it is restoring. */
    f->st.owned = NULL;
    r = http_get(&f->st, "/customers/thawing", 404, &o);
    assert_string_equal(jstr(o, "error"),
                        "customer belongs to partition 7, which this instance does not own");
    json_decref(o);
    free(r.body);

    /* No home function, or one that cannot tell: every store is asked. */
    for (int mode = 0; mode < 2; mode++) {
        f->st.home = mode ? fake_home : NULL;
        f->home_mode = mode;
        r = http_get(&f->st, "/customers/late", 200, &o);
        assert_int_equal(jint(o, "partition"), 0);
        json_decref(o);
        free(r.body);
        r = http_get(&f->st, "/customers/g-05", 200, &o); /* 5 % 3: partition 5 */
        assert_int_equal(jint(o, "partition"), 5);
        json_decref(o);
        free(r.body);
        r = http_get(&f->st, "/customers/g-04", 200, &o); /* 4 % 3: partition 2 */
        assert_int_equal(jint(o, "partition"), 2);
        json_decref(o);
        free(r.body);
        r = http_get(&f->st, "/customers/elsewhere", 404, &o);
        assert_string_equal(jstr(o, "error"), "unknown customer");
        assert_true(json_is_null(json_object_get(o, "partition")));
        assert_null(json_object_get(o, "partitions"));
        assert_int_array(json_object_get(o, "owned"), owned_sorted, NSTORES);
        json_decref(o);
        free(r.body);
    }
}

/* /segments of the set and of the one store: the same but "partitions". */
static void check_segments(fixture *f) {
    json_t *g, *a;
    http_reply rg = http_get(&f->st, "/segments", 200, &g);
    http_reply ra = http_get(&f->all_st, "/segments", 200, &a);
    assert_int_equal(jint(g, "customers"), NCUST + 2);
    static const char *const same[] = {"customers", "unscored", "as_of", "breakpoints_version",
                                       "segments"};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
        assert_same(g, a, same[k]);
    assert_int_array(json_object_get(g, "partitions"), owned_sorted, NSTORES);
    json_int_t zero = 0;
    assert_int_array(json_object_get(a, "partitions"), &zero, 1);
    json_decref(g);
    json_decref(a);
    free(rg.body);
    free(ra.body);
}

static void test_group_segments(void **state) {
    fixture *f = *state;
    json_t *o;
    check_segments(f);
    http_reply r = http_get(&f->st, "/segments", 200, &o);
    assert_int_equal(jint(o, "unscored"), NCUST + 2);
    assert_string_equal(jstr(o, "as_of"), "2021-07-02");
    json_decref(o);
    free(r.body);

    rescore(f);
    check_segments(f);
    /* Worth comparing: several segments hold customers, means not round. */
    r = http_get(&f->st, "/segments", 200, &o);
    assert_int_equal(jint(o, "unscored"), 0);
    json_t *list = json_object_get(o, "segments");
    int nonempty = 0;
    json_int_t total = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_int_t n = jint(json_array_get(list, i), "customers");
        total += n;
        nonempty += n > 0;
    }
    assert_int_equal(total, NCUST + 2);
    assert_true(nonempty >= 3);
    json_decref(o);
    free(r.body);

    /* The set's breakpoints are the one store's; /healthz counts all. */
    json_t *g, *a;
    http_reply rg = http_get(&f->st, "/breakpoints", 200, &g);
    http_reply ra = http_get(&f->all_st, "/breakpoints", 200, &a);
    assert_true(json_equal(g, a));
    json_decref(g);
    json_decref(a);
    free(rg.body);
    free(ra.body);
    r = http_get(&f->st, "/healthz", 200, &o);
    assert_int_equal(jint(o, "customers"), NCUST + 2);
    json_decref(o);
    free(r.body);
}

/* The lines of body starting with prefix, concatenated (caller frees). */
static char *lines_with(const http_reply *r, const char *prefix) {
    char *out = calloc(1, r->len + 1);
    assert_non_null(out);
    size_t n = 0, plen = strlen(prefix);
    for (const char *p = r->body, *end = r->body + r->len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (len >= plen && !memcmp(p, prefix, plen)) {
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    return out;
}

static void check_metrics(fixture *f) {
    http_reply rg = http_get(&f->st, "/metrics", 200, NULL);
    http_reply ra = http_get(&f->all_st, "/metrics", 200, NULL);
    char line[128];
    snprintf(line, sizeof line, "rfmd_customers %d", NCUST + 2);
    assert_line(&rg, line);
    size_t memory = 0;
    for (int k = 0; k < NSTORES; k++)
        memory += store_memory(f->part[k]);
    snprintf(line, sizeof line, "rfmd_store_memory_bytes %zu", memory);
    assert_line(&rg, line);
    /* One sample per store, in partition order, adding up. */
    char *want = calloc(1, 512);
    assert_non_null(want);
    for (int k = 0; k < NSTORES; k++)
        snprintf(want + strlen(want), 512 - strlen(want),
                 "rfmd_partition_customers{partition=\"%d\"} %zu\n", owned_parts[k],
                 store_count(f->part[k]));
    char *got = lines_with(&rg, "rfmd_partition_customers{");
    assert_string_equal(got, want);
    free(got);
    free(want);
    /* Per-segment gauges: the one store's exactly. */
    char *sg = lines_with(&rg, "rfmd_segment_customers{");
    char *sa = lines_with(&ra, "rfmd_segment_customers{");
    assert_true(strlen(sg) > 0);
    assert_string_equal(sg, sa);
    free(sg);
    free(sa);
    free(rg.body);
    free(ra.body);
}

static void test_group_metrics(void **state) {
    fixture *f = *state;
    check_metrics(f);
    http_reply r = http_get(&f->st, "/metrics", 200, NULL);
    assert_line(&r, "rfmd_partitions_restoring 2");
    assert_line(&r, "rfmd_consumer_assigned_partitions 5");
    char line[64];
    snprintf(line, sizeof line, "rfmd_segment_customers{segment=\"unscored\"} %d", NCUST + 2);
    assert_line(&r, line);
    free(r.body);
    rescore(f);
    check_metrics(f);
    f->st.owned = NULL;
    r = http_get(&f->st, "/metrics", 200, NULL);
    assert_line(&r, "rfmd_partitions_restoring 0");
    free(r.body);
}

static void test_group_partitions(void **state) {
    fixture *f = *state;
    json_t *o;
    http_reply r = http_get(&f->st, "/partitions", 200, &o);
    assert_int_equal(jint(o, "partitions"), NSTORES + NRESTORING);
    json_t *list = json_object_get(o, "assignment");
    static const struct {
        json_int_t partition;
        const char *state;
        json_int_t customers, position, end, records; /* -2: no "restore" */
    } want[] = {
        {0, "running", -3, -2, -2, -2},       {2, "running", -3, -2, -2, -2},
        {5, "running", -3, -2, -2, -2},       {6, "restoring", -1, -1, -1, 0},
        {7, "restoring", 40, 120, 5000, 118},
    };
    assert_int_equal(json_array_size(list), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *e = json_array_get(list, i);
        assert_int_equal(jint(e, "partition"), want[i].partition);
        assert_string_equal(jstr(e, "state"), want[i].state);
        /* -3: the partition's store count. */
        json_int_t customers =
            want[i].customers == -3 ? (json_int_t)store_count(f->part[i]) : want[i].customers;
        assert_non_null(json_object_get(e, "customers"));
        assert_int_equal(joffset(e, "customers"), customers);
        json_t *rs = json_object_get(e, "restore");
        if (want[i].position == -2) {
            assert_null(rs);
            assert_int_equal(json_object_size(e), 9);
            continue;
        }
        assert_true(json_is_object(rs));
        assert_int_equal(json_object_size(rs), 3);
        assert_non_null(json_object_get(rs, "position"));
        assert_non_null(json_object_get(rs, "end"));
        assert_int_equal(joffset(rs, "position"), want[i].position);
        assert_int_equal(joffset(rs, "end"), want[i].end);
        assert_int_equal(jint(rs, "records"), want[i].records);
        assert_int_equal(json_object_size(e), 10);
    }
    json_decref(o);
    free(r.body);
}

/* No store yet (every partition restoring, or none assigned). */
static void test_group_empty(void **state) {
    fixture *f = *state;
    f->st.nstores = 0;
    json_t *o;
    http_reply r = http_get(&f->st, "/segments", 200, &o);
    assert_int_equal(jint(o, "customers"), 0);
    assert_true(json_is_null(json_object_get(o, "as_of")));
    assert_int_array(json_object_get(o, "partitions"), NULL, 0);
    json_decref(o);
    free(r.body);
    r = http_get(&f->st, "/customers/g-00", 404, &o);
    assert_string_equal(jstr(o, "error"),
                        "customer belongs to partition 0, which this instance does not own");
    assert_int_array(json_object_get(o, "owned"), NULL, 0);
    json_decref(o);
    free(r.body);
    f->st.home = NULL;
    r = http_get(&f->st, "/customers/g-00", 404, &o);
    assert_string_equal(jstr(o, "error"), "unknown customer");
    assert_true(json_is_null(json_object_get(o, "partition")));
    assert_int_array(json_object_get(o, "owned"), NULL, 0);
    json_decref(o);
    free(r.body);
    r = http_get(&f->st, "/metrics", 200, NULL);
    assert_line(&r, "rfmd_customers 0");
    assert_line(&r, "# TYPE rfmd_partition_customers gauge");
    assert_null(memmem(r.body, r.len, "rfmd_partition_customers{", 25));
    free(r.body);
    r = http_get(&f->st, "/healthz", 200, &o);
    assert_int_equal(jint(o, "customers"), 0);
    json_decref(o);
    free(r.body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_customers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
