/*
 * loop: the daemon's timers and its one wait (src/rfmd/loop.h).
 *
 * Timer order, periods and re-arming run on a fake clock the test moves by
 * hand, so they are exact. The wait is real (poll on a pipe), measured with
 * the monotonic clock, with bounds wide enough for a loaded machine: a wait
 * may end late by scheduling, never early and never for want of a wake-up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rfmd/loop.h"
#include "util/clock.h"

/* ---- a fake clock and a journal of runs ----------------------------------- */

static int64_t fake_now;

static int64_t fake_clock(void *ctx) {
    (void)ctx;
    return fake_now;
}

typedef struct journal {
    loop *l;
    char runs[64]; /* one letter per run, in order */
    int n;
    int64_t at[64];   /* fake time of each run */
    int64_t cost;     /* fake ms each job takes */
    int rearm_id;     /* the job of this timer re-arms itself ... */
    int64_t rearm_ms; /* ... this far ahead */
    int fail_letter;
} journal;

typedef struct job {
    journal *j;
    char letter;
    int id;
} job;

static int job_run(void *ctx) {
    job *b = ctx;
    journal *j = b->j;
    j->at[j->n] = fake_now;
    j->runs[j->n++] = b->letter;
    fake_now += j->cost;
    if (b->id == j->rearm_id)
        loop_timer_rearm(j->l, b->id, j->rearm_ms);
    return b->letter == j->fail_letter ? -1 : 0;
}

static int add(journal *j, job *b, char letter, int64_t period) {
    b->j = j;
    b->letter = letter;
    b->id = loop_add_timer(j->l, "test", period, job_run, b);
    assert_true(b->id >= 0);
    return b->id;
}

static void journal_init(journal *j) {
    memset(j, 0, sizeof *j);
    fake_now = 1000;
    j->l = loop_new(fake_clock, NULL);
    assert_non_null(j->l);
    j->rearm_id = -1;
}

/* ---- timers --------------------------------------------------------------- */

static void test_deadline_order(void **state) {
    (void)state;
    journal j;
    journal_init(&j);
    job a, b, c;
    add(&j, &a, 'a', 30);
    add(&j, &b, 'b', 10);
    add(&j, &c, 'c', 20);
    assert_int_equal(loop_run_timers(j.l), 0);
    assert_int_equal(j.n, 0); /* nothing due yet */
    fake_now += 100;          /* all three overdue: earliest deadline first */
    assert_int_equal(loop_run_timers(j.l), 0);
    j.runs[j.n] = '\0';
    assert_string_equal(j.runs, "bca");
    /* A tie goes to the timer added first. */
    loop_timer_fire_now(j.l, c.id);
    loop_timer_fire_now(j.l, a.id);
    assert_int_equal(loop_run_timers(j.l), 0);
    j.runs[j.n] = '\0';
    assert_string_equal(j.runs, "bcaac");
    loop_free(j.l);
}

