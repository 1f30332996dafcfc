/*
 * embedded — see embedded.h.
 *
 * rd_kafka_mock_cluster_new needs a client handle to run on; a dedicated
 * producer handle that is never used to produce keeps the mock's life
 * independent of rfmd's own consumer and producer (they connect to it over
 * TCP like any external client). Topics are created up front so the consumer
 * group sees every orders partition on its first assignment.
 */
#include "embedded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kconf.h"
#include "log.h"
#include "util/errbuf.h"

struct embedded {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
};

int embedded_wanted(const config *cfg) {
    return cfg->kafka.brokers && !strcmp(cfg->kafka.brokers, "embedded");
}

static int embedded_topic(embedded *e, const char *name, int partitions, char *err, size_t errlen) {
    rd_kafka_resp_err_t r = rd_kafka_mock_topic_create(e->mc, name, partitions, 1);
    if (r && r != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        errbuf_set(err, errlen, "embedded Kafka: cannot create topic %s: %s", name,
                   rd_kafka_err2str(r));
        return -1;
    }
    return 0;
}

embedded *embedded_start(const config *cfg, char *err, size_t errlen) {
    embedded *e = calloc(1, sizeof *e);
    if (!e) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char kerr[512];
    rd_kafka_conf_set_log_cb(conf, kconf_log_cb);
    /* Notices would only say this handle has no bootstrap.servers. */
    if (rd_kafka_conf_set(conf, "client.id", "rfmd-embedded", kerr, sizeof kerr) ||
        rd_kafka_conf_set(conf, "log_level", "4", kerr, sizeof kerr) ||
        !(e->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr))) {
        errbuf_set(err, errlen, "embedded Kafka: %s", kerr);
        rd_kafka_conf_destroy(conf);
        free(e);
        return NULL;
    }
    e->mc = rd_kafka_mock_cluster_new(e->rk, EMBEDDED_BROKERS);
    if (!e->mc) {
        errbuf_set(err, errlen, "embedded Kafka: cannot start the mock cluster");
        embedded_stop(e);
        return NULL;
    }
    for (size_t i = 0; i < cfg->topics.norders; i++)
        if (embedded_topic(e, cfg->topics.orders[i], EMBEDDED_ORDERS_PARTITIONS, err, errlen) < 0)
            goto fail;
    if (embedded_topic(e, cfg->topics.segments, EMBEDDED_OTHER_PARTITIONS, err, errlen) < 0 ||
        embedded_topic(e, cfg->topics.dead_letter, EMBEDDED_OTHER_PARTITIONS, err, errlen) < 0)
        goto fail;
    /* The mock has no CreateTopics and no topic configs: the changelog gets
     * the orders' partition count here, and no compaction (nothing in
     * memory lives long enough to need it). */
    if (cfg->changelog.enabled &&
        embedded_topic(e, cfg->changelog.topic, EMBEDDED_ORDERS_PARTITIONS, err, errlen) < 0)
        goto fail;
    /* The group round's two topics (breakpoints.scope: group, §9.2): one
     * partition each, as control_topics_ensure wants them. */
    if (cfg->breakpoints.scope == CONFIG_BP_GROUP &&
        (embedded_topic(e, cfg->breakpoints.control_topic, 1, err, errlen) < 0 ||
         embedded_topic(e, cfg->breakpoints.topic, 1, err, errlen) < 0))
        goto fail;
    /* Likewise the repartition topic (input.repartition). */
    if (cfg->input.repartition && embedded_topic(e, cfg->input.repartition_topic,
                                                 EMBEDDED_ORDERS_PARTITIONS, err, errlen) < 0)
        goto fail;
    log_notice("embedded Kafka: %d brokers at %s (in memory, ~5 MB per partition)",
               EMBEDDED_BROKERS, embedded_bootstraps(e));
    return e;
fail:
    embedded_stop(e);
    return NULL;
}

const char *embedded_bootstraps(const embedded *e) {
    return rd_kafka_mock_cluster_bootstraps(e->mc);
}

void embedded_stop(embedded *e) {
    if (!e)
        return;
    if (e->mc)
        rd_kafka_mock_cluster_destroy(e->mc);
    if (e->rk)
        rd_kafka_destroy(e->rk);
    free(e);
}
