/*
 * A suspended partition publishes nothing (src/rfmd/tasks.h, TASK_SUSPENDED):
 * under the eager protocol a rebalance revokes every partition before it
 * assigns any, and rfmd keeps the revoked partitions' stores until the
 * assignment says whether they stay. Meanwhile they are not this process's:
 * another member may own them already, so a rescore of them that published
 * segment events and changelog records (what rfmd once did) wrote into
 * partitions of someone else, where a record landing after the new owner's
 * own undoes it. This test holds rfmd revoked over several rescore
 * intervals, with a rescore due that would change many segments, and checks
 * that nothing of it reaches the segments or the changelog topic before the
 * assignment.
 *
 *   group     A, one rfmd (at_least_once: the mock cluster has no
 *             transactions; changelog.enabled; input.partitioner
 *             murmur2_random; eager, range; rescore every RESCORE_MS), and
 *             M and T, two plain librdkafka consumers in their own processes
 *             (this binary run with MEMBER_ARG: they publish nothing, so
 *             every record of the two topics is A's)
 *   input     the orders of the first SUSPEND_CUSTOMERS FLO customers, each
 *             produced to its customer's murmur2 partition of 6; dealt by
 *             index into two batches, so that each batch moves the customers'
 *             frequencies and the breakpoints
 *   steps     batch 1; A and M join together and take half the partitions
 *             each; A consumes its half. Right after an interval rescore of
 *             A: batch 2, consumed by A; M frozen (SIGSTOP); T joins. A is
 *             revoked at its next heartbeat and sits revoked, not yet
 *             assigned, for about 10 s: a real coordinator waits for the
 *             frozen M until its session times out; the mock one (librdkafka
 *             2.0) holds every join phase for the group's session.timeout.ms
 *             less 1 s anyway. The frozen member keeps the window open on
 *             either.
 *   premise   (A's log) the window from "consumer: revoked" to "consumer:
 *             assigned" lasted more than two rescore intervals, and A did not
 *             rescore between batch 2 and its revocation: a rescore was due
 *             in the window with batch 2's changes to publish. Otherwise the
 *             test fails: it would prove nothing.
 *   verdict   nothing produced to segments or changelog in the window, seen
 *             two ways: (1) the sum of both topics' high watermarks sampled
 *             right after the revoked line (the revocation drained A's
 *             producer first) equals the last sample taken before the
 *             assigned line showed up; (2) read back once A rescored after the
 *             assignment, no record of either topic has a CreateTime
 *             strictly inside the window (A's producer stamps records when
 *             they are produced; its log lines carry the same wall clock, to
 *             the millisecond). Then, once the group has settled without M
 *             (its session runs out: one more rebalance), M and T are killed
 *             and A exits 0 on SIGTERM.
 *
 * Against the rfmd before the fix, the interval rescore in the window
 * publishes the suspended partitions' changes: both (1) and (2) fail.
 *
 * usage: test_daemon_suspend RFMD   (RFM_SHARED, RFM_SOURCE from ctest)
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
#include "daemon/http_client.h"
#include "rfmd/keying.h"
#include "util/clock.h"

#define SUSPEND_CUSTOMERS 3000
#define SUSPEND_PARTS     6
#define SUSPEND_CHANGELOG HARNESS_GROUP "-changelog"
/* Two fit in the window (about MEMBER_SESSION less 1 s, see above), and
 * batch 2 is produced and consumed and the rebalance started well within
 * one (about 1.5 s of the 4 on an idle machine). */
#define RESCORE_MS  4000
#define RESCORE     "4s"
#define MEMBER_ARG  "--member"
#define DAY_MS      86400000LL
#define SHOW_INSIDE 5
/* Every member's, A's included: the mock cluster keeps one session timeout
 * per group, the last joiner's. */
#define MEMBER_SESSION   "12000"
#define SESSION_MS       12000
#define MEMBER_HEARTBEAT "500"

static const char *rfmd_path;
static const char *self_path; /* this binary, run again as a plain member */

