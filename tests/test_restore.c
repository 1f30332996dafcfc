/*
 * restore: changelog partitions read back, in slices, from a librdkafka
 * mock cluster over TCP. Each test gets a fresh cluster with a 3-partition
 * changelog topic: partition 0 holds 40 records, partition 1 holds 25,
 * partition 2 none. Records carry the rfmd-input-offset header, a malformed
 * one, or none, and some are tombstones; the producer's delivery reports
 * give each its offset, so the tests compare against what Kafka stored.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "rfm/changelog.h"
#include "rfm/config.h"
#include "rfmd/restore.h"
#include "util/clock.h"

#define TOPIC    "restore-test-changelog"
#define NPARTS   3
#define MAXREC   64
#define WAIT_MS  15000
#define KEY_MAX  32
#define HDR_NONE NULL

static const int produced_count[NPARTS] = {40, 25, 0};

/* One record as produced. */
typedef struct rec {
    char key[KEY_MAX];
    char val[KEY_MAX]; /* "" = tombstone */
    const char *hdr;   /* header value, HDR_NONE = no header */
    int64_t input;     /* what restore must report for hdr */
    int64_t offset;    /* from the delivery report */
} rec;

/* One record as handed over. */
typedef struct got {
    int32_t partition;
    int64_t offset;
    char key[KEY_MAX];
    char val[KEY_MAX];
    bool tombstone;
    int64_t input;
} got;

typedef struct fixture {
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *prod;
    config cfg;
    restore *r;
    rec recs[NPARTS][MAXREC];
    int nrecs[NPARTS];
    /* what the callbacks saw */
    got seen[3 * MAXREC];
    int nseen;
    int32_t done_part[8];
    int64_t done_end[8];
    int ndone;
    int stop_at; /* the record callback returns -1 on this record (1-based), 0 never */
} fixture;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    rec *r = m->_private;
    assert_int_equal(m->err, RD_KAFKA_RESP_ERR_NO_ERROR);
    r->offset = m->offset;
}

/* Headers cycle through: none, a valid offset, malformed ones. */
static const char *const hdr_values[] = {HDR_NONE, NULL /* valid: built */, "12x", "-5",
                                         "",       "99999999999999999999"};

static void produce(fixture *f, int32_t p, int n) {
    for (int k = 0; k < n; k++) {
        int i = f->nrecs[p]++;
        assert_true(i < MAXREC);
        rec *r = &f->recs[p][i];
        snprintf(r->key, sizeof r->key, "cust-%d-%d", (int)p, i);
        if (i % 5 == 3)
            r->val[0] = '\0'; /* tombstone */
        else
            snprintf(r->val, sizeof r->val, "state-%d-%d", (int)p, i);
        static char valid[NPARTS][MAXREC][24];
        size_t h = (size_t)i % (sizeof hdr_values / sizeof hdr_values[0]);
        r->input = -1;
        r->hdr = hdr_values[h];
        if (h == 1) {
            r->input = 1000 * (p + 1) + 7 * i;
            snprintf(valid[p][i], sizeof valid[p][i], "%lld", (long long)r->input);
            r->hdr = valid[p][i];
        }
        r->offset = -1;
        rd_kafka_headers_t *hs = rd_kafka_headers_new(1);
        if (r->hdr)
            rd_kafka_header_add(hs, CHANGELOG_INPUT_OFFSET_HEADER, -1, r->hdr, strlen(r->hdr));
        rd_kafka_resp_err_t e =
            rd_kafka_producev(f->prod, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(p),
                              RD_KAFKA_V_KEY(r->key, strlen(r->key)),
                              RD_KAFKA_V_VALUE(r->val[0] ? r->val : NULL, strlen(r->val)),
                              RD_KAFKA_V_HEADERS(hs), RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(f->prod, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int i = 0; i < f->nrecs[p]; i++)
        assert_int_equal(f->recs[p][i].offset, i); /* one producer: no gaps */
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[512];
    f->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
    assert_non_null(f->mock_rk);
    f->mc = rd_kafka_mock_cluster_new(f->mock_rk, 1);
    assert_non_null(f->mc);
    assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, NPARTS, 1), 0);
    const char *bs = rd_kafka_mock_cluster_bootstraps(f->mc);

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(pc, "bootstrap.servers", bs, err, sizeof err), 0);
    assert_int_equal(rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof err), 0);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    f->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    assert_non_null(f->prod);
    for (int32_t p = 0; p < NPARTS; p++)
        produce(f, p, produced_count[p]);

    assert_int_equal(config_defaults(&f->cfg), 0);
    free(f->cfg.changelog.topic);
    f->cfg.changelog.topic = strdup(TOPIC);
    assert_non_null(f->cfg.changelog.topic);
    f->r = restore_new(&f->cfg, bs, err, sizeof err);
    if (!f->r)
        fail_msg("restore_new: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    restore_free(f->r);
    config_free(&f->cfg);
    rd_kafka_destroy(f->prod);
    rd_kafka_mock_cluster_destroy(f->mc);
    rd_kafka_destroy(f->mock_rk);
    free(f);
    return 0;
}

