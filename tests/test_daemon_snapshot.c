/*
 * Snapshots seen from the outside of rfmd:
 *  - bad_snapshots: the newest snapshot corrupted -> rfmd says why and
 *    restores the previous one; every snapshot corrupted -> rfmd refuses to
 *    start (exit 4) unless --start-empty.
 *  - failing_write: writes fail (a file size limit, as a full disk would)
 *    -> logged and counted, ingestion goes on, the previous snapshot stays;
 *    once writes work again (SIGUSR1) a new snapshot appears.
 *
 * usage: test_daemon_snapshot RFMD
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/harness.h"

static const char *rfmd_path;

static void send_orders(harness *h, const char *prefix, int n) {
    for (int i = 0; i < n; i++) {
        char cid[32], json[256];
        snprintf(cid, sizeof cid, "%s-%d", prefix, i);
        int len = snprintf(json, sizeof json,
                           "{\"order_id\":\"%s-o\",\"customer_id\":\"%s\","
                           "\"ts\":\"2021-05-%02dT10:00:00Z\",\"amount\":%d.5}",
                           cid, cid, 1 + i % 28, 10 + i);
        harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)len);
    }
    harness_flush(h);
}

/* Snapshot files, newest first (names sort by age). */
static int list(const harness *h, char names[][64], int max) {
    DIR *d = opendir(h->dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max)
        if (!strncmp(e->d_name, "rfmd-", 5) && strstr(e->d_name, ".snap") &&
            !strstr(e->d_name, ".tmp"))
            snprintf(names[n++], 64, "%.63s", e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) > 0) {
                char t[64];
                memcpy(t, names[i], 64);
                memcpy(names[i], names[j], 64);
                memcpy(names[j], t, 64);
            }
    return n;
}

static void flip_byte(const harness *h, const char *name, long at) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", h->dir, name);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

#define wait_log(h, what, ms) wait_log_at(h, what, ms, __LINE__)
static void wait_log_at(harness *h, const char *what, int ms, int line) {
    int64_t t0 = harness_now_ms();
    while (!harness_log_contains(h, what) && harness_now_ms() - t0 < ms)
        harness_sleep_ms(50);
    if (!harness_log_contains(h, what)) {
        harness_dump_log(h);
        int status = 0;
        if (h->pid > 0 && waitpid(h->pid, &status, WNOHANG) == h->pid)
            fprintf(stderr, "rfmd exited: status 0x%x\n", status);
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "ls -la %s; cat %s", h->dir, h->log_path);
        if (system(cmd))
            fprintf(stderr, "(ls failed)\n");
        fail_msg("line %d: no '%s' in the log within %d ms", line, what, ms);
    }
}

/* rfmd with extra arguments and a file size limit (0 = none); returns pid. */
static pid_t spawn(harness *h, const char *arg, rlim_t fsize) {
    char *argv[] = {(char *)h->rfmd, "-c", h->conf_path, (char *)arg, NULL};
    int fd = open(h->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fsize) {
            struct rlimit rl = {.rlim_cur = fsize, .rlim_max = RLIM_INFINITY};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(h->rfmd, argv);
        _exit(127);
    }
    close(fd);
    return pid;
}