static hinstance a;

/* A plain consumer of the group in a child process: its pid and log. */
typedef struct member {
    pid_t pid;
    char log[400];
} member;

static member mem_m = {.pid = -1}, mem_t = {.pid = -1};

/* ---- the plain member (this binary with MEMBER_ARG) ---------------------- */

static volatile sig_atomic_t member_go;

static void member_on_signal(int sig) {
    (void)sig;
    member_go = 1;
}

static void member_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        printf("member: assigned %d\n", parts->cnt);
    } else {
        rd_kafka_assign(rk, NULL);
        printf("member: revoked %d (%s)\n", parts ? parts->cnt : 0, rd_kafka_err2str(err));
    }
    fflush(stdout);
}

/* MEMBER_ARG BOOTSTRAPS GROUP now|wait: join at once, or on SIGUSR1 (the
 * client is up and connected by then, so the join follows the signal within
 * a poll); consume and discard until killed, or until the test process that
 * started it is gone. */
static int member_main(int argc, char **argv) {
    if (argc != 5)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = member_on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getppid();
    const char *props[][2] = {
        {"bootstrap.servers", argv[2]},
        {"group.id", argv[3]},
        {"client.id", "suspend-member"},
        {"session.timeout.ms", MEMBER_SESSION},
        {"heartbeat.interval.ms", MEMBER_HEARTBEAT},
        /* The mock takes the leader's first protocol for everyone. */
        {"partition.assignment.strategy", "range"},
        {"enable.auto.commit", "false"},
    };
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256];
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (rd_kafka_conf_set(c, props[i][0], props[i][1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "member: %s\n", err);
            return 1;
        }
    rd_kafka_conf_set_rebalance_cb(c, member_rebalance);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "member: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    bool subscribed = false;
    if (!strcmp(argv[4], "now"))
        member_go = 1;
    printf("member: ready\n");
    fflush(stdout);
    while (getppid() == parent) {
        if (member_go && !subscribed) {
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, HARNESS_ORDERS, RD_KAFKA_PARTITION_UA);
            rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, l);
            rd_kafka_topic_partition_list_destroy(l);
            if (e) {
                fprintf(stderr, "member: subscribe: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            subscribed = true;
            printf("member: subscribed\n");
            fflush(stdout);
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 20);
        if (m)
            rd_kafka_message_destroy(m);
    }
    /* The test is gone, and its mock cluster with it: nothing to leave. */
    _exit(0);
}

/* ---- A's log ------------------------------------------------------------- */

/* One line of a log: where it starts and its time of day (UTC, ms; rfmd's
 * lines start with it). */
typedef struct logline {
    long off;
    int64_t tod_ms;
} logline;

/* Lines containing `what` that start after byte `after` (-1: anywhere) and,
 * if `before` >= 0, before byte `before`: how many, up to the nth (1 =
 * first; 0: all), and the last of them in *out. Only whole lines count:
 * rfmd writes each with one write(2), but the last may be read half-written. */
static int log_scan(const char *path, const char *what, long after, long before, int nth,
                    logline *out) {
    char *log = harness_slurp(path, NULL);
    int seen = 0;
    for (char *line = log; line && *line && (nth == 0 || seen < nth);) {
        char *nl = strchr(line, '\n');
        long off = (long)(line - log);
        if (!nl || (before >= 0 && off >= before))
            break;
        *nl = '\0';
        if (off > after && strstr(line, what)) {
            seen++;
            int hh, mm, ss, ms;
            out->off = off;
            out->tod_ms = sscanf(line, "%d:%d:%d.%d", &hh, &mm, &ss, &ms) == 4
                              ? ((hh * 60LL + mm) * 60 + ss) * 1000 + ms
                              : -1; /* the members' lines have none */
        }
        line = nl + 1;
    }
    free(log);
    return seen;
}

static bool log_find(const char *path, const char *what, long after, long before, int nth,
                     logline *out) {
    return log_scan(path, what, after, before, nth, out) == nth;
}

