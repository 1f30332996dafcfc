/*
 * control — see control.h.
 *
 * The topic check follows changelog_topic.c, with the same topic_admin
 * requests: one all-topics metadata request, one CreateTopics request for
 * whatever is absent, one DescribeConfigs request for the breakpoints
 * topic's cleanup.policy.
 *
 * The consumer serves one queue: rd_kafka_poll_set_consumer routes
 * librdkafka's main queue (errors) into it, and messages are taken one at a
 * time with rd_kafka_consumer_poll (consumer.c says why not the batch API).
 * Both partitions are assigned at absolute offsets, queried, never at the
 * logical END: a logical offset is resolved when the fetcher starts, after
 * control_read_latest has returned, and a message sent in between would be
 * skipped. auto.offset.reset=earliest covers an offset that went out of
 * range (a topic recreated under a running instance): a replayed control
 * message is ignored by the round (its round id), a replayed record too
 * (its version), while a skipped record would leave the member behind.
 *
 * The producer's delivery reports only count; they are served by
 * control_poll (and control_free's flush), on the daemon's thread.
 */
#include "control.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kconf.h"
#include "kwake.h"
#include "log.h"
#include "topic_admin.h"
#include "util/clock.h"
#include "util/errbuf.h"

struct control {
    rd_kafka_t *prod;
    rd_kafka_t *cons;
    char *control_topic;
    char *bp_topic;
    bool read_latest; /* control_read_latest was called */
    bool failed;
    char error[1024];
    control_stats stats;
    log_ratelimit err_rl; /* consumer and producer errors */
    log_ratelimit send_rl;
    kwake wake;
};

/* ---- the topics ------------------------------------------------------- */

enum { NTOPICS = 2 }; /* control, breakpoints */

/* One of the two topics, for control_topics_ensure. */
typedef struct control_topic_spec {
    const char *what;  /* "control", "breakpoints": the message's prefix */
    const char *topic; /* its name */
    bool compact;      /* cleanup.policy=compact (else delete, with a retention) */
    int have;          /* partitions in the metadata, -1 absent */
} control_topic_spec;

/* Read every topic's partition count into ts. 0, or the error. */
static rd_kafka_resp_err_t control_topics_read(const topic_admin *ta, control_topic_spec *ts) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = topic_admin_metadata(ta, &md);
    if (e)
        return e;
    for (size_t i = 0; i < NTOPICS; i++)
        ts[i].have = topic_admin_count(md, ts[i].topic);
    rd_kafka_metadata_destroy(md);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Create the absent topics of ts in one request, then wait (a few seconds
 * at most) until the metadata lists them. 0, -1 or -2. */
static int control_topics_create(const topic_admin *ta, control_topic_spec *ts, char *err,
                                 size_t errlen) {
    rd_kafka_NewTopic_t *nt[NTOPICS] = {NULL, NULL};
    const char *names[NTOPICS] = {NULL, NULL};
    control_topic_spec *of[NTOPICS] = {NULL, NULL};
    size_t nnew = 0;
    char e[512];
    for (size_t i = 0; i < NTOPICS; i++) {
        if (ts[i].have >= 0)
            continue;
        nt[nnew] = rd_kafka_NewTopic_new(ts[i].topic, 1, -1, e, sizeof e);
        if (!nt[nnew]) {
            errbuf_set(err, errlen, "%s topic %s: %s", ts[i].what, ts[i].topic, e);
            for (size_t k = 0; k < nnew; k++)
                rd_kafka_NewTopic_destroy(nt[k]);
            return -1;
        }
        rd_kafka_NewTopic_set_config(nt[nnew], "cleanup.policy",
                                     ts[i].compact ? "compact" : "delete");
        if (!ts[i].compact)
            rd_kafka_NewTopic_set_config(nt[nnew], "retention.ms", CONTROL_RETENTION_MS);
        names[nnew] = ts[i].topic;
        of[nnew++] = &ts[i];
    }
    topic_admin_failure f;
    int rc = topic_admin_create(ta, nt, names, nnew, &f);
    if (rc < 0) {
        const control_topic_spec *t = of[f.topic < nnew ? f.topic : 0];
        errbuf_set(err, errlen,
                   "%s topic %s does not exist and cannot be created (1 partition, "
                   "cleanup.policy=%s%s): %s%s%s; create it so",
                   t->what, t->topic, t->compact ? "compact" : "delete",
                   t->compact ? "" : ", retention.ms=" CONTROL_RETENTION_MS,
                   rd_kafka_err2str(f.code), f.msg[0] ? ": " : "", f.msg);
    }
    const char *all[NTOPICS] = {ts[0].topic, ts[1].topic};
    int have[NTOPICS] = {ts[0].have, ts[1].have};
    rd_kafka_resp_err_t me = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (rc == 0 && topic_admin_await(ta, all, NTOPICS, have, &me) < 0) {
        errbuf_set(err, errlen, "control: topics %s and %s created but not listed: %s", ts[0].topic,
                   ts[1].topic, me ? rd_kafka_err2str(me) : "not in the cluster's metadata");
        rc = -2;
    }
    for (size_t i = 0; i < NTOPICS; i++)
        ts[i].have = have[i];
    for (size_t k = 0; rc == 0 && k < nnew; k++)
        log_notice("%s: created topic %s (1 partition, cleanup.policy=%s%s)", of[k]->what,
                   of[k]->topic, of[k]->compact ? "compact" : "delete",
                   of[k]->compact ? "" : ", retention.ms=" CONTROL_RETENTION_MS);
    for (size_t k = 0; k < nnew; k++)
        rd_kafka_NewTopic_destroy(nt[k]);
    return rc;
}