static int wait_exit(pid_t pid, int ms) {
    int64_t t0 = harness_now_ms();
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (harness_now_ms() - t0 > ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("rfmd did not exit within %d ms", ms);
        }
        harness_sleep_ms(50);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define GROUP_PROPS                                                                                \
    "    session.timeout.ms: \"6000\"\n"                                                           \
    "    heartbeat.interval.ms: \"500\"\n"

static void test_bad_snapshots(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 2, 2, 1);
    harness_write_config(h, "60s", GROUP_PROPS, NULL, NULL);
    send_orders(h, "a", 50);
    harness_run_to_end(h, 120000);
    send_orders(h, "b", 30);
    harness_run_to_end(h, 120000);
    assert_true(harness_log_contains(h, "restored "));
    int64_t took;
    char names[8][64];
    assert_int_equal(list(h, names, 8), 2);

    /* Newest corrupted: the previous one is used, and the reason logged. */
    flip_byte(h, names[0], 200);
    assert_int_equal(truncate(h->log_path, 0), 0);
    harness_spawn(h);
    wait_log(h, "backlog consumed", 60000);
    assert_true(harness_log_contains(h, "is not usable: checksum mismatch"));
    assert_true(harness_log_contains(h, "(newer snapshots were not usable)"));
    assert_true(harness_log_contains(h, ": 50 customers"));
    assert_int_equal(harness_stop(h, 15000, &took), 0);

    /* Now every one corrupted (the shutdown above wrote a good one: break
     * all of them, one truncated, the others bit-flipped). */
    int n = list(h, names, 8);
    assert_true(n >= 2);
    {
        /* Before breaking them: verify says OK but for the one flipped
         * above, info describes the newest (the shutdown's, 80 customers). */
        char cmd[1200];
        snprintf(cmd, sizeof cmd,
                 "'%s/rfmctl' snapshot verify '%s' | grep -c ': OK (' | grep -qx %d && "
                 "'%s/rfmctl' snapshot info '%s' | grep -q '^customers: *80$'",
                 getenv("RFM_BIN"), h->dir, n - 1, getenv("RFM_BIN"), h->dir);
        assert_int_equal(system(cmd), 0);
    }
    for (int i = 0; i < n - 1; i++)
        flip_byte(h, names[i], 100 + i);
    char p[600];
    snprintf(p, sizeof p, "%s/%s", h->dir, names[n - 1]);
    assert_int_equal(truncate(p, 1000), 0);
    assert_int_equal(truncate(h->log_path, 0), 0);
    /* rfmctl sees the same: every file bad, with its reason. */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s/rfmctl' snapshot verify '%s' > '%s/verify.out'",
             getenv("RFM_BIN"), h->dir, h->dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    snprintf(cmd, sizeof cmd, "grep -c ': BAD: ' '%s/verify.out' | grep -qx %d", h->dir, n);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "grep -q 'BAD: truncated' '%s/verify.out'", h->dir);
    assert_int_equal(system(cmd), 0);

    pid_t pid = spawn(h, NULL, 0);
    assert_int_equal(wait_exit(pid, 30000), 4);
    assert_true(harness_log_contains(h, "refusing to start"));
    assert_true(harness_log_contains(h, "--start-empty"));

    /* Told to start empty, it does, and re-reads every order. */
    assert_int_equal(truncate(h->log_path, 0), 0);
    pid = spawn(h, "--start-empty", 0);
    h->pid = pid;
    wait_log(h, "backlog consumed", 60000);
    assert_true(harness_log_contains(h, "starting empty as told"));
    assert_int_equal(harness_stop(h, 15000, &took), 0);
    assert_true(harness_log_contains(h, "customers 80"));
}

static void test_failing_write(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 2, 2, 1);
    h->snapshot_props = "  interval: 500ms\n";
    harness_write_config(h, "60s", GROUP_PROPS, NULL, NULL);
    send_orders(h, "a", 2000);
    harness_run_to_end(h, 120000);
    int64_t took;
    char before[8][64];
    int n0 = list(h, before, 8);
    assert_true(n0 >= 1);

    /* 40 KB per file: every snapshot (~90 KB) fails half-way; the log
     * stays below it. */
    assert_int_equal(truncate(h->log_path, 0), 0);
    h->pid = spawn(h, NULL, 40000);
    wait_log(h, "snapshot (interval) failed", 60000);
    send_orders(h, "b", 40); /* ingestion goes on */
    int64_t t0 = harness_now_ms();
    while (!harness_log_contains(h, "failures so far: 3") && harness_now_ms() - t0 < 30000)
        harness_sleep_ms(100);
    assert_true(harness_log_contains(h, "File too large"));
    assert_true(harness_log_contains(h, "the previous snapshot stays"));
    char now[8][64];
    assert_int_equal(list(h, now, 8), n0);
    assert_string_equal(now[0], before[0]);

    /* Writes work again: the next attempt succeeds. */
    struct rlimit rl = {.rlim_cur = RLIM_INFINITY, .rlim_max = RLIM_INFINITY};
    assert_int_equal(prlimit(h->pid, RLIMIT_FSIZE, &rl, NULL), 0);
    kill(h->pid, SIGUSR1);
    wait_log(h, "snapshot (SIGUSR1) written", 30000);
    assert_int_equal(harness_stop(h, 15000, &took), 0);
    assert_true(list(h, now, 8) >= 1);
    assert_true(strcmp(now[0], before[0]) > 0);
    /* Nothing was lost on the way: every order is in the state. */
    harness_run_to_end(h, 120000);
    assert_true(harness_log_contains(h, "customers 2040"));
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_snapshots, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_failing_write, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