static void test_period(void **state) {
    (void)state;
    journal j;
    journal_init(&j);
    job a;
    add(&j, &a, 'a', 10);
    assert_int_equal(loop_timer_due(j.l, a.id), 1010);
    for (int64_t t = 1000; t <= 1050; t++) {
        fake_now = t;
        assert_int_equal(loop_run_timers(j.l), 0);
    }
    assert_int_equal(j.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(j.at[i], 1010 + 10 * i);
    /* The next run is one period after the job *returned*. */
    j.cost = 4;
    fake_now = 1060;
    assert_int_equal(loop_run_timers(j.l), 0);
    assert_int_equal(loop_timer_due(j.l, a.id), 1074);
    /* A new period counts from now. */
    fake_now = 1065;
    loop_timer_set_period(j.l, a.id, 100);
    assert_int_equal(loop_timer_due(j.l, a.id), 1165);
    loop_free(j.l);
}

static void test_rearm(void **state) {
    (void)state;
    journal j;
    journal_init(&j);
    job a, b;
    add(&j, &a, 'a', 1000);
    add(&j, &b, 'b', 1000);
    /* From outside: sooner, once; the period stays. */
    loop_timer_rearm(j.l, a.id, 5);
    assert_int_equal(loop_timer_due(j.l, a.id), 1005);
    fake_now = 1005;
    assert_int_equal(loop_run_timers(j.l), 0);
    assert_int_equal(j.n, 1);
    assert_int_equal(loop_timer_due(j.l, a.id), 2005);
    /* From its own job: the job's deadline wins over the period. */
    j.rearm_id = b.id;
    j.rearm_ms = 50;
    fake_now = 2000;
    assert_int_equal(loop_run_timers(j.l), 0);
    assert_int_equal(loop_timer_due(j.l, b.id), 2050);
    /* Re-armed for "now" by its own job, it still runs once per pass (a,
     * due at 2005, runs first). */
    j.rearm_ms = 0;
    fake_now = 2050;
    j.n = 0;
    assert_int_equal(loop_run_timers(j.l), 0);
    j.runs[j.n] = '\0';
    assert_string_equal(j.runs, "ab");
    assert_int_equal(loop_timer_due(j.l, b.id), 2050);
    loop_free(j.l);
}

static void test_failure_stops_the_pass(void **state) {
    (void)state;
    journal j;
    journal_init(&j);
    job a, b;
    add(&j, &a, 'a', 10);
    add(&j, &b, 'b', 20);
    j.fail_letter = 'a';
    fake_now = 1100;
    assert_int_equal(loop_run_timers(j.l), -1);
    assert_int_equal(j.n, 1); /* b waits for the next pass */
    j.fail_letter = 0;
    assert_int_equal(loop_run_timers(j.l), 0);
    j.runs[j.n] = '\0';
    assert_string_equal(j.runs, "ab");
    assert_int_equal(loop_add_timer(j.l, "bad", 0, job_run, &a), -1);
    loop_free(j.l);
}

/* ---- the wait ------------------------------------------------------------- */

static int never(void *ctx) {
    (void)ctx;
    return 0;
}

typedef struct readable {
    int calls;
    int fd;
} readable;

static void on_readable(void *ctx, int fd) {
    readable *r = ctx;
    char buf[16];
    r->calls++;
    r->fd = fd;
    while (read(fd, buf, sizeof buf) == (ssize_t)sizeof buf)
        ;
}

static void test_fd_ends_the_wait(void **state) {
    (void)state;
    loop *l = loop_new(NULL, NULL);
    assert_non_null(l);
    assert_true(loop_add_timer(l, "far", 5000, never, NULL) >= 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    readable r = {0, -1};
    int id = loop_add_fd(l, "pipe", p[0], on_readable, &r);
    assert_true(id >= 0);

    /* Nothing to read: the cap ends the wait, no handler runs. */
    int64_t t0 = clock_mono_ms();
    assert_int_equal(loop_wait(l, 30), 0);
    int64_t took = clock_mono_ms() - t0;
    assert_true(took >= 29);
    assert_int_equal(r.calls, 0);

    /* A readable descriptor ends a wait that could last 5 s at once. */
    assert_int_equal(write(p[1], "x", 1), 1);
    t0 = clock_mono_ms();
    assert_int_equal(loop_wait(l, -1), 1);
    took = clock_mono_ms() - t0;
    assert_true(took < 1000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.fd, p[0]);

    /* Removed, it no longer ends the wait. */
    loop_remove_fd(l, id);
    assert_int_equal(write(p[1], "y", 1), 1);
    assert_int_equal(loop_wait(l, 20), 0);
    assert_int_equal(r.calls, 1);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

static void test_wait_ends_at_the_nearest_deadline(void **state) {
    (void)state;
    loop *l = loop_new(NULL, NULL);
    assert_non_null(l);
    assert_true(loop_add_timer(l, "far", 10000, never, NULL) >= 0);
    int near = loop_add_timer(l, "near", 80, never, NULL);
    assert_true(near >= 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    readable r = {0, -1};
    assert_true(loop_add_fd(l, "pipe", p[0], on_readable, &r) >= 0);

    /* No cap of its own: the 80 ms timer ends it, not the 10 s one. */
    int64_t t0 = clock_mono_ms();
    loop_wait(l, -1);
    int64_t took = clock_mono_ms() - t0;
    assert_true(took >= 75);
    assert_true(took < 2000);
    assert_true(clock_mono_ms() >= loop_timer_due(l, near));

    /* Overdue: it does not wait at all, even with a large cap. */
    t0 = clock_mono_ms();
    loop_wait(l, 5000);
    assert_true(clock_mono_ms() - t0 < 1000);

    /* A cap below the deadline wins. */
    loop_timer_rearm(l, near, 5000);
    t0 = clock_mono_ms();
    loop_wait(l, 20);
    took = clock_mono_ms() - t0;
    assert_true(took >= 19);
    assert_true(took < 2000);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_order),
        cmocka_unit_test(test_period),
        cmocka_unit_test(test_rearm),
        cmocka_unit_test(test_failure_stops_the_pass),
        cmocka_unit_test(test_fd_ends_the_wait),
        cmocka_unit_test(test_wait_ends_at_the_nearest_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
