/*
 * producer — see producer.h.
 *
 * Delivery reports are served by producer_poll on the daemon's main thread,
 * the tracker's only user, so settling refs needs no lock. The report's
 * msg_opaque is the tracker_ref.
 *
 * Failure policy: with enable.idempotence librdkafka retries transient
 * errors until message.timeout.ms; what still reaches the report as an error
 * is lost for good, so it makes the producer "failed" and the daemon exits
 * non-zero without committing past it. Fatal errors (idempotence state lost,
 * reported as RD_KAFKA_RESP_ERR__FATAL to error_cb) are treated the same.
 * Other error_cb errors (brokers down, transport) are transient: logged,
 * rate-limited, retried by librdkafka forever.
 */
#include "producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kconf.h"
#include "log.h"
#include "util/clock.h"
#include "util/errbuf.h"

struct producer {
    rd_kafka_t *rk;
    tracker *trk;
    producer_backpressure_fn bp_fn;
    void *bp_ctx;
    bool failed;
    char error[1024];
    producer_stats stats;
    log_ratelimit err_rl;
    /* producer_track: the topics whose delivered offsets are kept, and per
     * partition the next offset after the highest one delivered (-1 none). */
    struct producer_tracked {
        char *topic;
        int64_t *delivered;
        size_t ndelivered;
    } tracked[PRODUCER_TRACK_MAX];
    size_t ntracked;
    /* Exactly-once (producer_txn_*): transactional, and a transaction open. */
    bool transactional;
    bool in_txn;
    int64_t txn_begun_ms; /* clock_mono_ms at begin, while in_txn */
};

/* The tracked topic of that name, NULL when it is not tracked. */
static struct producer_tracked *producer_tracked_of(const producer *p, const char *topic) {
    for (size_t i = 0; i < p->ntracked; i++)
        if (!strcmp(p->tracked[i].topic, topic))
            return (struct producer_tracked *)&p->tracked[i];
    return NULL;
}

/* Note a delivered message of a tracked topic. */
static void producer_note_delivered(producer *p, const rd_kafka_message_t *m) {
    if (!p->ntracked || m->partition < 0 || m->offset < 0)
        return;
    struct producer_tracked *t = producer_tracked_of(p, rd_kafka_topic_name(m->rkt));
    if (!t)
        return;
    size_t part = (size_t)m->partition;
    if (part >= t->ndelivered) {
        size_t n = part + 16;
        int64_t *d = realloc(t->delivered, n * sizeof *d);
        if (!d)
            return; /* only a checkpoint's changelog position is less precise */
        for (size_t i = t->ndelivered; i < n; i++)
            d[i] = -1;
        t->delivered = d;
        t->ndelivered = n;
    }
    if (m->offset + 1 > t->delivered[part])
        t->delivered[part] = m->offset + 1;
}

static void producer_fail(producer *p, const char *fmt, const char *a, const char *b) {
    if (!p->failed) {
        snprintf(p->error, sizeof p->error, fmt, a, b);
        log_error("producer: %s", p->error);
    }
    p->failed = true;
}

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    producer *p = opaque;
    tracker_ref *ref = m->_private;
    if (p->transactional &&
        (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
        /* Its transaction was aborted (producer_txn_commit, _abort): the
         * daemon rewinds the state that produced it, which produces it
         * again; what it was waiting for is settled, not failed. */
        p->stats.aborted++;
        tracker_ref_done(p->trk, ref, true);
        return;
    }
    if (m->err) {
        p->stats.failed++;
        char what[256];
        snprintf(what, sizeof what, "%s [%d]", rd_kafka_topic_name(m->rkt), (int)m->partition);
        producer_fail(p, "delivery to %s failed: %s", what, rd_kafka_err2str(m->err));
        tracker_ref_done(p->trk, ref, false);
        return;
    }
    p->stats.delivered++;
    producer_note_delivered(p, m);
    tracker_ref_done(p->trk, ref, true);
}

