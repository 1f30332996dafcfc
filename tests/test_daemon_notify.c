/*
 * rfmd under a systemd-like supervisor (sd_notify(3)): the test binds the
 * notification socket itself (a unix datagram socket, credentials passed so
 * every message can be checked to come from rfmd's main process, as
 * NotifyAccess=main requires) and starts rfmd with NOTIFY_SOCKET,
 * WATCHDOG_USEC=400000 and JOURNAL_STREAM naming its log file:
 *
 *  - a first run without NOTIFY_SOCKET leaves a snapshot behind;
 *  - READY=1 arrives once that snapshot is restored and partitions are
 *    assigned (both already in the log, /readyz already 200), and only
 *    STATUS= lines come before it;
 *  - STATUS= lines with the customer count, orders/s and lag follow;
 *  - WATCHDOG=1 arrives about every 200 ms (counted over 3 s, tolerant);
 *  - SIGHUP: RELOADING=1 (with MONOTONIC_USEC=), then READY=1;
 *  - SIGTERM: STOPPING=1, then a clean exit;
 *  - the log lines carry the journal priority prefix ("<N>").
 *
 * usage: test_daemon_notify RFMD
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/harness.h"
#include "daemon/http_client.h"

#define NCUST       20
#define WATCHDOG_US 400000

static const char *rfmd_path;

typedef struct nmsg {
    int64_t at_ms; /* when received (monotonic) */
    pid_t pid;     /* sender, from SCM_CREDENTIALS */
    char text[1024];
} nmsg;

typedef struct nsock {
    int fd;
    char env[440]; /* "NOTIFY_SOCKET=" and a path of up to 400 bytes */
    nmsg *msgs;
    size_t n, cap;
} nsock;

static void nsock_open(nsock *s, const harness *h) {
    memset(s, 0, sizeof *s);
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    char path[400];
    snprintf(path, sizeof path, "%s/notify.sock", h->dir);
    socklen_t len;
    if (strlen(path) < sizeof a.sun_path) {
        memcpy(a.sun_path, path, strlen(path) + 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
        snprintf(s->env, sizeof s->env, "NOTIFY_SOCKET=%s", path);
    } else { /* a long TMPDIR: the abstract namespace ("@name" for sd_notify) */
        int n =
            snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "rfmd-notify-test-%d", (int)getpid());
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
        snprintf(s->env, sizeof s->env, "NOTIFY_SOCKET=@%s", a.sun_path + 1);
    }
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, len), 0);
    int one = 1;
    assert_int_equal(setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one), 0);
}

static void nsock_close(nsock *s) {
    if (s->fd > 0)
        close(s->fd);
    free(s->msgs);
    memset(s, 0, sizeof *s);
}

/* Take what arrives within timeout_ms; returns how many messages. */
static size_t nsock_poll(nsock *s, int timeout_ms) {
    size_t before = s->n;
    int64_t end = harness_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - harness_now_ms();
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
            break;
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 256;
            s->msgs = realloc(s->msgs, s->cap * sizeof *s->msgs);
            assert_non_null(s->msgs);
        }
        nmsg *m = &s->msgs[s->n];
        memset(m, 0, sizeof *m);
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(struct ucred))];
        } ctl;
        struct iovec iov = {.iov_base = m->text, .iov_len = sizeof m->text - 1};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl};
        ssize_t r = recvmsg(s->fd, &mh, 0);
        if (r < 0)
            continue;
        m->text[r] = '\0';
        m->at_ms = harness_now_ms();
        m->pid = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
                m->pid = cred.pid;
            }
        s->n++;
    }
    return s->n - before;
}

/* The value of NAME= in a message (its own line), or NULL. */
static const char *field(const nmsg *m, const char *name, char *out, size_t outlen) {
    size_t nl = strlen(name);
    for (const char *p = m->text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, name, nl) && p[nl] == '=') {
            snprintf(out, outlen, "%.*s", (int)strcspn(p + nl + 1, "\n"), p + nl + 1);
            return out;
        }
    return NULL;
}

