/*
 * Checkpoints seen from the outside of rfmd. rfmd keeps one store per input
 * partition and checkpoints each one to <snapshot.dir>/partition-<N>/ (saver.h,
 * contract section 9); the orders go to explicit partitions here so that each
 * partition's customer count is known:
 *  - bad_snapshots: the newest checkpoint of partition 0 corrupted -> rfmd
 *    says why and restores partition 0 from its previous one (partition 1
 *    from its newest), then re-reads what the older one lacks; every
 *    checkpoint of partition 0 corrupted and --start-empty -> partition 0
 *    starts empty and is re-read, partition 1 is still restored. rfmctl
 *    snapshot verify/info over the partitioned directory agree.
 *  - unusable_refused: every checkpoint of partition 0 corrupted, no
 *    changelog, no --start-empty -> rfmd stops (exit 4) saying which
 *    partition and what to do, and leaves the checkpoints as they are, so
 *    the next start refuses too.
 *  - failing_write: writes of partition 0 fail (a file size limit, as a full
 *    disk would) -> logged per partition and counted, partition 0's old
 *    checkpoints stay, partition 1's are still written, ingestion goes on;
 *    once writes work again (SIGUSR1) a new checkpoint of partition 0
 *    appears, and nothing was lost.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/harness.h"
#include "daemon/http_client.h"

static const char *rfmd_path;

/* n orders of n customers <prefix>-<i>, all to input partition p (rfmd's
 * default keying, trust, takes them where they arrive). */
static void send_orders(harness *h, const char *prefix, int n, int32_t p) {
    for (int i = 0; i < n; i++) {
        char cid[32], json[256];
        snprintf(cid, sizeof cid, "%s-%d", prefix, i);
        int len = snprintf(json, sizeof json,
                           "{\"order_id\":\"%s-o\",\"customer_id\":\"%s\","
                           "\"ts\":\"2021-05-%02dT10:00:00Z\",\"amount\":%d.5}",
                           cid, cid, 1 + i % 28, 10 + i);
        harness_produce_at(h, HARNESS_ORDERS, p, cid, strlen(cid), json, (size_t)len);
    }
    harness_flush(h);
}

/* Path of partition p's checkpoint `name` ("" = its directory). */
static void part_path(const harness *h, int p, const char *name, char *out, size_t len) {
    snprintf(out, len, "%s/partition-%d%s%s", h->dir, p, *name ? "/" : "", name);
}

