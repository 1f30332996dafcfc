/*
 * tasks: the owned partitions' table (src/rfmd/tasks.h) — one store per
 * partition, states, uids that tell a later task of a partition from an
 * earlier one, and the running-only views scoring and HTTP read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rfmd/tasks.h"

/* A store with n customers named <prefix><i>. */
static store *store_of(const char *prefix, int n) {
    store *s = store_new();
    assert_non_null(s);
    for (int i = 0; i < n; i++) {
        char id[32];
        int len = snprintf(id, sizeof id, "%s%d", prefix, i);
        bool created;
        store_customer *c = store_upsert(s, id, (size_t)len, &created);
        assert_non_null(c);
        assert_true(created);
        c->frequency = 1;
    }
    return s;
}

static void test_add_get_remove(void **state) {
    (void)state;
    tasks *t = tasks_new();
    assert_non_null(t);
    assert_null(tasks_get(t, 0));
    task *a = tasks_add(t, 3, store_of("a", 5));
    task *b = tasks_add(t, 0, store_of("b", 2));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->partition, 3);
    assert_int_equal(a->state, TASK_RESTORING);
    assert_int_equal(a->ckpt_applied, -1);
    assert_int_equal(a->changelog_from, -1);
    assert_ptr_equal(tasks_get(t, 3), a);
    assert_ptr_equal(tasks_get(t, 0), b);
    assert_null(tasks_get(t, 1));
    assert_null(tasks_get(t, 4));
    assert_null(tasks_get(t, -1));
    assert_int_equal(tasks_count(t), 2);
    /* A partition has one task at most; the store given is freed. */
    assert_null(tasks_add(t, 3, store_of("c", 1)));
    assert_null(tasks_add(t, -1, store_of("c", 1)));
    assert_null(tasks_add(t, TASKS_MAX_PARTITION + 1, store_of("c", 1)));
    assert_int_equal(tasks_count(t), 2);
    tasks_remove(t, 3);
    assert_null(tasks_get(t, 3));
    assert_int_equal(tasks_count(t), 1);
    tasks_remove(t, 3); /* no-op */
    assert_int_equal(tasks_count(t), 1);
    tasks_free(t);
}

static void test_uid_tells_tasks_apart(void **state) {
    (void)state;
    tasks *t = tasks_new();
    task *a = tasks_add(t, 2, store_new());
    uint32_t first = a->uid;
    tasks_remove(t, 2);
    task *b = tasks_add(t, 2, store_new());
    assert_non_null(b);
    assert_int_not_equal(b->uid, first);
    tasks_free(t);
}

static void test_running_views(void **state) {
    (void)state;
    tasks *t = tasks_new();
    task *a = tasks_add(t, 5, store_of("a", 4));
    task *b = tasks_add(t, 1, store_of("b", 3));
    task *c = tasks_add(t, 9, store_of("c", 7));
    assert_int_equal(tasks_running(t), 0);
    assert_int_equal(tasks_customers(t), 0); /* restoring stores are not counted */
    a->state = TASK_RUNNING;
    c->state = TASK_RUNNING;
    assert_int_equal(tasks_running(t), 2);
    assert_int_equal(tasks_customers(t), 11);
    assert_true(tasks_memory(t) > 0);
    const store *out[4];
    assert_int_equal(tasks_stores(t, out, 4), 2);
    assert_ptr_equal(out[0], a->store); /* partition order: 5 before 9 */
    assert_ptr_equal(out[1], c->store);
    /* Too small a buffer: the count still says how many there are. */
    const store *one[1];
    assert_int_equal(tasks_stores(t, one, 1), 2);
    assert_ptr_equal(one[0], a->store);
    /* Iteration: every task, in partition order, whatever its state. */
    size_t i = 0;
    int32_t seen[3];
    int n = 0;
    for (task *k; (k = tasks_next(t, &i));)
        seen[n++] = k->partition;
    assert_int_equal(n, 3);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 5);
    assert_int_equal(seen[2], 9);
    (void)b;
    tasks_free(t);
}

/* A suspended task (eager rebalance) is nobody's: counted apart, and in
 * none of the views that score, publish or serve. */
static void test_suspended_views(void **state) {
    (void)state;
    tasks *t = tasks_new();
    task *a = tasks_add(t, 0, store_of("a", 4));
    task *b = tasks_add(t, 1, store_of("b", 3));
    a->state = TASK_RUNNING;
    b->state = TASK_SUSPENDED;
    assert_int_equal(tasks_count(t), 2);
    assert_int_equal(tasks_running(t), 1);
    assert_int_equal(tasks_suspended(t), 1);
    assert_int_equal(tasks_restored(t), 2);
    assert_int_equal(tasks_customers(t), 4);
    const store *out[2];
    assert_int_equal(tasks_stores(t, out, 2), 1);
    assert_ptr_equal(out[0], a->store);
    b->state = TASK_RUNNING; /* assigned back */
    assert_int_equal(tasks_suspended(t), 0);
    assert_int_equal(tasks_customers(t), 7);
    tasks_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_get_remove),
        cmocka_unit_test(test_uid_tells_tasks_apart),
        cmocka_unit_test(test_running_views),
        cmocka_unit_test(test_suspended_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
