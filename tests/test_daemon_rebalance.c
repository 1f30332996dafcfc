/*
 * A consumer-group rebalance in the middle of a replay: rfmd A consumes the
 * FLO orders; a second rfmd B (own snapshot directory) joins the group, takes
 * half the partitions and publishes events from its partial state, then
 * leaves (SIGTERM). A gets the partitions back, reads them on from its own
 * position, and — once caught up — publishes every customer again. At the end
 * every customer's last event, and A's snapshot, are exactly the seed's.
 * Run with the eager (default) and the cooperative protocol.
 *
 * usage: test_daemon_rebalance RFMD   (RFM_SHARED, RFM_SOURCE, RFM_BIN)
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

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/flo.h"
#include "daemon/harness.h"

static const char *rfmd_path;
static pid_t b_pid; /* the second rfmd, killed by teardown if a test fails */

static size_t count_in(const char *path, const char *what) {
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, what) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* Wait until `what` is in the log at path at least `times` times. */
static void wait_count(const char *path, const char *what, size_t times, int ms) {
    int64_t t0 = harness_now_ms();
    while (count_in(path, what) < times) {
        if (harness_now_ms() - t0 > ms)
            fail_msg("'%s' not %zu times in %s within %d ms", what, times, path, ms);
        harness_sleep_ms(50);
    }
}

static void wait_for(const char *path, const char *what, int ms) {
    wait_count(path, what, 1, ms);
}

/* B: the same configuration with its own snapshot directory. */
static pid_t spawn_b(harness *h, char *log, size_t loglen) {
    char conf[600], dir[600];
    snprintf(dir, sizeof dir, "%s/b", h->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(conf, sizeof conf, "%s/b.yaml", h->dir);
    snprintf(log, loglen, "%s/b.log", h->dir);
    FILE *in = fopen(h->conf_path, "r"), *out = fopen(conf, "w");
    assert_non_null(in);
    assert_non_null(out);
    char line[1024];
    while (fgets(line, sizeof line, in)) {
        if (strstr(line, "  dir: "))
            fprintf(out, "  dir: \"%s\"\n", dir);
        else
            fputs(line, out);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
    char *const argv[] = {(char *)h->rfmd, "-c", conf, NULL};
    return harness_fork_exec(h->rfmd, argv, NULL, log, false, 0);
}

static void run(harness *h, const char *strategy) {
    flo_orders os;
    flo_load(&os);
    harness_init(h, rfmd_path, 8, 8, 1);
    flo_produce(h, &os, 0, os.n);
    flo_free(&os);
    char props[512];
    snprintf(props, sizeof props,
             "    session.timeout.ms: \"6000\"\n"
             "    heartbeat.interval.ms: \"500\"\n"
             "    partition.assignment.strategy: %s\n",
             strategy);
    harness_write_config(h, "60s", props, NULL, NULL);
    hreader *r = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);

    harness_spawn(h);
    char alog[400];
    snprintf(alog, sizeof alog, "%s", h->log_path);
    wait_for(alog, "consumer: assigned 8", 60000);

    char blog[700];
    pid_t b = b_pid = spawn_b(h, blog, sizeof blog);
    wait_for(blog, "consumer: assigned", 60000);
    wait_for(blog, "rescore (caught up)", 60000); /* B published its partial view */
    harness_sleep_ms(1000);
    kill(b, SIGTERM);
    int status;
    assert_int_equal(waitpid(b, &status, 0), b);
    b_pid = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    size_t before = count_in(alog, "rescore (partitions regained)");

    /* A takes everything back and, once caught up on it, publishes everyone
     * again (it may have done so before, for partitions regained earlier). */
    wait_count(alog, "(now 8)", 2, 60000);
    wait_count(alog, "rescore (partitions regained)", before + 1, 60000);
    harness_sleep_ms(2000);
    int64_t took;
    assert_int_equal(harness_stop(h, 15000, &took), 0);
    hreader_drain(r, 30000);
    size_t bad = flo_event_mismatches(r);
    if (bad) {
        char cmd[2000];
        snprintf(cmd, sizeof cmd,
                 "echo '--- A'; grep -hE 'consumer:|rescore|stopp' '%s'; echo '--- B'; "
                 "grep -hE 'consumer:|rescore|stopp' '%s'",
                 alog, blog);
        if (system(cmd))
            fprintf(stderr, "(no logs)\n");
        fail_msg("%zu customers' last event is not the seed's", bad);
    }
    hreader_close(r);
    flo_assert_dump_is_golden(h);
}

static void test_eager(void **state) {
    run(*state, "range");
}

static void test_cooperative(void **state) {
    run(*state, "cooperative-sticky");
}

static int teardown(void **state) {
    if (b_pid > 0) {
        kill(b_pid, SIGKILL);
        waitpid(b_pid, NULL, 0);
        b_pid = 0;
    }
    return harness_teardown(state);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_eager, harness_setup, teardown),
        cmocka_unit_test_setup_teardown(test_cooperative, harness_setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