static bool has(const nmsg *m, const char *assignment) {
    char name[64], v[1024];
    size_t eq = strcspn(assignment, "=");
    snprintf(name, sizeof name, "%.*s", (int)eq, assignment);
    return field(m, name, v, sizeof v) && !strcmp(v, assignment + eq + 1);
}

static void dump(const nsock *s) {
    for (size_t i = 0; i < s->n; i++)
        fprintf(stderr, "notify[%zu] +%lld pid %d: %s\n", i,
                (long long)(s->msgs[i].at_ms - s->msgs[0].at_ms), (int)s->msgs[i].pid,
                s->msgs[i].text);
}

/* Index of the first message at or after `from` that has `assignment`,
 * waiting up to timeout_ms for it. */
static size_t wait_for(nsock *s, const harness *h, size_t from, const char *assignment,
                       int timeout_ms) {
    int64_t end = harness_now_ms() + timeout_ms;
    for (;;) {
        for (size_t i = from; i < s->n; i++)
            if (has(&s->msgs[i], assignment))
                return i;
        if (harness_now_ms() > end) {
            dump(s);
            harness_dump_log(h);
            fail_msg("no %s from rfmd within %d ms", assignment, timeout_ms);
        }
        nsock_poll(s, 100);
    }
}

static void send_orders(harness *h) {
    for (int i = 0; i < NCUST; i++) {
        char cid[32], json[256];
        snprintf(cid, sizeof cid, "n-%d", i);
        for (int k = 0; k <= i % 4; k++) {
            int len = snprintf(json, sizeof json,
                               "{\"order_id\":\"%s-%d\",\"customer_id\":\"%s\","
                               "\"ts\":\"2021-05-%02dT10:00:00Z\",\"amount\":%d.5}",
                               cid, k, cid, 1 + (i + k) % 28, 10 + i);
            harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)len);
        }
    }
    harness_flush(h);
}