static void producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        producer_fail(p, "fatal error %s: %s", rd_kafka_err2name(ferr), fatal);
        return;
    }
    log_rl(&p->err_rl, LOG_LEVEL_WARNING, "producer: %s: %s (retrying)",
           rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

producer *producer_new(const config *cfg, const char *brokers, const char *txn_id, tracker *trk,
                       char *err, size_t errlen) {
    producer *p = calloc(1, sizeof *p);
    if (!p) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    p->trk = trk;
    log_ratelimit_init(&p->err_rl, 10000, 5);
    rd_kafka_conf_t *conf = kconf_build(cfg, KCONF_PRODUCER, brokers, err, errlen);
    if (!conf) {
        free(p);
        return NULL;
    }
    if (txn_id) {
        /* A zombie's open transaction blocks read_committed readers of its
         * partitions (a restore among them) until it times out: keep that
         * short unless the user chose otherwise. */
        bool user_timeout = config_prop_get(cfg->kafka.producer, cfg->kafka.nproducer,
                                            "transaction.timeout.ms") != NULL;
        if (kconf_set(conf, "kafka", "transactional.id", txn_id, err, errlen) < 0 ||
            (!user_timeout && kconf_set(conf, "kafka", "transaction.timeout.ms",
                                        PRODUCER_TXN_TIMEOUT_MS, err, errlen) < 0)) {
            rd_kafka_conf_destroy(conf);
            free(p);
            return NULL;
        }
        p->transactional = true;
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
    rd_kafka_conf_set_error_cb(conf, producer_error_cb);
    char kerr[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
    if (!p->rk) {
        errbuf_set(err, errlen, "kafka.producer: %s", kerr);
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    return p;
}

void producer_free(producer *p) {
    if (!p)
        return;
    /* Whatever is left is failed: its refs are settled by the purge's
     * reports so nothing leaks and nothing is committed past it. */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, 2000);
    rd_kafka_destroy(p->rk);
    for (size_t i = 0; i < p->ntracked; i++) {
        free(p->tracked[i].topic);
        free(p->tracked[i].delivered);
    }
    free(p);
}

int producer_track(producer *p, const char *topic) {
    if (producer_tracked_of(p, topic))
        return 0;
    if (p->ntracked == PRODUCER_TRACK_MAX)
        return -1;
    char *t = strdup(topic);
    if (!t)
        return -1;
    p->tracked[p->ntracked++] = (struct producer_tracked){.topic = t};
    return 0;
}

int64_t producer_delivered_next(const producer *p, const char *topic, int32_t partition) {
    const struct producer_tracked *t = producer_tracked_of(p, topic);
    if (!t || partition < 0 || (size_t)partition >= t->ndelivered)
        return -1;
    return t->delivered[partition];
}

void producer_forget_delivered(producer *p, const char *topic, int32_t partition) {
    struct producer_tracked *t = producer_tracked_of(p, topic);
    if (t && partition >= 0 && (size_t)partition < t->ndelivered)
        t->delivered[partition] = -1;
}

void producer_set_backpressure(producer *p, producer_backpressure_fn fn, void *ctx) {
    p->bp_fn = fn;
    p->bp_ctx = ctx;
}

/* Open a transaction (exactly-once): before the first message after a
 * commit, or before offsets alone. 0, or -1 with the producer failed. */
static int producer_txn_begin(producer *p) {
    rd_kafka_error_t *e = rd_kafka_begin_transaction(p->rk);
    if (e) {
        producer_fail(p, "begin transaction: %s%s", rd_kafka_error_string(e), "");
        rd_kafka_error_destroy(e);
        return -1;
    }
    p->in_txn = true;
    p->txn_begun_ms = clock_mono_ms();
    return 0;
}

static rd_kafka_resp_err_t producer_try(producer *p, const producer_msg *m, tracker_ref *ref) {
    int flags = m->owned ? RD_KAFKA_MSG_F_FREE : RD_KAFKA_MSG_F_COPY;
    int32_t part = m->partitioned ? m->partition : RD_KAFKA_PARTITION_UA;
    if (m->header_name)
        return rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_PARTITION(part),
            RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(m->value, m->len),
            RD_KAFKA_V_HEADER(m->header_name, m->header_value, (ssize_t)m->header_len),
            RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
    return rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_PARTITION(part),
                             RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_KEY(m->key, m->key_len),
                             RD_KAFKA_V_VALUE(m->value, m->len), RD_KAFKA_V_OPAQUE(ref),
                             RD_KAFKA_V_END);
}

int producer_send(producer *p, const producer_msg *m, tracker_ref *ref) {
    if (p->failed || (p->transactional && !p->in_txn && producer_txn_begin(p) < 0)) {
        tracker_ref_done(p->trk, ref, false);
        if (m->owned)
            free(m->value);
        return -1;
    }
    rd_kafka_resp_err_t e = producer_try(p, m, ref);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        p->stats.queue_full_waits++;
        log_debug("producer: local queue full, pausing consumption until it drains");
        if (p->bp_fn)
            p->bp_fn(p->bp_ctx, true);
        int64_t since = clock_mono_ms();
        int64_t warned = since;
        while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !p->failed) {
            rd_kafka_poll(p->rk, 100);
            e = producer_try(p, m, ref);
            int64_t now = clock_mono_ms();
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && now - warned >= 10000) {
                /* Brokers unreachable: librdkafka keeps retrying until
                 * message.timeout.ms, whose failure reports end the wait. */
                log_warning("producer: queue still full after %llds (%d messages waiting)",
                            (long long)((now - since) / 1000), rd_kafka_outq_len(p->rk));
                warned = now;
            }
        }
        if (p->bp_fn)
            p->bp_fn(p->bp_ctx, false);
    }
    if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        /* This one message can never be sent (a dead-letter copy of an input
         * near the size limit): failing the daemon would only crash-loop on
         * it, so it is refused loudly and the input moves on. */
        log_error("producer: message to %s refused: %s (%zu bytes; raise "
                  "kafka.producer.message.max.bytes)",
                  m->topic, rd_kafka_err2str(e), m->len);
        tracker_ref_done(p->trk, ref, true);
        if (m->owned)
            free(m->value);
        return -2;
    }
    if (e) {
        producer_fail(p, "cannot produce to %s: %s", m->topic, rd_kafka_err2str(e));
        /* librdkafka did not take the message: its value is still ours. */
        tracker_ref_done(p->trk, ref, false);
        if (m->owned)
            free(m->value);
        return -1;
    }
    p->stats.sent++;
    return 0;
}