static int log_count(const char *path, const char *what, long after, long before) {
    logline l;
    return log_scan(path, what, after, before, 0, &l);
}

/* Where the next line of the log will start, less one (log_find's
 * `after`). */
static long log_end(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size - 1 : -1;
}

static void print_log(const char *path) {
    char *cmd = NULL;
    if (asprintf(&cmd, "echo '--- %s'; grep -hE 'consumer:|rescore|rebalance|error|fatal' '%s'",
                 path, path) < 0)
        return;
    if (system(cmd))
        fprintf(stderr, "(no log %s)\n", path);
    free(cmd);
}

static void log_wait(const char *path, const char *what, long after, int nth, logline *out,
                     int ms) {
    int64_t t0 = harness_now_ms();
    while (!log_find(path, what, after, -1, nth, out)) {
        if (harness_now_ms() - t0 > ms) {
            print_log(path);
            fail_msg("%s: no \"%s\" within %d ms", path, what, ms);
        }
        harness_sleep_ms(20);
    }
}

/* A log line's time of day as a wall-clock time: that of the last day
 * (the line is at most seconds old). */
static int64_t tod_to_wall(int64_t tod_ms) {
    int64_t now = clock_wall_ms();
    int64_t t = now - now % DAY_MS + tod_ms;
    return t > now + 60000 ? t - DAY_MS : t;
}

/* ---- members ------------------------------------------------------------- */

static void member_spawn(harness *h, member *m, const char *name, const char *when) {
    snprintf(m->log, sizeof m->log, "%s/%s.log", h->dir, name);
    char *const argv[] = {(char *)self_path, MEMBER_ARG,   h->bootstraps,
                          HARNESS_GROUP,     (char *)when, NULL};
    m->pid = harness_fork_exec(self_path, argv, NULL, m->log, false, 0);
    /* Its signal handlers are in place from here on. */
    logline l;
    log_wait(m->log, "member: ready", -1, 1, &l, 30000);
}

static void member_kill(member *m) {
    if (m->pid > 0) {
        kill(m->pid, SIGKILL);
        waitpid(m->pid, NULL, 0);
    }
    m->pid = -1;
}

/* ---- topics -------------------------------------------------------------- */

/* Sum of the high watermarks of segments and changelog. */
static int64_t watermark_sum(harness *h) {
    const char *topics[] = {HARNESS_SEGMENTS, SUSPEND_CHANGELOG};
    int64_t sum = 0;
    for (size_t t = 0; t < 2; t++)
        for (int p = 0; p < SUSPEND_PARTS; p++) {
            int64_t lo, hi;
            assert_int_equal(
                rd_kafka_query_watermark_offsets(h->prod, topics[t], p, &lo, &hi, 10000), 0);
            sum += hi;
        }
    return sum;
}

/* Records of a topic by CreateTime against the window (lo, hi). */
typedef struct tscan {
    size_t before, inside, after, rescore_after;
} tscan;