static int on_record(void *ctx, int32_t partition, int64_t offset, const void *key, size_t klen,
                     const void *val, size_t len, int64_t input_offset) {
    fixture *f = ctx;
    assert_true(f->nseen < (int)(sizeof f->seen / sizeof f->seen[0]));
    got *g = &f->seen[f->nseen++];
    g->partition = partition;
    g->offset = offset;
    assert_true(klen > 0 && klen < KEY_MAX);
    memcpy(g->key, key, klen);
    g->key[klen] = '\0';
    g->tombstone = val == NULL;
    assert_true(val ? len > 0 : len == 0);
    assert_true(len < KEY_MAX);
    if (val)
        memcpy(g->val, val, len);
    g->val[len] = '\0';
    g->input = input_offset;
    return f->stop_at && f->nseen == f->stop_at ? -1 : 0;
}

static void on_done(void *ctx, int32_t partition, int64_t end) {
    fixture *f = ctx;
    assert_true(f->ndone < 8);
    f->done_part[f->ndone] = partition;
    f->done_end[f->ndone++] = end;
}

/* Poll (sleeping on the wake-up descriptor) until nothing restores. */
static void drain(fixture *f, size_t max) {
    int fd = restore_wake_fd(f->r);
    assert_true(fd >= 0);
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    for (;;) {
        restore_wake_clear(f->r);
        int n = restore_poll(f->r, max, on_record, on_done, f);
        assert_true(n >= 0);
        if (n == 0)
            return;
        if (clock_mono_ms() > deadline)
            fail_msg("restore not done within %d ms (%d partitions left)", WAIT_MS, n);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, 100);
    }
}

/* seen[from..] holds partition p's records [lo, hi) as produced, in order. */
static int check_records(const fixture *f, int from, int32_t p, int lo, int hi) {
    int at = from;
    for (int i = lo; i < hi; i++) {
        while (at < f->nseen && f->seen[at].partition != p)
            at++;
        if (at >= f->nseen)
            fail_msg("partition %d: record %d of [%d,%d) missing", (int)p, i, lo, hi);
        const got *g = &f->seen[at++];
        const rec *r = &f->recs[p][i];
        assert_int_equal(g->offset, r->offset);
        assert_string_equal(g->key, r->key);
        assert_int_equal(g->tombstone, r->val[0] == '\0');
        assert_string_equal(g->val, r->val);
        assert_int_equal(g->input, r->input);
    }
    int extra = 0;
    for (; at < f->nseen; at++)
        extra += f->seen[at].partition == p;
    assert_int_equal(extra, 0);
    return hi - lo;
}

static int count_of(const fixture *f, int32_t p) {
    int n = 0;
    for (int i = 0; i < f->nseen; i++)
        n += f->seen[i].partition == p;
    return n;
}

static void test_from_beginning(void **state) {
    fixture *f = *state;
    char err[256];
    int fd = restore_wake_fd(f->r);
    assert_true(fd >= 0);
    assert_int_equal(restore_active(f->r), 0);
    assert_int_equal(restore_begin(f->r, 0, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    assert_int_equal(restore_active(f->r), 1);
    restore_progress pg;
    assert_true(restore_get_progress(f->r, 0, &pg));
    assert_int_equal(pg.from, 0);
    assert_int_equal(pg.position, 0);
    assert_int_equal(pg.end, 40);
    assert_int_equal(pg.records, 0);
    assert_false(pg.reset);
    assert_false(restore_get_progress(f->r, 1, &pg));
    /* Twice: refused, the first one goes on. */
    err[0] = '\0';
    assert_int_equal(restore_begin(f->r, 0, 5, err, sizeof err), -1);
    assert_non_null(strstr(err, "already being restored"));
    assert_int_equal(restore_begin(f->r, 1, -5, err, sizeof err), -1);
    assert_int_equal(restore_active(f->r), 1);

    /* The wake-up descriptor turns readable once records arrive. */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
    drain(f, 1000);
    assert_int_equal(f->nseen, 40);
    check_records(f, 0, 0, 0, 40);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done_part[0], 0);
    assert_int_equal(f->done_end[0], 40);
    assert_false(restore_get_progress(f->r, 0, &pg));
    assert_int_equal(restore_active(f->r), 0);
    /* The headers: at least one of each kind was checked above. */
    int valid = 0, none = 0;
    for (int i = 0; i < 40; i++)
        valid += f->recs[0][i].input >= 0, none += f->recs[0][i].input < 0;
    assert_true(valid > 0 && none > 0);
}

static void test_from_middle(void **state) {
    fixture *f = *state;
    char err[256];
    assert_int_equal(restore_begin(f->r, 0, 17, err, sizeof err), 0);
    restore_progress pg;
    assert_true(restore_get_progress(f->r, 0, &pg));
    assert_int_equal(pg.from, 17);
    assert_int_equal(pg.position, 17);
    assert_int_equal(pg.end, 40);
    assert_false(pg.reset);
    drain(f, 1000);
    assert_int_equal(f->nseen, 23);
    check_records(f, 0, 0, 17, 40);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done_end[0], 40);
}

