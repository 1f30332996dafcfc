/*
 * control: the round's Kafka side (rfmd_core's control.c) on a librdkafka
 * mock cluster over TCP, or, with KAFKA_BOOTSTRAP set (tests/kafka/
 * broker.sh run), on a real broker. Each test gets its own pair of topics:
 * on the mock made with rd_kafka_mock_topic_create (the mock has no
 * CreateTopics, as embedded.c knows), on a real broker by
 * control_topics_ensure itself. Topics of the wrong shape are made by the
 * test (the mock's API, or the Admin API); the cleanup.policy check only
 * runs on a real broker (the mock has no topic configs).
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "rfm/config.h"
#include "rfmd/control.h"
#include "util/clock.h"

#define WAIT_MS  15000
#define QUIET_MS 300 /* how long "nothing more arrives" is watched */
#define MAXSEEN  16
#define MSG_MAX  64

/* What one handle's callbacks saw. */
typedef struct seen {
    char ctl[MAXSEEN][MSG_MAX];
    int nctl;
    char rec[MAXSEEN][MSG_MAX];
    int nrec;
    int stop_ctl; /* on_control returns -1 on this message (1-based), 0 never */
} seen;

typedef struct fixture {
    const char *real; /* KAFKA_BOOTSTRAP, NULL: the mock */
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    const char *bs;
    config cfg;
    char ctl[64], bp[64]; /* this test's topics */
} fixture;

static int serial; /* topic names unique within the run (a real broker keeps them) */

static void topic_name(char *out, size_t n, const char *what) {
    snprintf(out, n, "control-test-%ld-%d-%s", (long)clock_wall_ms() % 100000000, serial++, what);
}

/* A topic with `parts` partitions and the cleanup.policy `policy`: the
 * mock's API, or CreateTopics on a real broker. */