static void test_notify(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 2, 1, 1);
    send_orders(h);
    h->http_listen = "127.0.0.1:0";
    /* The restart rejoins the group: the mock cluster waits out the
     * session of the member that left. */
    harness_write_config(h, "1h",
                         "    session.timeout.ms: \"6000\"\n"
                         "    heartbeat.interval.ms: \"500\"\n",
                         NULL, NULL);

    /* A first run, not under systemd, leaves a snapshot to restore. */
    harness_run_to_end(h, 60000);

    nsock s;
    nsock_open(&s, h);
    struct stat st;
    assert_int_equal(stat(h->log_path, &st), 0);
    off_t log_from = st.st_size;
    char journal[96], watchdog[64];
    snprintf(journal, sizeof journal, "JOURNAL_STREAM=%ju:%ju", (uintmax_t)st.st_dev,
             (uintmax_t)st.st_ino);
    snprintf(watchdog, sizeof watchdog, "WATCHDOG_USEC=%d", WATCHDOG_US);
    h->env[0] = s.env;
    h->env[1] = watchdog;
    h->env[2] = journal;
    h->env[3] = "RFMD_LOG_FORMAT="; /* empty: as if unset */
    harness_spawn(h);
    pid_t rfmd_pid = h->pid;

    /* READY=1 only after the restore and the assignment. */
    size_t ready = wait_for(&s, h, 0, "READY=1", 30000);
    assert_true(harness_log_contains(h, "restored "));
    assert_true(harness_log_count(h, "consumer: assigned") >= 2);
    for (size_t i = 0; i < ready; i++)
        if (strncmp(s.msgs[i].text, "STATUS=", 7) && strcmp(s.msgs[i].text, "WATCHDOG=1")) {
            dump(&s);
            fail_msg("before READY=1 rfmd sent \"%s\"", s.msgs[i].text);
        }
    char addr[128];
    harness_wait_log(h, "http: listening on ", 2, addr, sizeof addr, 1000);
    hresp r;
    hhttp(addr, NULL, "/readyz", &r, 0);
    assert_int_equal(r.status, 200);
    hresp_free(&r);

    /* STATUS= lines with the restored customers, the rate and the lag. */
    char want[64];
    snprintf(want, sizeof want, "customers %d, ", NCUST);
    int statuses = 0;
    int64_t t0 = harness_now_ms();
    for (size_t i = ready + 1; statuses < 2; i++) {
        while (i >= s.n) {
            if (harness_now_ms() - t0 > 10000) {
                dump(&s);
                fail_msg("fewer than 2 STATUS= lines within 10 s of READY=1");
            }
            nsock_poll(&s, 100);
        }
        char v[1024];
        if (field(&s.msgs[i], "STATUS", v, sizeof v) && !strncmp(v, want, strlen(want))) {
            assert_non_null(strstr(v, " orders/s, lag "));
            statuses++;
        }
    }

    /* WATCHDOG=1 about every WATCHDOG_USEC / 2 = 200 ms: 15 in 3 s. */
    int64_t w0 = harness_now_ms();
    while (harness_now_ms() - w0 < 3300)
        nsock_poll(&s, 100);
    int pings = 0;
    int64_t last = 0, max_gap = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!has(&s.msgs[i], "WATCHDOG=1") || s.msgs[i].at_ms < w0 || s.msgs[i].at_ms >= w0 + 3000)
            continue;
        pings++;
        if (last && s.msgs[i].at_ms - last > max_gap)
            max_gap = s.msgs[i].at_ms - last;
        last = s.msgs[i].at_ms;
    }
    print_message("watchdog: %d pings in 3 s, longest gap %lld ms\n", pings, (long long)max_gap);
    if (pings < 9 || pings > 22) {
        dump(&s);
        fail_msg("%d WATCHDOG=1 in 3 s, expected about 15", pings);
    }

    /* SIGHUP: RELOADING=1, then READY=1 again. */
    size_t before_hup = s.n;
    kill(h->pid, SIGHUP);
    size_t reloading = wait_for(&s, h, before_hup, "RELOADING=1", 10000);
    char mono[64];
    assert_non_null(field(&s.msgs[reloading], "MONOTONIC_USEC", mono, sizeof mono));
    assert_true(strtoull(mono, NULL, 10) > 0);
    size_t reready = wait_for(&s, h, reloading + 1, "READY=1", 10000);
    for (size_t i = before_hup; i < reloading; i++)
        assert_false(has(&s.msgs[i], "READY=1"));
    harness_wait_log(h, "reload: done", 1, want, sizeof want, 1000);

    /* SIGTERM: STOPPING=1, clean exit. */
    int64_t took;
    int status = harness_stop(h, 15000, &took);
    if (status != 0) {
        harness_dump_log(h);
        fail_msg("SIGTERM: exit status %d", status);
    }
    nsock_poll(&s, 200);
    size_t stopping = wait_for(&s, h, reready + 1, "STOPPING=1", 1000);
    for (size_t i = stopping + 1; i < s.n; i++)
        assert_false(has(&s.msgs[i], "READY=1"));

    /* Every message came from rfmd's main process (not the snapshot
     * writer it forks). */
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.msgs[i].pid, rfmd_pid);

    /* Under JOURNAL_STREAM every line of this run has a priority prefix. */
    char *log = harness_log(h);
    assert_non_null(log);
    size_t lines = 0;
    for (const char *p = log + log_from; *p; p = strchr(p, '\n') + 1) {
        if (!(p[0] == '<' && p[1] >= '0' && p[1] <= '7' && p[2] == '>')) {
            fprintf(stderr, "%s", log + log_from);
            fail_msg("a log line without a journal priority prefix: %.*s", (int)strcspn(p, "\n"),
                     p);
        }
        lines++;
        if (!strchr(p, '\n'))
            break;
    }
    assert_true(lines > 5);
    free(log);
    nsock_close(&s);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_notify, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