static void test_at_end_done_at_once(void **state) {
    fixture *f = *state;
    char err[256];
    assert_int_equal(restore_begin(f->r, 0, 40, err, sizeof err), 0);
    assert_int_equal(restore_begin(f->r, 2, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    restore_progress pg;
    assert_true(restore_get_progress(f->r, 0, &pg));
    assert_int_equal(pg.end, 40);
    assert_int_equal(pg.position, 40);
    assert_false(pg.reset);
    assert_true(restore_get_progress(f->r, 2, &pg));
    assert_int_equal(pg.end, 0);
    assert_int_equal(restore_active(f->r), 2);
    /* The very next poll reports both, without a record. */
    assert_int_equal(restore_poll(f->r, 100, on_record, on_done, f), 0);
    assert_int_equal(f->nseen, 0);
    assert_int_equal(f->ndone, 2);
    assert_int_equal(f->done_part[0], 0);
    assert_int_equal(f->done_end[0], 40);
    assert_int_equal(f->done_part[1], 2);
    assert_int_equal(f->done_end[1], 0);
    assert_int_equal(restore_active(f->r), 0);
    /* Done once only. */
    assert_int_equal(restore_poll(f->r, 100, on_record, on_done, f), 0);
    assert_int_equal(f->ndone, 2);
}

static void test_slices_two_partitions(void **state) {
    fixture *f = *state;
    char err[256];
    assert_int_equal(restore_begin(f->r, 0, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    assert_int_equal(restore_begin(f->r, 1, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    /* max 0: nothing handed over, both still restoring. */
    assert_int_equal(restore_poll(f->r, 0, on_record, on_done, f), 2);
    assert_int_equal(f->nseen, 0);
    int slices = 0, first_done_at = -1;
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    int n;
    do {
        int before = f->nseen;
        n = restore_poll(f->r, 7, on_record, on_done, f);
        assert_true(n >= 0);
        assert_true(f->nseen - before <= 7);
        slices += f->nseen > before;
        if (f->ndone && first_done_at < 0)
            first_done_at = f->nseen;
        assert_true(clock_mono_ms() < deadline);
        if (n) {
            /* Neither is reported done before its last record came. */
            for (int i = 0; i < f->ndone; i++)
                assert_int_equal(count_of(f, f->done_part[i]), produced_count[f->done_part[i]]);
            poll(NULL, 0, f->nseen == before ? 10 : 0);
        }
    } while (n > 0);
    assert_int_equal(f->nseen, 65);
    assert_true(slices >= (65 + 6) / 7);
    check_records(f, 0, 0, 0, 40);
    check_records(f, 0, 1, 0, 25);
    assert_int_equal(f->ndone, 2);
    assert_true(f->done_part[0] != f->done_part[1]);
    for (int i = 0; i < 2; i++)
        assert_int_equal(f->done_end[i], produced_count[f->done_part[i]]);
    assert_true(first_done_at > 0);
}

static void test_cancel_midway(void **state) {
    fixture *f = *state;
    char err[256];
    assert_int_equal(restore_begin(f->r, 0, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    assert_int_equal(restore_begin(f->r, 1, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (count_of(f, 0) < 10) {
        /* 0 is not done before its 40th record; 1 may be. */
        assert_true(restore_poll(f->r, 3, on_record, on_done, f) >= 1);
        assert_true(clock_mono_ms() < deadline);
        poll(NULL, 0, 1);
    }
    int had = count_of(f, 0), at = f->nseen;
    assert_true(had < 40);
    restore_progress pg;
    assert_true(restore_get_progress(f->r, 0, &pg));
    assert_int_equal(pg.records, (uint64_t)had);
    assert_int_equal(pg.position, had);
    int active = restore_active(f->r);
    restore_cancel(f->r, 0);
    restore_cancel(f->r, 0); /* no-op */
    restore_cancel(f->r, 2); /* never begun: no-op */
    assert_false(restore_get_progress(f->r, 0, &pg));
    assert_int_equal(restore_active(f->r), active - 1);
    drain(f, 7);
    /* Nothing more of 0 (some were fetched already), all of 1, one done. */
    for (int i = at; i < f->nseen; i++)
        assert_int_equal(f->seen[i].partition, 1);
    check_records(f, 0, 1, 0, 25);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done_part[0], 1);

    /* Begun again: all of 0 from the start, in order, nothing left over
     * from the cancelled read. */
    at = f->nseen;
    assert_int_equal(restore_begin(f->r, 0, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    drain(f, 7);
    assert_int_equal(f->nseen - at, 40);
    check_records(f, at, 0, 0, 40);
    assert_int_equal(f->ndone, 2);
    assert_int_equal(f->done_part[1], 0);
}

static void test_beyond_end_resets(void **state) {
    fixture *f = *state;
    char err[256];
    assert_int_equal(restore_begin(f->r, 1, 1000, err, sizeof err), 0);
    restore_progress pg;
    assert_true(restore_get_progress(f->r, 1, &pg));
    assert_true(pg.reset);
    assert_int_equal(pg.from, 0);
    assert_int_equal(pg.position, 0);
    assert_int_equal(pg.end, 25);
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (f->nseen < 5) {
        assert_int_equal(restore_poll(f->r, 5, on_record, on_done, f), 1);
        assert_true(clock_mono_ms() < deadline);
        poll(NULL, 0, 1);
    }
    assert_true(restore_get_progress(f->r, 1, &pg));
    assert_true(pg.reset);
    assert_int_equal(pg.records, (uint64_t)f->nseen);
    drain(f, 1000);
    assert_int_equal(f->nseen, 25);
    check_records(f, 0, 1, 0, 25);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done_end[0], 25);
    /* One past the last offset is not out of range: the end, done at once. */
    assert_int_equal(restore_begin(f->r, 1, 25, err, sizeof err), 0);
    assert_true(restore_get_progress(f->r, 1, &pg));
    assert_false(pg.reset);
    assert_int_equal(restore_poll(f->r, 1000, on_record, on_done, f), 0);
    assert_int_equal(f->nseen, 25);
    assert_int_equal(f->ndone, 2);
}

static void test_end_fixed_at_begin(void **state) {
    fixture *f = *state;
    char err[256];
    assert_int_equal(restore_begin(f->r, 1, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    /* The daemon writes more after the restore began: delivered before the
     * first poll, so the fetch could see them. */
    produce(f, 1, 6);
    assert_int_equal(f->nrecs[1], 31);
    drain(f, 4);
    assert_int_equal(f->nseen, 25);
    check_records(f, 0, 1, 0, 25);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done_end[0], 25);
    /* A new restore sees them. */
    assert_int_equal(restore_begin(f->r, 1, 25, err, sizeof err), 0);
    drain(f, 4);
    assert_int_equal(f->nseen, 31);
    check_records(f, 25, 1, 25, 31);
    assert_int_equal(f->done_end[1], 31);
}

static void test_callback_stops(void **state) {
    fixture *f = *state;
    char err[256];
    assert_int_equal(restore_error(f->r)[0], '\0');
    assert_int_equal(restore_begin(f->r, 0, RESTORE_FROM_BEGINNING, err, sizeof err), 0);
    f->stop_at = 3;
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    int n;
    while ((n = restore_poll(f->r, 1000, on_record, on_done, f)) == 1) {
        assert_true(clock_mono_ms() < deadline);
        poll(NULL, 0, 1);
    }
    assert_int_equal(n, -1);
    assert_int_equal(f->nseen, 3);
    assert_non_null(strstr(restore_error(f->r), "callback"));
    restore_progress pg;
    assert_true(restore_get_progress(f->r, 0, &pg));
    assert_int_equal(pg.position, 3);
    assert_int_equal(pg.records, 3);
    /* The next poll goes on from the fourth record. */
    f->stop_at = 0;
    drain(f, 1000);
    assert_int_equal(f->nseen, 40);
    check_records(f, 0, 0, 0, 40);
    assert_int_equal(f->ndone, 1);
}

static void test_unknown_partition(void **state) {
    fixture *f = *state;
    char err[256] = "";
    assert_int_equal(restore_begin(f->r, 7, RESTORE_FROM_BEGINNING, err, sizeof err), -1);
    assert_non_null(strstr(err, "[7]"));
    assert_int_equal(restore_active(f->r), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_from_beginning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_end_done_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slices_two_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_beyond_end_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_fixed_at_begin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_partition, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