static void make_topic(fixture *f, const char *name, int parts, const char *policy) {
    if (!f->real) {
        assert_int_equal(rd_kafka_mock_topic_create(f->mc, name, parts, 1), 0);
        return;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", f->bs, err, sizeof err), 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, parts, -1, err, sizeof err);
    assert_non_null(nt);
    assert_int_equal(rd_kafka_NewTopic_set_config(nt, "cleanup.policy", policy), 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, WAIT_MS);
    assert_non_null(ev);
    assert_int_equal(rd_kafka_event_error(ev), 0);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    assert_int_equal(n, 1);
    assert_int_equal(rd_kafka_topic_result_error(tr[0]), 0);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    /* Until the metadata lists it with its partitions. */
    for (int i = 0;; i++) {
        const struct rd_kafka_metadata *md = NULL;
        int have = -1;
        if (!rd_kafka_metadata(rk, 1, NULL, &md, WAIT_MS)) {
            for (int t = 0; t < md->topic_cnt; t++)
                if (!strcmp(md->topics[t].topic, name) && !md->topics[t].err)
                    have = md->topics[t].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        if (have == parts)
            break;
        assert_true(i < 100);
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    rd_kafka_destroy(rk);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *real = getenv("KAFKA_BOOTSTRAP");
    f->real = real && *real ? real : NULL;
    if (f->real) {
        f->bs = f->real;
    } else {
        char err[512];
        f->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
        assert_non_null(f->mock_rk);
        f->mc = rd_kafka_mock_cluster_new(f->mock_rk, 1);
        assert_non_null(f->mc);
        f->bs = rd_kafka_mock_cluster_bootstraps(f->mc);
    }
    assert_int_equal(config_defaults(&f->cfg), 0);
    topic_name(f->ctl, sizeof f->ctl, "control");
    topic_name(f->bp, sizeof f->bp, "breakpoints");
    if (!f->real) {
        make_topic(f, f->ctl, 1, "delete");
        make_topic(f, f->bp, 1, "compact");
    }
    char err[512];
    int rc = control_topics_ensure(&f->cfg, f->bs, f->ctl, f->bp, err, sizeof err);
    if (rc)
        fail_msg("control_topics_ensure: %d: %s", rc, err);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    config_free(&f->cfg);
    if (f->mc)
        rd_kafka_mock_cluster_destroy(f->mc);
    if (f->mock_rk)
        rd_kafka_destroy(f->mock_rk);
    free(f);
    return 0;
}

static void keep(char (*into)[MSG_MAX], int *n, const uint8_t *buf, size_t len) {
    assert_true(*n < MAXSEEN);
    assert_non_null(buf);
    assert_true(len > 0 && len < MSG_MAX);
    memcpy(into[*n], buf, len);
    into[*n][len] = '\0';
    (*n)++;
}

static int on_control(void *ctx, const uint8_t *buf, size_t len) {
    seen *s = ctx;
    keep(s->ctl, &s->nctl, buf, len);
    return s->stop_ctl && s->nctl == s->stop_ctl ? -1 : 0;
}

static int on_record(void *ctx, const uint8_t *buf, size_t len) {
    seen *s = ctx;
    keep(s->rec, &s->nrec, buf, len);
    return 0;
}

/* A handle on the fixture's topics, past control_read_latest; the newest
 * record's value into latest (NUL-terminated, "" for none). */
static control *open_read(fixture *f, char *latest, size_t n) {
    char err[512];
    control *c = control_open(&f->cfg, f->bs, f->ctl, f->bp, err, sizeof err);
    if (!c)
        fail_msg("control_open: %s", err);
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 7;
    if (control_read_latest(c, WAIT_MS, &buf, &len, err, sizeof err))
        fail_msg("control_read_latest: %s", err);
    assert_true(buf ? len > 0 && len < n : len == 0);
    if (buf)
        memcpy(latest, buf, len);
    latest[len] = '\0';
    free(buf);
    return c;
}

static void send_str(control *c, const char *s) {
    assert_int_equal(control_send(c, (const uint8_t *)s, strlen(s)), 0);
}

static void publish_str(control *c, const char *s) {
    assert_int_equal(control_publish(c, (const uint8_t *)s, strlen(s)), 0);
}

/* Serve c's delivery reports until `n` messages in all were delivered. */
static void wait_delivered(control *c, uint64_t n) {
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    for (;;) {
        assert_true(control_poll(c, NULL, NULL, NULL, 0) >= 0);
        control_stats st;
        control_get_stats(c, &st);
        assert_int_equal(st.send_failed, 0);
        if (st.delivered >= n)
            return;
        if (clock_mono_ms() > deadline)
            fail_msg("%llu of %llu delivered within %d ms", (unsigned long long)st.delivered,
                     (unsigned long long)n, WAIT_MS);
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Poll c (sleeping on its wake-up descriptor) until s holds nctl control
 * messages and nrec records, then for QUIET_MS more: nothing else comes. */
static void poll_until(control *c, seen *s, int nctl, int nrec) {
    int fd = control_wake_fd(c);
    assert_true(fd >= 0);
    int64_t deadline = clock_mono_ms() + WAIT_MS, quiet = -1;
    for (;;) {
        control_wake_clear(c);
        int n = control_poll(c, on_control, on_record, s, 64);
        if (n < 0)
            fail_msg("control_poll: %s", control_error(c));
        assert_true(s->nctl <= nctl && s->nrec <= nrec);
        int64_t now = clock_mono_ms();
        if (s->nctl == nctl && s->nrec == nrec) {
            if (quiet < 0)
                quiet = now + QUIET_MS;
            if (now >= quiet)
                return;
        }
        if (now > deadline)
            fail_msg("%d of %d control messages and %d of %d records within %d ms", s->nctl, nctl,
                     s->nrec, nrec, WAIT_MS);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, 50);
    }
}

/* ---- the topics ------------------------------------------------------- */

static void expect_refused(fixture *f, const char *ctl, const char *bp, int rc, const char *want1,
                           const char *want2) {
    char err[512] = "";
    assert_int_equal(control_topics_ensure(&f->cfg, f->bs, ctl, bp, err, sizeof err), rc);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("expected \"%s\"%s%s%s in: %s", want1, want2 ? " and \"" : "", want2 ? want2 : "",
                 want2 ? "\"" : "", err);
}

/* Present topics pass again; a wrong partition count of either is refused,
 * naming the topic, what it has and what it needs; on the mock an absent
 * topic is refused (nothing can create it over the network). */
static void test_topics_ensure(void **state) {
    fixture *f = *state;
    char err[512];
    assert_int_equal(control_topics_ensure(&f->cfg, f->bs, f->ctl, f->bp, err, sizeof err), 0);

    char ctl3[64], bp2[64];
    topic_name(ctl3, sizeof ctl3, "control3");
    topic_name(bp2, sizeof bp2, "breakpoints2");
    make_topic(f, ctl3, 3, "delete");
    make_topic(f, bp2, 2, "compact");
    char want[128];
    snprintf(want, sizeof want, "control topic %s has 3 partitions, needs 1", ctl3);
    expect_refused(f, ctl3, f->bp, -1, want, NULL);
    snprintf(want, sizeof want, "breakpoints topic %s has 2 partitions, needs 1", bp2);
    expect_refused(f, f->ctl, bp2, -1, want, NULL);
    expect_refused(f, f->ctl, f->ctl, -1, "need two topics", NULL);

    char absent[64];
    topic_name(absent, sizeof absent, "absent");
    if (!f->real) {
        snprintf(want, sizeof want, "breakpoints topic %s does not exist", absent);
        expect_refused(f, f->ctl, absent, -1, want, "mock cluster");
    } else {
        /* Created with what each needs: the check of it passes. */
        char absent2[64];
        topic_name(absent2, sizeof absent2, "absent2");
        assert_int_equal(control_topics_ensure(&f->cfg, f->bs, absent, absent2, err, sizeof err),
                         0);
        assert_int_equal(control_topics_ensure(&f->cfg, f->bs, absent, absent2, err, sizeof err),
                         0);
    }
}

/* A real broker only: a breakpoints topic that is not compacted. */
static void test_topics_policy(void **state) {
    fixture *f = *state;
    if (!f->real)
        skip(); /* the mock cluster has no topic configs */
    char bpd[64];
    topic_name(bpd, sizeof bpd, "breakpoints-delete");
    make_topic(f, bpd, 1, "delete");
    char want[160];
    snprintf(want, sizeof want, "breakpoints topic %s has cleanup.policy=delete, needs compact",
             bpd);
    expect_refused(f, f->ctl, bpd, -1, want, NULL);
}

/* ---- reading and sending --------------------------------------------- */

/* Three records published: a fresh handle's control_read_latest returns the
 * last; a record published afterwards comes through its control_poll (and
 * the three do not come again); the publisher reads all four. */
static void test_read_latest(void **state) {
    fixture *f = *state;
    char latest[MSG_MAX];
    control *a = open_read(f, latest, sizeof latest);
    assert_string_equal(latest, "");
    publish_str(a, "record-1");
    publish_str(a, "record-2");
    publish_str(a, "record-3");
    wait_delivered(a, 3);

    control *b = open_read(f, latest, sizeof latest);
    assert_string_equal(latest, "record-3");
    control_stats st;
    control_get_stats(b, &st);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.bytes_records, 3 * strlen("record-1"));
    char err[512];
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(control_read_latest(b, WAIT_MS, &buf, &len, err, sizeof err), -1);
    assert_null(buf);
    assert_non_null(strstr(err, "read already"));

    publish_str(a, "record-4");
    wait_delivered(a, 4);
    seen sb = {0};
    poll_until(b, &sb, 0, 1);
    assert_string_equal(sb.rec[0], "record-4");
    control_get_stats(b, &st);
    assert_int_equal(st.records, 4);

    seen sa = {0};
    poll_until(a, &sa, 0, 4);
    for (int i = 0; i < 4; i++) {
        char want[MSG_MAX];
        snprintf(want, sizeof want, "record-%d", i + 1);
        assert_string_equal(sa.rec[i], want);
    }
    control_get_stats(a, &st);
    assert_int_equal(st.published, 4);
    assert_int_equal(st.bytes_published, 4 * strlen("record-1"));
    assert_int_equal(st.sent, 0);
    control_free(b);
    control_free(a);
}

/* A's control messages reach B from the end B started at (not the one sent
 * before B opened), and A itself, in order; B's reach A. */
static void test_send(void **state) {
    fixture *f = *state;
    char latest[MSG_MAX];
    control *a = open_read(f, latest, sizeof latest);
    send_str(a, "before");
    wait_delivered(a, 1);

    control *b = open_read(f, latest, sizeof latest);
    assert_string_equal(latest, "");
    send_str(a, "after-1");
    send_str(a, "after-2");
    seen sb = {0};
    poll_until(b, &sb, 2, 0);
    assert_string_equal(sb.ctl[0], "after-1");
    assert_string_equal(sb.ctl[1], "after-2");

    send_str(b, "from-b");
    seen sa = {0};
    poll_until(a, &sa, 4, 0);
    assert_string_equal(sa.ctl[0], "before");
    assert_string_equal(sa.ctl[1], "after-1");
    assert_string_equal(sa.ctl[2], "after-2");
    assert_string_equal(sa.ctl[3], "from-b");

    wait_delivered(a, 3); /* a message may be read back before its ack */
    control_stats st;
    control_get_stats(a, &st);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.bytes_sent, strlen("before") + 2 * strlen("after-1"));
    assert_int_equal(st.received, 4);
    assert_int_equal(st.delivered, 3);
    assert_int_equal(st.send_failed, 0);
    poll_until(b, &sb, 3, 0); /* its own comes back too */
    assert_string_equal(sb.ctl[2], "from-b");
    control_get_stats(b, &st);
    assert_int_equal(st.received, 3);
    control_free(b);
    control_free(a);
}

/* B's descriptor turns readable when A's message arrives; a callback that
 * returns -1 makes control_poll return -1, and the next call goes on after
 * that message. */
static void test_wake_and_stop(void **state) {
    fixture *f = *state;
    char latest[MSG_MAX];
    control *a = open_read(f, latest, sizeof latest);
    control *b = open_read(f, latest, sizeof latest);
    seen sb = {0};
    poll_until(b, &sb, 0, 0); /* whatever was queued (EOF events) is served */
    int fd = control_wake_fd(b);
    assert_true(fd >= 0);
    assert_int_equal(control_wake_fd(b), fd);
    control_wake_clear(b);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    send_str(a, "one");
    send_str(a, "two");
    assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
    wait_delivered(a, 2);

    sb.stop_ctl = 1;
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    int rc;
    while ((rc = control_poll(b, on_control, on_record, &sb, 64)) == 0 && sb.nctl == 0) {
        assert_true(clock_mono_ms() < deadline);
        poll(&pfd, 1, 50);
        control_wake_clear(b);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(sb.nctl, 1);
    assert_string_equal(sb.ctl[0], "one");
    assert_non_null(strstr(control_error(b), "stopped by the control callback"));
    sb.stop_ctl = 0;
    poll_until(b, &sb, 2, 0);
    assert_string_equal(sb.ctl[1], "two");
    control_free(b);
    control_free(a);
}

/* What the producer refuses is -1 and counted; a refused Kafka property
 * fails control_open with its YAML key. */
static void test_refused(void **state) {
    fixture *f = *state;
    char latest[MSG_MAX];
    control *a = open_read(f, latest, sizeof latest);
    size_t big = 2 * 1024 * 1024; /* over message.max.bytes */
    uint8_t *buf = calloc(1, big);
    assert_non_null(buf);
    assert_int_equal(control_send(a, buf, big), -1);
    assert_int_equal(control_publish(a, buf, big), -1);
    free(buf);
    control_stats st;
    control_get_stats(a, &st);
    assert_int_equal(st.send_failed, 2);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.published, 0);
    control_free(a);
    control_free(NULL);

    char err[512] = "";
    f->cfg.kafka.consumer[0].key = strdup("no.such.property");
    f->cfg.kafka.consumer[0].value = strdup("1");
    f->cfg.kafka.nconsumer = 1;
    assert_null(control_open(&f->cfg, f->bs, f->ctl, f->bp, err, sizeof err));
    assert_non_null(strstr(err, "kafka.consumer.no.such.property"));
    f->cfg.kafka.producer[0].key = strdup("enable.idempotence");
    f->cfg.kafka.producer[0].value = strdup("false");
    f->cfg.kafka.nproducer = 1;
    assert_null(control_open(&f->cfg, f->bs, f->ctl, f->bp, err, sizeof err));
    assert_non_null(strstr(err, "kafka.producer.enable.idempotence"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_topics_ensure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topics_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wake_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
