/*
 * rfmd writes the changelog (docs/contract.md §9.1) over the mock cluster:
 * every FLO order produced, keyed by customer, rfmd runs with
 * changelog.enabled, and the changelog topic read back must
 *  - hold each record on the partition number its customer's orders arrived
 *    on (the orders topic is read back to know which);
 *  - carry in every record the input position the partition's state covers,
 *    never decreasing, and in each customer's latest record alone (what
 *    compaction leaves) still the partition's last order;
 *  - applied latest-record-per-key into a fresh store (changelog_apply),
 *    give every one of the 19,945 customers the golden frequency, monetary
 *    (cents) and recency, Σ frequency = 100,219.
 * With the default (changelog.enabled false) the topic gets nothing.
 *
 * The mock has no CreateTopics: the test creates the topic as an operator
 * would (rfmd checks its partition count; the policy check is skipped there
 * with a log line).
 *
 * usage: test_daemon_changelog RFMD   (RFM_SHARED, RFM_SOURCE from ctest)
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/flo.h"
#include "daemon/harness.h"
#include "rfm/changelog.h"
#include "rfm/score.h"
#include "rfm/store.h"

#define CL_TOPIC   HARNESS_GROUP "-changelog"
#define CL_PARTS   8
#define CL_AS_OF   1622505600 /* 2021-06-01, the golden table's as_of */
#define CL_WAIT_MS 90000

static const char *rfmd_path;

/* Produce FLO, run rfmd to the end with `extra` config; the topic exists. */
static void cl_run(harness *hp, const char *extra) {
    harness_init(hp, rfmd_path, CL_PARTS, 8, 1);
    assert_int_equal(rd_kafka_mock_topic_create(hp->mc, CL_TOPIC, CL_PARTS, 1), 0);
    flo_orders os;
    flo_load(&os);
    flo_produce(hp, &os, 0, os.n);
    flo_free(&os);
    harness_write_config(hp, "60s", NULL, NULL, extra);
    harness_run_to_end(hp, CL_WAIT_MS);
}