void producer_poll(producer *p, int timeout_ms) {
    rd_kafka_poll(p->rk, timeout_ms);
}

int producer_flush(producer *p, int timeout_ms) {
    rd_kafka_flush(p->rk, timeout_ms);
    return rd_kafka_outq_len(p->rk);
}

bool producer_failed(const producer *p) {
    return p->failed;
}

const char *producer_error(const producer *p) {
    return p->error;
}

void producer_get_stats(const producer *p, producer_stats *out) {
    *out = p->stats;
}

size_t producer_queue_len(producer *p) {
    int n = rd_kafka_outq_len(p->rk);
    return n > 0 ? (size_t)n : 0;
}

/* ---- exactly-once ------------------------------------------------------- */

int producer_txn_init(producer *p, int timeout_ms, char *err, size_t errlen) {
    rd_kafka_error_t *e = rd_kafka_init_transactions(p->rk, timeout_ms);
    if (!e)
        return 0;
    errbuf_set(err, errlen, "kafka.producer: init transactions: %s%s", rd_kafka_error_string(e),
               rd_kafka_error_is_fatal(e) ? "" : " (is the cluster Kafka 2.5 or later?)");
    rd_kafka_error_destroy(e);
    return -1;
}

bool producer_transactional(const producer *p) {
    return p->transactional;
}

bool producer_txn_open(const producer *p) {
    return p->in_txn;
}

int64_t producer_txn_begun_ms(const producer *p) {
    return p->in_txn ? p->txn_begun_ms : -1;
}

/* Abort the open transaction: OK (aborted as asked), or FATAL. */
static producer_txn_result producer_txn_do_abort(producer *p, int timeout_ms) {
    rd_kafka_error_t *e = rd_kafka_abort_transaction(p->rk, timeout_ms);
    p->in_txn = false;
    if (!e) {
        p->stats.txn_aborts++;
        return PRODUCER_TXN_OK;
    }
    producer_fail(p, "abort transaction: %s%s", rd_kafka_error_string(e), "");
    rd_kafka_error_destroy(e);
    return PRODUCER_TXN_FATAL;
}

/* An error of send_offsets or commit: abortable ones abort (ABORTED),
 * the rest are fatal (fenced: another rfmd has this id or took over). */
static producer_txn_result producer_txn_error(producer *p, rd_kafka_error_t *e, const char *what,
                                              int timeout_ms) {
    bool abort = rd_kafka_error_txn_requires_abort(e);
    if (abort)
        log_warning("producer: %s: %s: aborting the transaction", what, rd_kafka_error_string(e));
    else
        producer_fail(p, "%s: %s", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    if (!abort)
        return PRODUCER_TXN_FATAL;
    return producer_txn_do_abort(p, timeout_ms) == PRODUCER_TXN_OK ? PRODUCER_TXN_ABORTED
                                                                   : PRODUCER_TXN_FATAL;
}

producer_txn_result producer_txn_commit(producer *p, const rd_kafka_topic_partition_list_t *offsets,
                                        const rd_kafka_consumer_group_metadata_t *cgmd,
                                        int timeout_ms) {
    if (p->failed)
        return PRODUCER_TXN_FATAL;
    bool have_offsets = offsets && offsets->cnt > 0 && cgmd;
    if (!p->in_txn && !have_offsets)
        return PRODUCER_TXN_OK;
    if (!p->in_txn && producer_txn_begin(p) < 0)
        return PRODUCER_TXN_FATAL;
    int64_t t0 = clock_mono_us();
    if (have_offsets) {
        rd_kafka_error_t *e =
            rd_kafka_send_offsets_to_transaction(p->rk, offsets, cgmd, timeout_ms);
        if (e)
            return producer_txn_error(p, e, "send offsets to transaction", timeout_ms);
    }
    for (int tries = 0;; tries++) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(p->rk, timeout_ms);
        if (!e)
            break;
        if (rd_kafka_error_is_retriable(e) && tries < 3) {
            rd_kafka_error_destroy(e);
            continue;
        }
        return producer_txn_error(p, e, "commit transaction", timeout_ms);
    }
    p->in_txn = false;
    p->stats.txn_commits++;
    int64_t us = clock_mono_us() - t0;
    p->stats.txn_commit_us_total += (uint64_t)us;
    if ((uint64_t)us > p->stats.txn_commit_us_max)
        p->stats.txn_commit_us_max = (uint64_t)us;
    return PRODUCER_TXN_OK;
}

producer_txn_result producer_txn_abort(producer *p, int timeout_ms) {
    if (!p->in_txn || p->failed)
        return p->failed ? PRODUCER_TXN_FATAL : PRODUCER_TXN_OK;
    return producer_txn_do_abort(p, timeout_ms);
}
