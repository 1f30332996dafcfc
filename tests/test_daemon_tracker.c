/*
 * tracker: the committable position is the oldest input message whose
 * effects are not all delivered, whatever order deliveries complete in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfmd/tracker.h"

typedef struct seen {
    int n;
    int64_t offset[8];
    int32_t partition[8];
} seen;

static void collect(void *ctx, const char *topic, int32_t partition, int64_t offset) {
    seen *s = ctx;
    assert_string_equal(topic, "orders");
    s->partition[s->n] = partition;
    s->offset[s->n++] = offset;
}

static int64_t committable(tracker *t, int slot) {
    tracker_partition_info info;
    tracker_info(t, (size_t)slot, &info);
    return info.committable;
}

static void test_out_of_order_deliveries(void **state) {
    (void)state;
    tracker *t = tracker_new();
    int s = tracker_slot(t, "orders", 3);
    assert_int_equal(s, 0);
    assert_int_equal(tracker_slot(t, "orders", 3), s);
    tracker_set_assigned(t, s, true);
    assert_int_equal(committable(t, s), TRACKER_OFFSET_NONE);

    /* 10: two events; 11: one; 12: none. */
    assert_int_equal(tracker_begin(t, s, 10), 0);
    tracker_ref *a = tracker_ref_take(t, s, 10), *b = tracker_ref_take(t, s, 10);
    tracker_end(t, s, 10);
    assert_int_equal(tracker_begin(t, s, 11), 0);
    tracker_ref *c = tracker_ref_take(t, s, 11);
    tracker_end(t, s, 11);
    assert_int_equal(tracker_begin(t, s, 12), 0);
    tracker_end(t, s, 12);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(tracker_pending(t), 3);

    tracker_partition_info info;
    tracker_info(t, (size_t)s, &info);
    assert_int_equal(info.applied, 13);
    assert_int_equal(info.committable, 10);

    tracker_ref_done(t, c, true);
    assert_int_equal(committable(t, s), 10);
    tracker_ref_done(t, a, true);
    assert_int_equal(committable(t, s), 10);
    tracker_ref_done(t, b, true);
    assert_int_equal(committable(t, s), 13);
    assert_int_equal(tracker_pending(t), 0);

    seen got = {0};
    assert_int_equal(tracker_commit_candidates(t, false, collect, &got), 1);
    assert_int_equal(got.offset[0], 13);
    assert_int_equal(got.partition[0], 3);
    tracker_set_committed(t, "orders", 3, 13);
    memset(&got, 0, sizeof got);
    assert_int_equal(tracker_commit_candidates(t, false, collect, &got), 0);

    /* Revoked partitions are not committed unless asked. */
    assert_int_equal(tracker_begin(t, s, 13), 0);
    tracker_end(t, s, 13);
    tracker_set_assigned(t, s, false);
    assert_int_equal(tracker_commit_candidates(t, false, collect, &got), 0);
    assert_int_equal(tracker_commit_candidates(t, true, collect, &got), 1);
    assert_int_equal(got.offset[0], 14);
    tracker_free(t);
}

static void test_global_refs_hold_all_commits(void **state) {
    (void)state;
    tracker *t = tracker_new();
    int s0 = tracker_slot(t, "orders", 0), s1 = tracker_slot(t, "orders", 1);
    tracker_set_assigned(t, s0, true);
    tracker_set_assigned(t, s1, true);
    tracker_begin(t, s0, 5);
    tracker_end(t, s0, 5);
    tracker_begin(t, s1, 7);
    tracker_end(t, s1, 7);
    tracker_ref *g = tracker_ref_global(t);
    seen got = {0};
    assert_int_equal(tracker_commit_candidates(t, false, collect, &got), 0);
    tracker_ref_done(t, g, true);
    assert_int_equal(tracker_commit_candidates(t, false, collect, &got), 2);
    tracker_free(t);
}

static void test_failed_delivery_blocks_partition(void **state) {
    (void)state;
    tracker *t = tracker_new();
    int s = tracker_slot(t, "orders", 0);
    tracker_set_assigned(t, s, true);
    tracker_begin(t, s, 0);
    tracker_end(t, s, 0);
    tracker_begin(t, s, 1);
    tracker_ref *r = tracker_ref_take(t, s, 1);
    tracker_end(t, s, 1);
    tracker_begin(t, s, 2);
    tracker_end(t, s, 2);
    tracker_ref_done(t, r, false);
    assert_int_equal(tracker_pending(t), 0);
    assert_int_equal(committable(t, s), 1);
    tracker_ref *g = tracker_ref_global(t);
    tracker_ref_done(t, g, false);
    assert_int_equal(committable(t, s), TRACKER_OFFSET_NONE);
    tracker_free(t);
}