/* Messages ordered by key, for bsearch. */
static int cl_by_key(const void *a, const void *b) {
    const hmsg *x = *(const hmsg *const *)a, *y = *(const hmsg *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Every record's partition is the one its customer's orders arrived on. */
/* By key, then by offset (one key's records share a partition). */
static int cl_by_key_offset(const void *a, const void *b) {
    int c = cl_by_key(a, b);
    if (c)
        return c;
    const hmsg *x = *(const hmsg *const *)a, *y = *(const hmsg *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static void cl_check_partitions(const hreader *orders, const hreader *cl) {
    const hmsg **by = malloc(orders->n * sizeof *by);
    assert_non_null(by);
    for (size_t i = 0; i < orders->n; i++)
        by[i] = &orders->msgs[i];
    qsort(by, orders->n, sizeof *by, cl_by_key);
    for (size_t i = 1; i < orders->n; i++)
        if (!cl_by_key(&by[i - 1], &by[i]) && by[i - 1]->partition != by[i]->partition)
            fail_msg("customer %.*s: orders on partitions %d and %d", (int)by[i]->key_len,
                     by[i]->key, (int)by[i - 1]->partition, (int)by[i]->partition);
    for (size_t i = 0; i < cl->n; i++) {
        const hmsg *m = &cl->msgs[i];
        const hmsg **o = bsearch(&m, by, orders->n, sizeof *by, cl_by_key);
        if (!o)
            fail_msg("record %zu: customer %.*s has no order", i, (int)m->key_len, m->key);
        if ((*o)->partition != m->partition)
            fail_msg("customer %.*s: record on partition %d, orders on %d", (int)m->key_len, m->key,
                     (int)m->partition, (int)(*o)->partition);
    }
    free(by);
}

/* Every record names the input position its partition's state covers:
 * never decreasing along a changelog partition, and, in the latest record
 * of each customer alone (what compaction leaves), still the input
 * partition's last offset — the first scoring rewrote every customer after
 * all the orders, so without a position in rescore records compaction
 * would leave none. */
static void cl_check_positions(const hreader *orders, const hreader *cl) {
    int64_t last[CL_PARTS], seen[CL_PARTS], latest[CL_PARTS];
    for (int p = 0; p < CL_PARTS; p++)
        last[p] = seen[p] = latest[p] = -1;
    for (size_t i = 0; i < orders->n; i++)
        if (orders->msgs[i].offset > last[orders->msgs[i].partition])
            last[orders->msgs[i].partition] = orders->msgs[i].offset;
    const hmsg **by = malloc(cl->n * sizeof *by);
    assert_non_null(by);
    for (size_t i = 0; i < cl->n; i++) {
        const hmsg *m = &cl->msgs[i];
        if (m->input_offset < 0)
            fail_msg("record %d@%" PRId64 ": no input offset", (int)m->partition, m->offset);
        if (m->input_offset < seen[m->partition])
            fail_msg("record %d@%" PRId64 ": input offset %" PRId64 " after %" PRId64,
                     (int)m->partition, m->offset, m->input_offset, seen[m->partition]);
        seen[m->partition] = m->input_offset;
        by[i] = m;
    }
    /* Latest per key: the last of its records by offset (one key, one
     * partition: cl_check_partitions). */
    qsort(by, cl->n, sizeof *by, cl_by_key_offset);
    for (size_t i = 0; i < cl->n; i++) {
        if (i + 1 < cl->n && !cl_by_key(&by[i], &by[i + 1]))
            continue; /* not the latest of its key */
        if (by[i]->input_offset > latest[by[i]->partition])
            latest[by[i]->partition] = by[i]->input_offset;
    }
    free(by);
    for (int p = 0; p < CL_PARTS; p++) {
        fprintf(stderr,
                "partition %d: last order %" PRId64 ", highest position %" PRId64
                ", in the latest records %" PRId64 "\n",
                p, last[p], seen[p], latest[p]);
        assert_int_equal(seen[p], last[p]);
        assert_int_equal(latest[p], last[p]);
    }
}

/* "776.07" in cents. */
static long long cl_cents(const char *v) {
    long long units = 0, frac = 0;
    int digits = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9'; p++)
        units = units * 10 + (*p - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9' && digits < 2; p++, digits++)
            frac = frac * 10 + (*p - '0');
    for (; digits < 2; digits++)
        frac *= 10;
    return units * 100 + frac;
}

/* One golden row against the restored store; 1 when it matches. */
static int cl_row_ok(store *s, char *line) {
    char *id = strtok(line, ",");
    char *rec = strtok(NULL, ","), *freq = strtok(NULL, ","), *mon = strtok(NULL, ",");
    if (!id || !rec || !freq || !mon)
        return 0;
    store_customer *c = store_get(s, id, strlen(id));
    if (!c)
        return 0;
    long long cents = cl_cents(mon);
    return c->frequency == (uint32_t)atoll(freq) && c->monetary_cents == cents &&
           score_recency_days(CL_AS_OF, c->last_ts) == atoll(rec);
}

static void test_changelog_restores_flo(void **state) {
    harness *hp = *state;
    cl_run(hp, "changelog:\n  enabled: true\n");
    assert_true(harness_log_contains(hp, "cleanup.policy of " CL_TOPIC " is not checked"));

    hreader *orders = hreader_open(hp, HARNESS_ORDERS, CL_PARTS);
    hreader_drain(orders, 30000);
    assert_int_equal(orders->n, FLO_ORDERS);
    hreader *cl = hreader_open(hp, CL_TOPIC, CL_PARTS);
    hreader_drain(cl, 30000);
    fprintf(stderr, "%zu changelog records\n", cl->n);
    assert_true(cl->n >= FLO_ORDERS); /* one per applied order, at least once */
    /* A record per order, then a rescore's (one per customer whose segment
     * it changed: the first one changes everyone's). */
    assert_true(cl->n >= FLO_ORDERS + FLO_CUSTOMERS);

    cl_check_partitions(orders, cl);
    cl_check_positions(orders, cl);

    /* Latest per key: records of one key share a partition, which is read
     * in offset order, so applying them all in order leaves the latest. */
    store *s = store_new();
    assert_non_null(s);
    char err[256];
    for (size_t i = 0; i < cl->n; i++) {
        const hmsg *m = &cl->msgs[i];
        changelog_result r =
            changelog_apply(s, m->key, m->key_len, m->value, m->len, NULL, err, sizeof err);
        if (r != CHANGELOG_APPLIED)
            fail_msg("record %zu: %d: %s", i, (int)r, err);
    }
    assert_int_equal(store_count(s), FLO_CUSTOMERS);
    uint64_t total = 0;
    for (size_t i = 0; i < store_count(s); i++)
        total += store_at(s, i)->frequency;
    assert_int_equal(total, FLO_ORDERS);

    char path[512];
    FILE *f = fopen(flo_golden_path(path, sizeof path), "r");
    assert_non_null(f);
    char line[512];
    size_t rows = 0, bad = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char copy[512];
        snprintf(copy, sizeof copy, "%s", line);
        rows++;
        if (!cl_row_ok(s, line) && bad++ < 5)
            fprintf(stderr, "mismatch: %s\n", copy);
    }
    fclose(f);
    assert_int_equal(rows, FLO_CUSTOMERS);
    assert_int_equal(bad, 0);
    store_free(s);
    hreader_close(cl);
    hreader_close(orders);
}

static void test_changelog_off_by_default(void **state) {
    harness *hp = *state;
    cl_run(hp, NULL);
    hreader *cl = hreader_open(hp, CL_TOPIC, CL_PARTS);
    hreader_drain(cl, 10000);
    assert_int_equal(cl->n, 0);
    assert_true(harness_log_contains(hp, "changelog off"));
    hreader_close(cl);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changelog_restores_flo, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_changelog_off_by_default, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
