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
    /* producer_track: the topic whose delivered offsets are kept, and per
     * partition the next offset after the highest one delivered (-1 none). */
    char *tracked;
    int64_t *delivered;
    size_t ndelivered;
};

/* Note a delivered message of the tracked topic. */
static void producer_note_delivered(producer *p, const rd_kafka_message_t *m) {
    if (!p->tracked || m->partition < 0 || m->offset < 0 ||
        strcmp(rd_kafka_topic_name(m->rkt), p->tracked))
        return;
    size_t part = (size_t)m->partition;
    if (part >= p->ndelivered) {
        size_t n = part + 16;
        int64_t *d = realloc(p->delivered, n * sizeof *d);
        if (!d)
            return; /* only a checkpoint's changelog position is less precise */
        for (size_t i = p->ndelivered; i < n; i++)
            d[i] = -1;
        p->delivered = d;
        p->ndelivered = n;
    }
    if (m->offset + 1 > p->delivered[part])
        p->delivered[part] = m->offset + 1;
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

producer *producer_new(const config *cfg, const char *brokers, tracker *trk, char *err,
                       size_t errlen) {
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
    free(p->tracked);
    free(p->delivered);
    free(p);
}

int producer_track(producer *p, const char *topic) {
    free(p->tracked);
    p->tracked = strdup(topic);
    return p->tracked ? 0 : -1;
}

int64_t producer_delivered_next(const producer *p, int32_t partition) {
    if (partition < 0 || (size_t)partition >= p->ndelivered)
        return -1;
    return p->delivered[partition];
}

void producer_forget_delivered(producer *p, int32_t partition) {
    if (partition >= 0 && (size_t)partition < p->ndelivered)
        p->delivered[partition] = -1;
}

void producer_set_backpressure(producer *p, producer_backpressure_fn fn, void *ctx) {
    p->bp_fn = fn;
    p->bp_ctx = ctx;
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
    if (p->failed) {
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
