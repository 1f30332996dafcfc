/*
 * kconf — see kconf.h.
 *
 * Order matters: rfmd's defaults first, then the user's properties (so a user
 * may move auto.offset.reset or tune batching), then a check of the settings
 * rfmd's delivery guarantees rest on, read back with rd_kafka_conf_get so any
 * spelling librdkafka accepts ("false", "0", "f") is judged by its meaning:
 *  - consumer: offsets are committed only by rfmd (enable.auto.commit and
 *    enable.auto.offset.store must stay false), otherwise Kafka could record
 *    as done a message whose events were never delivered;
 *  - producer: enable.idempotence must stay true (no duplicates or reordering
 *    of one customer's events on retries), and no transactional.id (rfmd does
 *    not run transactions; librdkafka would refuse to produce).
 */
#include "kconf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util/errbuf.h"

int kconf_set(rd_kafka_conf_t *conf, const char *section, const char *key, const char *value,
              char *err, size_t errlen) {
    char kerr[512];
    if (rd_kafka_conf_set(conf, key, value, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
        errbuf_set(err, errlen, "%s%s%s: %s", section ? section : "", section ? "." : "", key,
                   kerr);
        return -1;
    }
    return 0;
}

static int kconf_is(rd_kafka_conf_t *conf, const char *key, const char *want) {
    char val[64];
    size_t len = sizeof val;
    if (rd_kafka_conf_get(conf, key, val, &len) != RD_KAFKA_CONF_OK)
        return 0;
    return !strcmp(val, want);
}

rd_kafka_conf_t *kconf_build(const config *cfg, kconf_role role, const char *brokers, char *err,
                             size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *section = role == KCONF_CONSUMER ? "kafka.consumer" : "kafka.producer";
    const char *bs = brokers ? brokers : cfg->kafka.brokers;
    struct {
        const char *k, *v;
    } base[10];
    size_t nbase = 0;
    base[nbase].k = "bootstrap.servers", base[nbase++].v = bs;
    base[nbase].k = "client.id", base[nbase++].v = "rfmd";
    if (role == KCONF_CONSUMER) {
        base[nbase].k = "group.id", base[nbase++].v = cfg->kafka.group_id;
        base[nbase].k = "enable.auto.commit", base[nbase++].v = "false";
        base[nbase].k = "enable.auto.offset.store", base[nbase++].v = "false";
        base[nbase].k = "auto.offset.reset", base[nbase++].v = "earliest";
        /* EOF tells the daemon when the backlog is consumed (first scoring). */
        base[nbase].k = "enable.partition.eof", base[nbase++].v = "true";
        /* Deeper prefetch than librdkafka's defaults: on a replayed backlog of
         * small orders the main thread otherwise waits for fetches about half
         * the time (BENCHMARKS.md: 146k -> 250k orders/s). Memory stays
         * capped by queued.max.messages.kbytes. */
        base[nbase].k = "max.partition.fetch.bytes", base[nbase++].v = "10485760";
        base[nbase].k = "queued.min.messages", base[nbase++].v = "1000000";
    } else {
        base[nbase].k = "enable.idempotence", base[nbase++].v = "true";
    }
    for (size_t i = 0; i < nbase; i++)
        if (kconf_set(conf, "kafka", base[i].k, base[i].v, err, errlen) < 0)
            goto fail;

    const config_prop *props = role == KCONF_CONSUMER ? cfg->kafka.consumer : cfg->kafka.producer;
    size_t nprops = role == KCONF_CONSUMER ? cfg->kafka.nconsumer : cfg->kafka.nproducer;
    for (size_t i = 0; i < nprops; i++)
        if (kconf_set(conf, section, props[i].key, props[i].value, err, errlen) < 0)
            goto fail;

    if (role == KCONF_CONSUMER) {
        if (!kconf_is(conf, "enable.auto.commit", "false")) {
            errbuf_set(err, errlen,
                       "%s.enable.auto.commit: must be false (rfmd commits an offset only once "
                       "its events are delivered)",
                       section);
            goto fail;
        }
        if (!kconf_is(conf, "enable.auto.offset.store", "false")) {
            errbuf_set(err, errlen,
                       "%s.enable.auto.offset.store: must be false (rfmd commits explicit offsets)",
                       section);
            goto fail;
        }
    } else {
        if (!kconf_is(conf, "enable.idempotence", "true")) {
            errbuf_set(err, errlen,
                       "%s.enable.idempotence: must be true (retries must not duplicate or "
                       "reorder a customer's events)",
                       section);
            goto fail;
        }
        size_t tlen = 0; /* NULL dest: librdkafka reports the size only */
        if (rd_kafka_conf_get(conf, "transactional.id", NULL, &tlen) == RD_KAFKA_CONF_OK &&
            tlen > 1) {
            errbuf_set(err, errlen, "%s.transactional.id: not supported by rfmd", section);
            goto fail;
        }
    }
    rd_kafka_conf_set_log_cb(conf, kconf_log_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int kconf_check(const config *cfg, char *err, size_t errlen) {
    const kconf_role roles[] = {KCONF_CONSUMER, KCONF_PRODUCER};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        /* Any address will do: nothing connects. */
        rd_kafka_conf_t *k = kconf_build(cfg, roles[i], "localhost:9092", err, errlen);
        if (!k)
            return -1;
        rd_kafka_conf_destroy(k);
    }
    return 0;
}

void kconf_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    /* librdkafka uses syslog levels 0..7; rfmd's lowest is error (3). */
    int lvl = level < LOG_LEVEL_ERROR ? LOG_LEVEL_ERROR : level;
    log_msg(lvl, "kafka %s: %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}
