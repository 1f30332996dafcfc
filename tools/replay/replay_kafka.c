/*
 * rfm-replay's producer: one idempotent librdkafka producer, one topic.
 *
 * Replay must be complete or say it was not, so nothing is fire-and-forget:
 * every message is counted as sent, then as delivered or failed from its
 * delivery report, and the caller waits for the outstanding count to reach
 * zero. A full local queue is back-pressure: we serve delivery reports until
 * there is room and retry, so a fast reader never drops orders.
 *
 * Defaults favour throughput with safety (idempotence, acks=all implied,
 * linger 10 ms) and Java-compatible key partitioning (murmur2), so a customer
 * lands on the partition a Java producer would pick. Any -X property is
 * applied after them, like kcat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "replay.h"

#define REPORT_FIRST 10 /* failures/errors printed in full; the rest are only counted */

struct replay_kafka {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    replay_kafka_stats st;
    unsigned errors_printed;
};

static const struct {
    const char *name, *value;
} defaults[] = {
    {"client.id", "rfm-replay"},
    {"enable.idempotence", "true"},
    {"linger.ms", "10"},
    {"partitioner", "murmur2_random"},
};

static void count_failure(replay_kafka *k, const char *what, const void *key, size_t key_len,
                          rd_kafka_resp_err_t e) {
    k->st.failed++;
    if (k->st.failed > REPORT_FIRST)
        return;
    replay_progress_clear();
    fprintf(stderr, "rfm-replay: %s (key '%.*s'): %s\n", what, (int)key_len,
            key ? (const char *)key : "", rd_kafka_err2str(e));
    if (k->st.failed == REPORT_FIRST)
        fprintf(stderr, "rfm-replay: further failures are only counted\n");
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    replay_kafka *k = opaque;
    if (m->err)
        count_failure(k, "delivery failed", m->key, m->key_len, m->err);
    else
        k->st.delivered++;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    replay_kafka *k = opaque;
    if (err != RD_KAFKA_RESP_ERR__FATAL && ++k->errors_printed > REPORT_FIRST)
        return;
    replay_progress_clear();
    fprintf(stderr, "rfm-replay: kafka: %s%s\n", err == RD_KAFKA_RESP_ERR__FATAL ? "FATAL: " : "",
            reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    /* A fresh cluster answers the first InitProducerId with "coordinator
     * load in progress"; librdkafka retries, so this warning is only noise. */
    if (level >= 4 && !strcmp(fac, "GETPID") && strstr(buf, "retrying"))
        return;
    /* Connection failures also reach on_error, which limits them. */
    if (!strcmp(fac, "FAIL"))
        return;
    replay_progress_clear();
    fprintf(stderr, "rfm-replay: kafka[%d] %s: %s\n", level, fac, buf);
}

replay_kafka *replay_kafka_new(const char *brokers, const char *topic, char *const *props,
                               size_t nprops, char *err, size_t errlen, int *code) {
    *code = REPLAY_FAIL;
    replay_kafka *k = calloc(1, sizeof *k);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!k || !conf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    char kerr[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, kerr, sizeof kerr) !=
        RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "--brokers: %s", kerr);
        *code = REPLAY_USAGE;
        goto fail;
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (rd_kafka_conf_set(conf, defaults[i].name, defaults[i].value, kerr, sizeof kerr) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "default %s=%s: %s", defaults[i].name, defaults[i].value, kerr);
            goto fail;
        }
    for (size_t i = 0; i < nprops; i++) {
        const char *eq = strchr(props[i], '=');
        char name[256];
        if (!eq || eq == props[i] || (size_t)(eq - props[i]) >= sizeof name) {
            snprintf(err, errlen, "-X %s: expected PROPERTY=VALUE", props[i]);
            *code = REPLAY_USAGE;
            goto fail;
        }
        memcpy(name, props[i], (size_t)(eq - props[i]));
        name[eq - props[i]] = '\0';
        if (rd_kafka_conf_set(conf, name, eq + 1, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "-X %s: %s", props[i], kerr);
            *code = REPLAY_USAGE;
            goto fail;
        }
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
    if (!k->rk) {
        /* Conflicting properties are only found here: still the user's command line. */
        snprintf(err, errlen, "cannot create producer: %s", kerr);
        *code = REPLAY_USAGE;
        goto fail;
    }
    conf = NULL; /* owned by k->rk now */
    k->rkt = rd_kafka_topic_new(k->rk, topic, NULL);
    if (!k->rkt) {
        snprintf(err, errlen, "topic '%s': %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        *code = REPLAY_USAGE;
        goto fail;
    }
    return k;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    replay_kafka_free(k);
    return NULL;
}

int replay_kafka_connect(replay_kafka *k, int timeout_ms, char *err, size_t errlen) {
    const struct rd_kafka_metadata *md = NULL;
    /* Asking for the topic also auto-creates it where the cluster allows. */
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 0, k->rkt, &md, timeout_ms);
    if (e) {
        snprintf(err, errlen, "no answer from the brokers within %d s: %s", timeout_ms / 1000,
                 rd_kafka_err2str(e));
        return -1;
    }
    if (md->topic_cnt == 1 && md->topics[0].err &&
        md->topics[0].err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
        md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        replay_progress_clear();
        fprintf(stderr, "rfm-replay: warning: topic '%s': %s\n", md->topics[0].topic,
                rd_kafka_err2str(md->topics[0].err));
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

int replay_kafka_send(replay_kafka *k, const char *key, size_t key_len, char *value, size_t len) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE(value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
        if (!e) {
            k->st.sent++;
            /* Cheap, and keeps delivery reports from piling up. */
            rd_kafka_poll(k->rk, 0);
            return 0;
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            k->st.queue_full_waits++;
            rd_kafka_poll(k->rk, 50);
            continue;
        }
        /* Not queued: the payload is still ours. */
        free(value);
        k->st.sent++;
        count_failure(k, "cannot produce", key, key_len, e);
        return -1;
    }
}

void replay_kafka_poll(replay_kafka *k, int timeout_ms) {
    rd_kafka_poll(k->rk, timeout_ms);
}

int replay_kafka_outstanding(replay_kafka *k) {
    return rd_kafka_outq_len(k->rk);
}

bool replay_kafka_fatal(replay_kafka *k, char *err, size_t errlen) {
    return rd_kafka_fatal_error(k->rk, err, errlen) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

void replay_kafka_get_stats(const replay_kafka *k, replay_kafka_stats *out) {
    *out = k->st;
}

void replay_kafka_free(replay_kafka *k) {
    if (!k)
        return;
    if (k->rkt)
        rd_kafka_topic_destroy(k->rkt);
    if (k->rk)
        rd_kafka_destroy(k->rk);
    free(k);
}