/* The breakpoints topic's cleanup.policy must contain "compact": the record
 * read at start is the newest one only if nothing deletes it. 0, -1, -2. */
static int control_topics_policy(const topic_admin *ta, const control_topic_spec *t, char *err,
                                 size_t errlen) {
    char buf[256];
    const char *policy = NULL;
    int rc = topic_admin_policy(ta, t->what, t->topic, buf, sizeof buf, &policy, err, errlen);
    if (rc != 0)
        return rc > 0 ? 0 : rc; /* 1: not checked, logged */
    if (!policy || !strstr(policy, "compact")) {
        errbuf_set(err, errlen,
                   "%s topic %s has cleanup.policy=%s, needs compact (the newest record must "
                   "stay; e.g. kafka-configs.sh --alter --entity-type topics --entity-name %s "
                   "--add-config cleanup.policy=compact)",
                   t->what, t->topic, policy ? policy : "(none)", t->topic);
        return -1;
    }
    return 0;
}

/* The checks, with the Admin client ta. */
static int control_topics_check(const topic_admin *ta, control_topic_spec *ts, char *err,
                                size_t errlen) {
    rd_kafka_resp_err_t e = control_topics_read(ta, ts);
    if (e) {
        errbuf_set(err, errlen,
                   "control: cannot read the cluster's metadata to check topics %s and %s: %s",
                   ts[0].topic, ts[1].topic, rd_kafka_err2str(e));
        return -2;
    }
    bool mock = topic_admin_is_mock(ta);
    bool absent = false;
    for (size_t i = 0; i < NTOPICS; i++) {
        if (ts[i].have >= 0)
            continue;
        absent = true;
        if (mock) {
            errbuf_set(err, errlen,
                       "%s topic %s does not exist, and librdkafka's mock cluster cannot create "
                       "topics over the network: create it with rd_kafka_mock_topic_create (1 "
                       "partition), as embedded.c creates rfmd's other topics",
                       ts[i].what, ts[i].topic);
            return -1;
        }
    }
    if (absent) {
        int rc = control_topics_create(ta, ts, err, errlen);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < NTOPICS; i++)
        if (ts[i].have != 1) {
            errbuf_set(err, errlen,
                       "%s topic %s has %d partitions, needs 1 (every member must read the "
                       "round's %s in one order); delete and recreate it with 1 partition, or "
                       "name another topic",
                       ts[i].what, ts[i].topic, ts[i].have, ts[i].compact ? "records" : "messages");
            return -1;
        }
    /* The mock implements neither DescribeConfigs nor topic configs: the
     * request would only time out. */
    int rc = 0;
    for (size_t i = 0; i < NTOPICS && rc == 0; i++) {
        if (!ts[i].compact)
            continue;
        if (mock)
            log_notice("%s: librdkafka's mock cluster has no topic configs: the cleanup.policy "
                       "of %s is not checked",
                       ts[i].what, ts[i].topic);
        else
            rc = control_topics_policy(ta, &ts[i], err, errlen);
    }
    if (rc == 0)
        log_info("control: topics %s and %s have 1 partition each", ts[0].topic, ts[1].topic);
    return rc;
}