static void topic_scan(harness *h, const char *topic, int64_t lo, int64_t hi, tscan *s) {
    memset(s, 0, sizeof *s);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256];
    assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", h->bootstraps, err, sizeof err), 0);
    assert_int_equal(rd_kafka_conf_set(c, "group.id", "suspend-scan", err, sizeof err), 0);
    assert_int_equal(rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err), 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    assert_non_null(rk);
    int64_t end[SUSPEND_PARTS], next[SUSPEND_PARTS] = {0};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(SUSPEND_PARTS);
    for (int p = 0; p < SUSPEND_PARTS; p++) {
        int64_t low;
        assert_int_equal(rd_kafka_query_watermark_offsets(rk, topic, p, &low, &end[p], 10000), 0);
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    assert_int_equal(rd_kafka_assign(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    int64_t t0 = harness_now_ms();
    for (;;) {
        bool done = true;
        for (int p = 0; p < SUSPEND_PARTS; p++)
            done = done && next[p] >= end[p];
        if (done)
            break;
        if (harness_now_ms() - t0 > 30000)
            fail_msg("reading %s back: high watermarks not reached in 30 s", topic);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (!m->err && m->partition >= 0 && m->partition < SUSPEND_PARTS) {
            next[m->partition] = m->offset + 1;
            rd_kafka_timestamp_type_t tt;
            int64_t ts = rd_kafka_message_timestamp(m, &tt);
            if (tt != RD_KAFKA_TIMESTAMP_CREATE_TIME)
                fail_msg("%s [%d] @%lld: no CreateTime", topic, (int)m->partition,
                         (long long)m->offset);
            bool rescore = m->payload && memmem(m->payload, m->len, "\"cause\":\"rescore\"", 17);
            if (ts <= lo) {
                s->before++;
            } else if (ts >= hi) {
                s->after++;
                s->rescore_after += rescore;
            } else {
                /* Segment events are JSON; changelog records binary. */
                bool json = m->payload && m->len && *(const char *)m->payload == '{';
                if (s->inside++ < SHOW_INSIDE)
                    fprintf(stderr,
                            "in the window: %s [%d] @%lld, %lld ms after the revocation, key "
                            "%.*s %.*s\n",
                            topic, (int)m->partition, (long long)m->offset, (long long)(ts - lo),
                            (int)m->key_len, m->key ? (const char *)m->key : "",
                            json ? (int)(m->len > 120 ? 120 : m->len) : 0,
                            json ? (const char *)m->payload : "");
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* ---- input --------------------------------------------------------------- */

typedef struct suspend_input {
    flo_orders os;
    size_t n; /* orders of the first SUSPEND_CUSTOMERS customers */
    int64_t produced[SUSPEND_PARTS];
} suspend_input;

static void input_load(suspend_input *in) {
    memset(in, 0, sizeof *in);
    flo_load(&in->os);
    size_t nids = 0;
    const char *last = NULL;
    for (in->n = 0; in->n < in->os.n; in->n++) {
        const char *k = in->os.m[in->n].key;
        if (last && !strcmp(last, k))
            continue;
        if (nids == SUSPEND_CUSTOMERS)
            break;
        nids++;
        last = k;
    }
    assert_int_equal(nids, SUSPEND_CUSTOMERS);
}

static suspend_input *input; /* the test's, freed by the teardown */

/* Batch b (0, 1): the orders of index b mod 2, each to its customer's
 * murmur2 partition (keying_partition: what rfmd checks under
 * murmur2_random). */
static void produce_batch(harness *h, suspend_input *in, int b) {
    for (size_t i = (size_t)b; i < in->n; i += 2) {
        const flo_msg *m = &in->os.m[i];
        size_t klen = strlen(m->key);
        int32_t p = keying_partition(CONFIG_PARTITIONER_MURMUR2, m->key, klen, SUSPEND_PARTS);
        assert_true(p >= 0 && p < SUSPEND_PARTS);
        harness_produce_at(h, HARNESS_ORDERS, p, m->key, klen, m->json, strlen(m->json));
        in->produced[p]++;
    }
    harness_flush(h);
}

/* Does A own nparts orders partitions and has it applied everything
 * produced to them? */
static bool a_consumed_all(const suspend_input *in, int nparts) {
    hresp r = {0};
    hhttp(a.addr, NULL, "/partitions", &r, 1);
    json_t *l = r.status == 200 && r.json ? json_object_get(r.json, "assignment") : NULL;
    bool all = json_array_size(l) == (size_t)nparts;
    size_t i;
    json_t *p;
    json_array_foreach(l, i, p) {
        json_int_t part = json_integer_value(json_object_get(p, "partition"));
        json_t *next = json_object_get(p, "next_offset");
        if (part < 0 || part >= SUSPEND_PARTS || !json_is_integer(next) ||
            json_integer_value(next) < in->produced[part])
            all = false;
    }
    hresp_free(&r);
    return all;
}

/* Wait until A owns nparts orders partitions and has applied everything
 * produced to them. */
static void wait_a_consumed(const suspend_input *in, int nparts, int timeout_ms) {
    int64_t t0 = harness_now_ms();
    while (!a_consumed_all(in, nparts)) {
        if (harness_now_ms() - t0 > timeout_ms) {
            hresp r = {0};
            hhttp(a.addr, NULL, "/partitions", &r, 1);
            fprintf(stderr, "A /partitions: %s\n", r.body ? r.body : "(no answer)");
            hresp_free(&r);
            print_log(a.log);
            fail_msg("A did not own %d partitions, all consumed, within %d ms", nparts, timeout_ms);
        }
        harness_sleep_ms(20);
    }
}

/* ---- the test ------------------------------------------------------------ */

static void test_suspended_publishes_nothing(void **state) {
    harness *h = *state;
    suspend_input *in = input = calloc(1, sizeof *in);
    assert_non_null(in);
    input_load(in);
    harness_init(h, rfmd_path, SUSPEND_PARTS, SUSPEND_PARTS, 1);
    /* The mock cluster has no CreateTopics (§9.1): the changelog is ours. */
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, SUSPEND_CHANGELOG, SUSPEND_PARTS, 1), 0);
    const char *consumer = "    session.timeout.ms: \"" MEMBER_SESSION "\"\n"
                           "    heartbeat.interval.ms: \"" MEMBER_HEARTBEAT "\"\n"
                           "    partition.assignment.strategy: range\n";
    const char *extra = "processing:\n  guarantee: at_least_once\n"
                        "changelog:\n  enabled: true\n"
                        "input:\n  partitioner: murmur2_random\n"
                        /* M and T are no rfmd: no group round could cover
                         * their partitions. A suspended task in a round is
                         * test_round.c's (a member not ready). */
                        "breakpoints:\n  scope: local\n";
    harness_instance_init(h, &a, "a", HARNESS_GROUP, RESCORE, consumer, extra);
    int64_t t0 = harness_now_ms();

    /* Batch 1; A and M join together (one rebalance: the coordinator's
     * first one waits for more members) and take half each; T is started,
     * to join later on a signal. */
    produce_batch(h, in, 0);
    harness_instance_spawn(&a, 30000);
    member_spawn(h, &mem_m, "m", "now");
    member_spawn(h, &mem_t, "t", "wait");
    logline l;
    log_wait(mem_m.log, "member: assigned", -1, 1, &l, 60000);
    wait_a_consumed(in, SUSPEND_PARTS / 2, 60000);

    /* Right after an interval rescore of A's share of batch 1: a whole
     * interval for batch 2, its consumption and the start of the
     * rebalance. */
    logline resc;
    log_wait(a.log, "rescore (interval)", log_end(a.log), 1, &resc, 2 * RESCORE_MS + 30000);
    int64_t setup0 = harness_now_ms();
    produce_batch(h, in, 1);
    wait_a_consumed(in, SUSPEND_PARTS / 2, 30000);
    int64_t consumed_ms = harness_now_ms() - setup0;
    assert_int_equal(kill(mem_m.pid, SIGSTOP), 0);
    int64_t frozen_ms = harness_now_ms();
    assert_int_equal(kill(mem_t.pid, SIGUSR1), 0);

    /* The window: the revocation drained A's producer before its log line,
     * so the sum right after it holds everything of A's before. */
    logline rev, as;
    log_wait(a.log, "consumer: revoked", resc.off, 1, &rev, 30000);
    int64_t setup_ms = harness_now_ms() - setup0;
    int64_t sum_rev = watermark_sum(h), sum_pre = sum_rev;
    int samples = 0;
    int64_t w0 = harness_now_ms();
    for (;;) {
        /* Sampled before looking: a sample taken while the assigned line
         * is not there yet precedes everything A does once assigned. */
        int64_t s = watermark_sum(h);
        if (log_find(a.log, "consumer: assigned", rev.off, -1, 1, &as))
            break;
        sum_pre = s;
        samples++;
        if (harness_now_ms() - w0 > 60000) {
            print_log(a.log);
            fail_msg("A not assigned again within 60 s of its revocation");
        }
        harness_sleep_ms(100);
    }
    int64_t window_ms = (as.tod_ms - rev.tod_ms + DAY_MS) % DAY_MS;
    int64_t lo = tod_to_wall(rev.tod_ms), hi = lo + window_ms;
    int rescores_between = log_count(a.log, "rescore (", resc.off, rev.off);
    fprintf(stderr,
            "batch 2 consumed %lld ms and A revoked %lld ms after the interval rescore; window "
            "%lld ms (rescore.interval %d ms); watermark sum %lld at the revocation, %lld in the "
            "last of %d samples before the assignment\n",
            (long long)consumed_ms, (long long)setup_ms, (long long)window_ms, RESCORE_MS,
            (long long)sum_rev, (long long)sum_pre, samples);

    /* The premise: a rescore with batch 2's changes was due in the window. */
    if (window_ms <= 2 * RESCORE_MS || rescores_between > 0) {
        print_log(a.log);
        fail_msg("premise not met: window %lld ms (must exceed 2 x %d ms), %d rescore(s) between "
                 "batch 2 and the revocation (must be none)",
                 (long long)window_ms, RESCORE_MS, rescores_between);
    }
    if (log_count(a.log, "still undelivered", resc.off, -1) > 0) {
        print_log(a.log);
        fail_msg("A's revocation did not drain its producer: the sum at the revocation is no "
                 "baseline");
    }

    /* A goes on once assigned (the rescore it owes comes now, if not
     * before); by then whatever it produced in the window is delivered. */
    log_wait(a.log, "rescore (", as.off, 1, &l, 3 * RESCORE_MS + 30000);
    tscan seg, chg;
    topic_scan(h, HARNESS_SEGMENTS, lo, hi, &seg);
    topic_scan(h, SUSPEND_CHANGELOG, lo, hi, &chg);
    fprintf(stderr,
            "records before / in / after the window: segments %zu / %zu / %zu (%zu rescore events "
            "after), changelog %zu / %zu / %zu\n",
            seg.before, seg.inside, seg.after, seg.rescore_after, chg.before, chg.inside,
            chg.after);
    if (sum_pre != sum_rev || seg.inside || chg.inside) {
        print_log(a.log);
        fail_msg("A published while revoked, not yet assigned: watermark sum %lld -> %lld, %zu "
                 "segment events and %zu changelog records stamped in the window",
                 (long long)sum_rev, (long long)sum_pre, seg.inside, chg.inside);
    }

    /* The frozen M is dropped from the group once its session times out,
     * in one more rebalance, unless that came before the window ended.
     * Stopping A in its middle could take a whole join phase: wait it out,
     * then stop A in a stable group. T and M are killed (no leave, no
     * rebalance while A stops). */
    logline rev2;
    bool again = false;
    while (!(again = log_find(a.log, "consumer: revoked", as.off, -1, 1, &rev2)) &&
           harness_now_ms() - frozen_ms < SESSION_MS + 3000)
        harness_sleep_ms(50);
    if (again)
        log_wait(a.log, "consumer: assigned", rev2.off, 1, &l, SESSION_MS + 30000);
    member_kill(&mem_m);
    member_kill(&mem_t);
    int st = harness_instance_stop(&a, SIGTERM, 15000);
    if (st != 0) {
        print_log(a.log);
        fail_msg("A: exit status %d on SIGTERM (-1: still running after 15 s)", st);
    }
    fprintf(stderr, "%lld ms in all\n", (long long)(harness_now_ms() - t0));
}

static int teardown(void **state) {
    if (input) {
        flo_free(&input->os);
        free(input);
        input = NULL;
    }
    member_kill(&mem_m);
    member_kill(&mem_t);
    harness_instance_kill(&a);
    return harness_teardown(state);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], MEMBER_ARG))
        return member_main(argc, argv);
    self_path = argv[0];
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_suspended_publishes_nothing, harness_setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