static void test_eof_restore_and_resume(void **state) {
    (void)state;
    tracker *t = tracker_new();
    assert_false(tracker_all_eof(t)); /* nothing assigned is not "done" */
    assert_int_equal(tracker_restore(t, "orders", 1, 500, 500), 0);
    int s0 = tracker_slot(t, "orders", 0), s1 = tracker_slot(t, "orders", 1);
    assert_int_equal(tracker_resume_offset(t, s0), TRACKER_OFFSET_NONE);
    assert_int_equal(tracker_resume_offset(t, s1), 500);
    tracker_set_assigned(t, s0, true);
    tracker_set_assigned(t, s1, true);
    tracker_set_eof(t, s0);
    assert_false(tracker_all_eof(t));
    tracker_set_eof(t, s1);
    assert_true(tracker_all_eof(t));
    tracker_begin(t, s0, 0); /* a new message: no longer caught up */
    tracker_end(t, s0, 0);
    assert_false(tracker_all_eof(t));
    tracker_set_eof(t, s0);
    assert_true(tracker_all_eof(t));
    tracker_set_assigned(t, s1, true); /* re-assignment clears EOF */
    assert_false(tracker_all_eof(t));
    tracker_free(t);
}

static int64_t unsettled(tracker *t, int slot) {
    tracker_partition_info pi;
    tracker_info(t, (size_t)slot, &pi);
    return pi.unsettled;
}

/* A snapshot taken with effects in flight records where they start; restored,
 * consumption resumes there, those messages count as already in the state
 * until `applied`, and the range is carried by any snapshot taken before it
 * is re-read. */
static void test_redo_range(void **state) {
    (void)state;
    tracker *t = tracker_new();
    int s = tracker_slot(t, "orders", 0);
    for (int64_t o = 10; o < 13; o++)
        tracker_begin(t, s, o);
    tracker_ref *r10 = tracker_ref_take(t, s, 10), *r12 = tracker_ref_take(t, s, 12);
    for (int64_t o = 10; o < 13; o++)
        tracker_end(t, s, o);
    assert_int_equal(unsettled(t, s), 10);
    tracker_ref_done(t, r10, true);
    assert_int_equal(unsettled(t, s), 12);
    tracker_ref_done(t, r12, true);
    assert_int_equal(unsettled(t, s), 13); /* all settled: == applied */
    tracker_free(t);

    t = tracker_new();
    assert_int_equal(tracker_restore(t, "orders", 0, 13, 10), 0);
    s = tracker_slot(t, "orders", 0);
    assert_int_equal(tracker_resume_offset(t, s), 10);
    assert_int_equal(unsettled(t, s), 10); /* a snapshot now keeps the range */
    assert_true(tracker_in_state(t, s, 10));
    assert_true(tracker_in_state(t, s, 12));
    assert_false(tracker_in_state(t, s, 13));
    for (int64_t o = 10; o < 13; o++) {
        tracker_begin(t, s, o);
        tracker_end(t, s, o);
    }
    assert_int_equal(unsettled(t, s), 13);
    assert_int_equal(tracker_resume_offset(t, s), 13); /* range consumed */
    tracker_free(t);
}

static void test_backward_offsets(void **state) {
    (void)state;
    tracker *t = tracker_new();
    int s = tracker_slot(t, "orders", 0);
    tracker_begin(t, s, 20);
    tracker_ref *a = tracker_ref_take(t, s, 20);
    tracker_end(t, s, 20);
    /* Re-assigned at an older committed offset. */
    tracker_begin(t, s, 15);
    tracker_ref *b = tracker_ref_take(t, s, 15);
    tracker_end(t, s, 15);
    tracker_partition_info info;
    tracker_info(t, (size_t)s, &info);
    assert_int_equal(info.applied, 21);
    assert_int_equal(info.committable, 15);
    tracker_ref_done(t, b, true);
    assert_int_equal(committable(t, s), 20);
    tracker_ref_done(t, a, true);
    assert_int_equal(committable(t, s), 21);
    tracker_free(t);
}

/* Many messages, deliveries in shuffled order: committable is always the
 * smallest offset still pending. */
static void test_many_shuffled(void **state) {
    (void)state;
    enum { N = 20000 };
    tracker *t = tracker_new();
    int s = tracker_slot(t, "orders", 0);
    tracker_ref **refs = calloc(N, sizeof *refs);
    int64_t *off = calloc(N, sizeof *off);
    unsigned char *done = calloc(N, 1);
    assert_non_null(refs);
    for (int i = 0; i < N; i++) {
        assert_int_equal(tracker_begin(t, s, i), 0);
        refs[i] = tracker_ref_take(t, s, i);
        off[i] = i;
        tracker_end(t, s, i);
    }
    srand(42);
    for (int i = N - 1; i > 0; i--) {
        int j = rand() % (i + 1);
        tracker_ref *tr = refs[i];
        refs[i] = refs[j];
        refs[j] = tr;
        int64_t to = off[i];
        off[i] = off[j];
        off[j] = to;
    }
    int64_t lowest = 0;
    for (int i = 0; i < N; i++) {
        tracker_ref_done(t, refs[i], true);
        done[off[i]] = 1;
        while (lowest < N && done[lowest])
            lowest++;
        if (i % 97 == 0 || i == N - 1)
            assert_int_equal(committable(t, s), lowest);
    }
    assert_int_equal(committable(t, s), N);
    free(refs);
    free(off);
    free(done);
    tracker_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_deliveries),
        cmocka_unit_test(test_global_refs_hold_all_commits),
        cmocka_unit_test(test_failed_delivery_blocks_partition),
        cmocka_unit_test(test_eof_restore_and_resume),
        cmocka_unit_test(test_redo_range),
        cmocka_unit_test(test_backward_offsets),
        cmocka_unit_test(test_many_shuffled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