/* Partition p's checkpoint files, newest first (names sort by age). */
static int list(const harness *h, int p, char names[][64], int max) {
    char dir[600];
    part_path(h, p, "", dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("no checkpoint directory %s", dir);
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

static off_t file_size(const harness *h, int p, const char *name) {
    char path[700];
    part_path(h, p, name, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void flip_byte(const harness *h, int p, const char *name, long at) {
    char path[700];
    part_path(h, p, name, path, sizeof path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* How many lines of `file` match the grep pattern. */
static int grep_count(const char *file, const char *pattern) {
    char cmd[1400], out[32] = "";
    snprintf(cmd, sizeof cmd, "grep -c -- '%s' '%s'", pattern, file);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    if (!fgets(out, sizeof out, f))
        out[0] = '\0';
    pclose(f);
    return atoi(out);
}

/* rfmctl snapshot <what> over the whole snapshot dir, output in h->dir/<out>;
 * its exit status. */
static int rfmctl_snapshot(const harness *h, const char *what, const char *out) {
    return sh("'%s/rfmctl' snapshot %s '%s' > '%s/%s' 2>&1", getenv("RFM_BIN"), what, h->dir,
              h->dir, out);
}

/* A counter of rfmd's /metrics at addr. */
static unsigned long long metric(const char *addr, const char *name) {
    hresp r;
    hhttp(addr, NULL, "/metrics", &r, 0);
    assert_int_equal(r.status, 200);
    char want[128];
    snprintf(want, sizeof want, "\n%s ", name);
    const char *at = strstr(r.body, want);
    if (!at)
        fail_msg("no %s in /metrics", name);
    unsigned long long v = strtoull(at + strlen(want), NULL, 10);
    hresp_free(&r);
    return v;
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
        snprintf(cmd, sizeof cmd, "ls -laR %s", h->dir);
        if (system(cmd))
            fprintf(stderr, "(ls failed)\n");
        fail_msg("line %d: no '%s' in the log within %d ms", line, what, ms);
    }
}

/* The rest of the log line after `prefix` (the first such line); fails the
 * test when there is none. */
static void log_line(const harness *h, const char *prefix, char *out, size_t len) {
    harness_wait_log(h, prefix, 1, out, len, 0);
}

/* The log line of partition p's restore from its checkpoint must name the
 * file `name` and `customers` customers, and say (or not) that newer
 * checkpoints were skipped. */
static void assert_restored(const harness *h, int p, const char *name, int customers,
                            bool skipped_newer) {
    char prefix[64], line[2048], path[700], what[64];
    snprintf(prefix, sizeof prefix, "restored partition %d from ", p);
    assert_int_equal(harness_log_count(h, prefix), 1);
    log_line(h, prefix, line, sizeof line);
    part_path(h, p, name, path, sizeof path);
    if (strncmp(line, path, strlen(path)) || line[strlen(path)] != ' ')
        fail_msg("partition %d restored from another file than %s: %s", p, path, line);
    snprintf(what, sizeof what, "): %d customers, ", customers);
    if (!strstr(line, what))
        fail_msg("partition %d: expected %d customers restored: %s", p, customers, line);
    if ((strstr(line, " (newer snapshots were not usable)") != NULL) != skipped_newer)
        fail_msg("partition %d: newer ones %s skipped: %s", p, skipped_newer ? "not" : "", line);
}

/* The state at the stop, as the shutdown checkpoint of every partition
 * holds it: `customers` customers in all. (Not rfmd's "final:" progress line:
 * it is logged after leaving the group has dropped every store.) */
static void assert_final_customers(const harness *h, int customers) {
    char line[2048], what[64];
    assert_int_equal(harness_log_count(h, "snapshot (shutdown) written: "), 1);
    log_line(h, "snapshot (shutdown) written: ", line, sizeof line);
    snprintf(what, sizeof what, "2 partitions, %d customers, ", customers);
    if (strncmp(line, what, strlen(what)))
        fail_msg("expected %s at the stop: %s", what, line);
}

/* rfmd with extra arguments and a file size limit (0 = none); returns pid. */
static pid_t spawn(harness *h, const char *arg, rlim_t fsize) {
    char *const argv[] = {(char *)h->rfmd, "-c", h->conf_path, (char *)arg, NULL};
    return harness_fork_exec(h->rfmd, argv, NULL, h->log_path, true, (long long)fsize);
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

/* Two runs to the end: partition 0 gets 30 customers, then 20 more;
 * partition 1 20, then 10. Each stop checkpoints both partitions, the second
 * start restores each from its first checkpoint. p0, p1: the two checkpoints
 * of each, newest first. */
static void two_runs(harness *h, char p0[][64], char p1[][64]) {
    harness_init(h, rfmd_path, 2, 2, 1);
    harness_write_config(h, "60s", GROUP_PROPS, NULL, NULL);
    send_orders(h, "a", 30, 0);
    send_orders(h, "c", 20, 1);
    harness_run_to_end(h, 120000);
    send_orders(h, "b", 20, 0);
    send_orders(h, "d", 10, 1);
    assert_int_equal(truncate(h->log_path, 0), 0);
    harness_run_to_end(h, 120000);
    assert_int_equal(list(h, 0, p0, 8), 2);
    assert_int_equal(list(h, 1, p1, 8), 2);
    assert_restored(h, 0, p0[1], 30, false);
    assert_restored(h, 1, p1[1], 20, false);
    assert_final_customers(h, 80);
}

/* Every one of partition 0's n checkpoints p0[] corrupted: the oldest
 * truncated to half its size, the others bit-flipped. */
static void break_partition0(const harness *h, char p0[][64], int n) {
    for (int i = 0; i < n - 1; i++)
        flip_byte(h, 0, p0[i], 100 + i);
    char p[700];
    part_path(h, 0, p0[n - 1], p, sizeof p);
    assert_int_equal(truncate(p, file_size(h, 0, p0[n - 1]) / 2), 0);
}

/* The log of a start that found no usable checkpoint of partition 0 (n
 * files) says why for each of them, once. */
static void assert_partition0_unusable(const harness *h, int n) {
    assert_int_equal(harness_log_count(h, " is not usable: "), n);
    char what[400];
    snprintf(what, sizeof what, "snapshot %s/partition-0/rfmd-", h->dir);
    assert_int_equal(harness_log_count(h, what), n);
    assert_true(harness_log_contains(h, " is not usable: truncated"));
}

static void test_bad_snapshots(void **state) {
    harness *h = *state;
    char p0[8][64], p1[8][64];
    two_runs(h, p0, p1);
    int64_t took;

    /* Partition 0's newest corrupted: its previous one is used, and the
     * reason logged; partition 1 comes from its newest. The orders the
     * older checkpoint lacks are read again. */
    flip_byte(h, 0, p0[0], 200);
    assert_int_equal(truncate(h->log_path, 0), 0);
    harness_spawn(h);
    wait_log(h, "backlog consumed", 60000);
    {
        char path[700], what[800];
        part_path(h, 0, p0[0], path, sizeof path);
        snprintf(what, sizeof what, "snapshot %s is not usable: checksum mismatch", path);
        assert_true(harness_log_contains(h, what));
        assert_int_equal(harness_log_count(h, " is not usable: "), 1);
    }
    assert_restored(h, 0, p0[1], 30, true);
    assert_restored(h, 1, p1[0], 30, false);
    assert_int_equal(harness_stop(h, 15000, &took), 0);
    assert_final_customers(h, 80);

    /* The shutdown above wrote a good one of each partition. verify says OK
     * for all but the one flipped above; info describes each partition's
     * newest (50 + 30 customers). */
    int n0 = list(h, 0, p0, 8), n1 = list(h, 1, p1, 8);
    assert_int_equal(n0, 3);
    assert_int_equal(n1, 3);
    char out[400];
    snprintf(out, sizeof out, "%s/verify.out", h->dir);
    assert_int_equal(rfmctl_snapshot(h, "verify", "verify.out"), 1);
    assert_int_equal(grep_count(out, ": OK ("), n0 + n1 - 1);
    assert_int_equal(grep_count(out, ": BAD: "), 1);
    {
        char pat[200];
        snprintf(pat, sizeof pat, "/partition-0/%s: BAD: ", p0[1]);
        assert_int_equal(grep_count(out, pat), 1);
    }
    snprintf(out, sizeof out, "%s/info.out", h->dir);
    assert_int_equal(rfmctl_snapshot(h, "info", "info.out"), 0);
    assert_int_equal(grep_count(out, "^customers: *80$"), 1);
    assert_int_equal(grep_count(out, "^  customers: *50$"), 1);
    assert_int_equal(grep_count(out, "^  customers: *30$"), 1);

    /* Now every checkpoint of partition 0 corrupted; partition 1's stay
     * good. rfmctl sees it: every file of partition 0 bad, with its reason. */
    break_partition0(h, p0, n0);
    snprintf(out, sizeof out, "%s/verify.out", h->dir);
    assert_int_equal(rfmctl_snapshot(h, "verify", "verify.out"), 1);
    assert_int_equal(grep_count(out, "/partition-0/rfmd-[0-9]*\\.snap: BAD: "), n0);
    assert_int_equal(grep_count(out, "/partition-1/rfmd-[0-9]*\\.snap: OK ("), n1);
    assert_int_equal(grep_count(out, ": BAD: truncated"), 1);

    /* Told to start empty (without, it stops: test_unusable_refused), it
     * starts partition 0 empty and re-reads all of it; partition 1 still
     * comes from its checkpoint. */
    assert_int_equal(truncate(h->log_path, 0), 0);
    h->pid = spawn(h, "--start-empty", 0);
    wait_log(h, "backlog consumed", 60000);
    assert_partition0_unusable(h, n0);
    assert_true(harness_log_contains(
        h, "partition 0: no usable checkpoint; starting it empty as told (--start-empty)"));
    assert_false(harness_log_contains(h, "restored partition 0 "));
    assert_false(harness_log_contains(h, "partition 1: no usable checkpoint"));
    assert_restored(h, 1, p1[0], 30, false);
    assert_int_equal(harness_stop(h, 15000, &took), 0);
    assert_final_customers(h, 80);
}

/* Every checkpoint of partition 0 corrupted, no changelog, no --start-empty:
 * rfmd stops (exit 4) naming the partition and the way out, and leaves the
 * checkpoints as they are, so that the next start refuses as well. */
static void test_unusable_refused(void **state) {
    harness *h = *state;
    char p0[8][64], p1[8][64];
    two_runs(h, p0, p1);
    break_partition0(h, p0, 2);
    for (int run = 0; run < 2; run++) {
        assert_int_equal(truncate(h->log_path, 0), 0);
        h->pid = spawn(h, NULL, 0);
        int rc = wait_exit(h->pid, 30000);
        h->pid = -1;
        if (rc != 4) {
            harness_dump_log(h);
            fail_msg("start %d: exit %d, not 4 (DAEMON_EXIT_STATE)", run + 1, rc);
        }
        assert_partition0_unusable(h, 2);
        assert_true(harness_log_contains(
            h, "partition 0: none of its checkpoints is usable (reasons above) and there is no "
               "changelog to rebuild it from; refusing to go on rather than lose its state: move "
               "them away or start with --start-empty"));
        assert_false(harness_log_contains(h, "partition 1: none of its checkpoints"));
        /* The checkpoints of partition 0 are as they were: none added (an
         * empty one would be "usable" next time), none pruned. */
        char now[8][64];
        int n = list(h, 0, now, 8);
        if (n != 2 || strcmp(now[0], p0[0]) || strcmp(now[1], p0[1])) {
            harness_dump_log(h);
            fail_msg("start %d refused, yet partition 0's checkpoints changed: %d file(s), "
                     "newest %s (were %s, %s)",
                     run + 1, n, n ? now[0] : "-", p0[0], p0[1]);
        }
    }
}

static void test_failing_write(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 2, 2, 1);
    h->snapshot_props = "  interval: 500ms\n";
    h->http_listen = "127.0.0.1:0";
    harness_write_config(h, "60s", GROUP_PROPS, NULL, NULL);
    /* Partition 0 big, partition 1 small. */
    send_orders(h, "a", 1800, 0);
    send_orders(h, "c", 200, 1);
    harness_run_to_end(h, 120000);
    int64_t took;
    char before0[8][64], before1[8][64];
    int n0 = list(h, 0, before0, 8);
    assert_true(n0 >= 1);
    assert_true(list(h, 1, before1, 8) >= 1);

    /* 40 KB per file: every checkpoint of partition 0 (~80 KB) fails
     * half-way, partition 1's (~9 KB) fit; the log stays below it. */
    const rlim_t limit = 40000;
    assert_true(file_size(h, 0, before0[0]) > (off_t)limit);
    assert_true(file_size(h, 1, before1[0]) < (off_t)limit / 2);
    assert_int_equal(truncate(h->log_path, 0), 0);
    h->pid = spawn(h, NULL, limit);
    char addr[64];
    harness_wait_log(h, "http: listening on ", 1, addr, sizeof addr, 30000);
    wait_log(h, "snapshot (interval) of partition 0 failed: ", 60000);
    send_orders(h, "b", 40, 0); /* ingestion goes on, into the failing partition too */
    wait_log(h, "; the next one retries (failures so far: 3)", 30000);
    {
        char line[2048];
        log_line(h, "snapshot (interval) of partition 0 failed: ", line, sizeof line);
        assert_non_null(strstr(line, "File too large"));
        assert_non_null(strstr(line, "; its previous snapshot stays"));
        log_line(h, "snapshot (interval) failed for ", line, sizeof line);
        assert_int_equal(strncmp(line, "1 of 2 partitions (1 written, ", 30), 0);
    }
    assert_false(harness_log_contains(h, "of partition 1 failed"));
    /* Counted: every attempt failed (one partition failing fails it). */
    assert_true(metric(addr, "rfmd_snapshot_failures_total") >= 3);
    assert_int_equal(metric(addr, "rfmd_snapshots_written_total"), 0);
    /* Every order is consumed and its effects delivered meanwhile: the
     * group's committed offsets reach the end of both partitions. */
    {
        int64_t committed[2], high[2];
        int64_t t0 = harness_now_ms();
        do {
            harness_sleep_ms(200);
            harness_offsets(h, HARNESS_ORDERS, 2, committed, high);
        } while ((committed[0] != high[0] || committed[1] != high[1]) &&
                 harness_now_ms() - t0 < 30000);
        assert_int_equal(high[0], 1840);
        assert_int_equal(committed[0], high[0]);
        assert_int_equal(committed[1], high[1]);
    }
    /* Partition 0's checkpoints are the old ones; partition 1's go on. */
    char now0[8][64], now1[8][64];
    assert_int_equal(list(h, 0, now0, 8), n0);
    for (int i = 0; i < n0; i++)
        assert_string_equal(now0[i], before0[i]);
    assert_true(list(h, 1, now1, 8) >= 1);
    assert_true(strcmp(now1[0], before1[0]) > 0);

    /* Writes work again: a snapshot asked for (SIGUSR1) is written, with
     * every order in it. An interval one may be in flight when the signal
     * comes (the request is then skipped, and logged): ask again. */
    struct rlimit rl = {.rlim_cur = RLIM_INFINITY, .rlim_max = RLIM_INFINITY};
    assert_int_equal(prlimit(h->pid, RLIMIT_FSIZE, &rl, NULL), 0);
    for (int i = 0; i < 10 && !harness_log_contains(h, "snapshot (SIGUSR1) written: "); i++) {
        kill(h->pid, SIGUSR1);
        int64_t t0 = harness_now_ms();
        while (!harness_log_contains(h, "snapshot (SIGUSR1) written: ") &&
               harness_now_ms() - t0 < 3000)
            harness_sleep_ms(50);
    }
    wait_log(h, "snapshot (SIGUSR1) written: 2 partitions, 2040 customers, ", 1);
    assert_true(metric(addr, "rfmd_snapshots_written_total") >= 1);
    assert_int_equal(harness_stop(h, 15000, &took), 0);
    assert_true(list(h, 0, now0, 8) >= 1);
    assert_true(strcmp(now0[0], before0[0]) > 0);
    /* Nothing was lost on the way: every order is in the state restored. */
    assert_int_equal(truncate(h->log_path, 0), 0);
    harness_run_to_end(h, 120000);
    assert_final_customers(h, 2040);
    char line[2048];
    log_line(h, "restored partition 0 from ", line, sizeof line);
    assert_non_null(strstr(line, "): 1840 customers, "));
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_snapshots, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_unusable_refused, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_failing_write, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