int control_topics_ensure(const config *cfg, const char *brokers, const char *control_topic,
                          const char *bp_topic, char *err, size_t errlen) {
    control_topic_spec ts[NTOPICS] = {
        {.what = "control", .topic = control_topic, .compact = false, .have = -1},
        {.what = "breakpoints", .topic = bp_topic, .compact = true, .have = -1},
    };
    if (!strcmp(control_topic, bp_topic)) {
        errbuf_set(err, errlen,
                   "control: the control and breakpoints topics are both %s: they "
                   "need two topics",
                   control_topic);
        return -1;
    }
    topic_admin ta;
    if (topic_admin_open(&ta, cfg, brokers, "control", CONTROL_TIMEOUT_MS, err, errlen) < 0)
        return -1;
    int rc = control_topics_check(&ta, ts, err, errlen);
    topic_admin_close(&ta);
    return rc;
}

/* ---- the clients ------------------------------------------------------ */

static void control_fail(control *c, const char *what, const char *detail) {
    if (!c->failed) {
        snprintf(c->error, sizeof c->error, "%s: %s", what, detail);
        log_error("control: %s", c->error);
    }
    c->failed = true;
}

static void control_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    control *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        control_fail(c, rd_kafka_name(rk), fatal);
        return;
    }
    log_rl(&c->err_rl, LOG_LEVEL_WARNING, "control: %s: %s: %s (retrying)", rd_kafka_name(rk),
           rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void control_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    control *c = opaque;
    if (!m->err) {
        c->stats.delivered++;
        return;
    }
    c->stats.send_failed++;
    log_rl(&c->send_rl, LOG_LEVEL_WARNING, "control: a message to %s was not delivered: %s",
           rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

/* What the round depends on, over the user's properties. */
static int control_conf_producer(rd_kafka_conf_t *conf, char *err, size_t errlen) {
    return kconf_set(conf, "control", "acks", "all", err, errlen) < 0 ||
                   kconf_set(conf, "control", "linger.ms", "1", err, errlen) < 0
               ? -1
               : 0;
}

/* EOF ends control_read_latest when the last offsets below the end are
 * gone (compaction); a short fetch wait, as restore.c says, and the round
 * waits for every message. */
static int control_conf_consumer(rd_kafka_conf_t *conf, char *err, size_t errlen) {
    return kconf_set(conf, "control", "enable.auto.commit", "false", err, errlen) < 0 ||
                   kconf_set(conf, "control", "isolation.level", "read_committed", err, errlen) <
                       0 ||
                   kconf_set(conf, "control", "enable.partition.eof", "true", err, errlen) < 0 ||
                   kconf_set(conf, "control", "auto.offset.reset", "earliest", err, errlen) < 0 ||
                   kconf_set(conf, "control", "fetch.wait.max.ms", "10", err, errlen) < 0
               ? -1
               : 0;
}

/* One client of the role; NULL with err. */
static rd_kafka_t *control_client(control *c, const config *cfg, kconf_role role,
                                  const char *brokers, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = kconf_build(cfg, role, brokers, err, errlen);
    if (!conf)
        return NULL;
    int rc = role == KCONF_PRODUCER ? control_conf_producer(conf, err, errlen)
                                    : control_conf_consumer(conf, err, errlen);
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_error_cb(conf, control_error_cb);
    if (role == KCONF_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(conf, control_dr_cb);
    char kerr[512];
    rd_kafka_t *rk = rd_kafka_new(role == KCONF_PRODUCER ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
                                  conf, kerr, sizeof kerr);
    if (!rk) {
        errbuf_set(err, errlen, "control %s: %s", role == KCONF_PRODUCER ? "producer" : "consumer",
                   kerr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

control *control_open(const config *cfg, const char *brokers, const char *control_topic,
                      const char *bp_topic, char *err, size_t errlen) {
    control *c = calloc(1, sizeof *c);
    if (c) {
        c->control_topic = strdup(control_topic);
        c->bp_topic = strdup(bp_topic);
    }
    if (!c || !c->control_topic || !c->bp_topic) {
        errbuf_set(err, errlen, "out of memory");
        control_free(c);
        return NULL;
    }
    kwake_init(&c->wake);
    log_ratelimit_init(&c->err_rl, 10000, 5);
    log_ratelimit_init(&c->send_rl, 10000, 5);
    c->prod = control_client(c, cfg, KCONF_PRODUCER, brokers, err, errlen);
    if (c->prod)
        c->cons = control_client(c, cfg, KCONF_CONSUMER, brokers, err, errlen);
    if (!c->cons) {
        control_free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->cons);
    return c;
}

void control_free(control *c) {
    if (!c)
        return;
    if (c->prod) {
        rd_kafka_flush(c->prod, CONTROL_FLUSH_MS);
        int left = rd_kafka_outq_len(c->prod);
        if (left > 0)
            log_warning("control: %d message(s) not delivered within %d ms, given up", left,
                        CONTROL_FLUSH_MS);
        rd_kafka_destroy(c->prod);
    }
    if (c->cons)
        rd_kafka_destroy(c->cons);
    kwake_close(&c->wake);
    free(c->control_topic);
    free(c->bp_topic);
    free(c);
}

/* ---- reading ---------------------------------------------------------- */

/* The partition's offsets; a topic just created may have no leader yet for
 * a moment: those answers are retried for up to CONTROL_LEADER_WAIT_MS. */
static rd_kafka_resp_err_t control_watermarks(control *c, const char *topic, int64_t *lo,
                                              int64_t *hi) {
    rd_kafka_resp_err_t e;
    for (int64_t t0 = clock_mono_ms();;) {
        e = rd_kafka_query_watermark_offsets(c->cons, topic, 0, lo, hi, CONTROL_QUERY_TIMEOUT_MS);
        if ((e != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
             e != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
             e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) ||
            clock_mono_ms() - t0 >= CONTROL_LEADER_WAIT_MS)
            break;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!e && (*lo < 0 || *hi < *lo))
        e = RD_KAFKA_RESP_ERR__BAD_MSG;
    return e;
}

/* Assign partition 0 of bp_topic at bp_from and, unless ctl_from < 0, of
 * control_topic at ctl_from (replacing any assignment). 0 or -1. */
static int control_assign(control *c, int64_t bp_from, int64_t ctl_from, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(l, c->bp_topic, 0)->offset = bp_from;
    if (ctl_from >= 0)
        rd_kafka_topic_partition_list_add(l, c->control_topic, 0)->offset = ctl_from;
    rd_kafka_resp_err_t e = rd_kafka_assign(c->cons, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        errbuf_set(err, errlen, "control: assign failed: %s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* The read of bp_topic's [lo, hi) by control_read_latest: the last value
 * into *last (*lastlen), replaced as records come. 0 or -1 with err. */
static int control_read_range(control *c, int64_t lo, int64_t hi, int timeout_ms, uint8_t **last,
                              size_t *lastlen, char *err, size_t errlen) {
    if (control_assign(c, lo, -1, err, errlen) < 0)
        return -1;
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int64_t pos = lo; /* the next offset expected */
    while (pos < hi) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0) {
            errbuf_set(err, errlen,
                       "control: breakpoints topic %s: read to offset %" PRId64 " of %" PRId64
                       " within %d ms only",
                       c->bp_topic, pos, hi, timeout_ms);
            return -1;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->cons, (int)(left > 100 ? 100 : left));
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->offset >= hi)
                pos = hi; /* the last offsets below the end are gone */
        } else if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
                   m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            errbuf_set(err, errlen, "control: breakpoints topic %s: %s", c->bp_topic,
                       rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return -1;
        } else if (m->err) {
            log_rl(&c->err_rl, LOG_LEVEL_WARNING, "control: %s [0]: %s: %s (retrying)", c->bp_topic,
                   rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        } else if (m->offset >= hi) {
            pos = hi; /* produced since: control_poll reads it again */
        } else if (m->offset >= pos) {
            pos = m->offset + 1;
            c->stats.records++;
            c->stats.bytes_records += m->len;
            uint8_t *copy = NULL;
            if (m->payload && m->len) {
                copy = malloc(m->len);
                if (!copy) {
                    rd_kafka_message_destroy(m);
                    errbuf_set(err, errlen, "out of memory");
                    return -1;
                }
                memcpy(copy, m->payload, m->len);
            }
            free(*last);
            *last = copy;
            *lastlen = copy ? m->len : 0;
        }
        rd_kafka_message_destroy(m);
    }
    return 0;
}

int control_read_latest(control *c, int timeout_ms, uint8_t **buf, size_t *len, char *err,
                        size_t errlen) {
    *buf = NULL;
    *len = 0;
    if (c->read_latest) {
        errbuf_set(err, errlen, "control: the breakpoints topic was read already");
        return -1;
    }
    c->read_latest = true;
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t e = control_watermarks(c, c->bp_topic, &lo, &hi);
    if (e) {
        errbuf_set(err, errlen, "control: breakpoints topic %s [0]: offsets not read: %s",
                   c->bp_topic, rd_kafka_err2str(e));
        return -1;
    }
    uint8_t *last = NULL;
    size_t lastlen = 0;
    if (hi > lo && control_read_range(c, lo, hi, timeout_ms, &last, &lastlen, err, errlen) < 0) {
        free(last);
        return -1;
    }
    int64_t clo = -1, chi = -1;
    e = control_watermarks(c, c->control_topic, &clo, &chi);
    if (e) {
        errbuf_set(err, errlen, "control: control topic %s [0]: offsets not read: %s",
                   c->control_topic, rd_kafka_err2str(e));
        free(last);
        return -1;
    }
    if (control_assign(c, hi, chi, err, errlen) < 0) {
        free(last);
        return -1;
    }
    log_info("control: %s: %s up to offset %" PRId64 "; reading %s from offset %" PRId64,
             c->bp_topic, last ? "newest record read" : "no record", hi, c->control_topic, chi);
    *buf = last;
    *len = lastlen;
    return 0;
}

/* A non-data message from control_poll (the caller destroys it). */
static void control_event(control *c, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "-";
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        log_debug("control: %s [%d] reached end at offset %" PRId64, topic, (int)m->partition,
                  m->offset);
    } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_fatal_error(c->cons, fatal, sizeof fatal);
        control_fail(c, "fatal error", fatal);
    } else if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        control_fail(c, topic, rd_kafka_message_errstr(m));
    } else {
        log_rl(&c->err_rl, LOG_LEVEL_WARNING, "control: %s [%d]: %s: %s", topic, (int)m->partition,
               rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    }
}

int control_poll(control *c, control_msg_fn on_control, control_msg_fn on_record, void *ctx,
                 size_t max) {
    if (c->failed)
        return -1;
    rd_kafka_poll(c->prod, 0);
    if (c->failed)
        return -1;
    size_t taken = 0;
    while (taken < max) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->cons, 0);
        if (!m)
            break;
        int rc = 0;
        if (m->err) {
            control_event(c, m);
        } else {
            taken++;
            const uint8_t *p = m->len ? m->payload : NULL;
            const char *topic = rd_kafka_topic_name(m->rkt);
            bool ctl = !strcmp(topic, c->control_topic);
            control_msg_fn fn = ctl ? on_control : on_record;
            if (ctl) {
                c->stats.received++;
                c->stats.bytes_received += m->len;
            } else {
                c->stats.records++;
                c->stats.bytes_records += m->len;
            }
            if (fn)
                rc = fn(ctx, p, m->len);
            if (rc < 0)
                snprintf(c->error, sizeof c->error,
                         "stopped by the %s callback at %s [%d] offset %" PRId64,
                         ctl ? "control" : "record", topic, (int)m->partition, m->offset);
        }
        rd_kafka_message_destroy(m);
        if (rc < 0 || c->failed)
            return -1;
    }
    return (int)taken;
}

/* ---- sending ---------------------------------------------------------- */

static int control_produce(control *c, const char *topic, const char *key, const uint8_t *buf,
                           size_t len) {
    if (c->failed)
        return -1;
    rd_kafka_resp_err_t e =
        rd_kafka_producev(c->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)buf, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) {
        c->stats.send_failed++;
        log_rl(&c->send_rl, LOG_LEVEL_WARNING, "control: %zu bytes to %s refused: %s", len, topic,
               rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int control_send(control *c, const uint8_t *buf, size_t len) {
    if (control_produce(c, c->control_topic, CONTROL_ROUND_KEY, buf, len) < 0)
        return -1;
    c->stats.sent++;
    c->stats.bytes_sent += len;
    return 0;
}

int control_publish(control *c, const uint8_t *buf, size_t len) {
    if (control_produce(c, c->bp_topic, CONTROL_BREAKPOINTS_KEY, buf, len) < 0)
        return -1;
    c->stats.published++;
    c->stats.bytes_published += len;
    return 0;
}

/* ---- the rest --------------------------------------------------------- */

int control_wake_fd(control *c) {
    return kwake_fd(&c->wake, c->cons);
}

void control_wake_clear(control *c) {
    kwake_clear(&c->wake);
}

const char *control_error(const control *c) {
    return c->error;
}

void control_get_stats(const control *c, control_stats *out) {
    *out = c->stats;
}
