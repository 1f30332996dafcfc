/*
 * changelog_topic — see changelog_topic.h.
 *
 * Each Admin request is sent on a private queue and waited for with one
 * rd_kafka_queue_poll, so nothing else of rfmd runs yet; the client is
 * destroyed before the daemon's own producer and consumer start.
 * The mock cluster is recognised by its cluster id ("mockCluster..."),
 * which no real Kafka cluster has (theirs are base64 UUIDs).
 * CreateTopics asks for the broker's default replication factor (-1,
 * brokers >= 2.4), as kafka-topics.sh does without --replication-factor.
 */
#include "changelog_topic.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kconf.h"
#include "log.h"
#include "util/errbuf.h"
#include "util/strbuf.h"

/* One topic of rfmd's own: the changelog or the repartition topic. */
typedef struct internal_topic {
    const char *what;           /* "changelog", "repartition": log and error prefix */
    const char *topic;          /* its name */
    bool compact;               /* cleanup.policy must contain compact (else: must not) */
    const char *off;            /* how to do without it, for errors */
    const char *inputs;         /* which topics decide its partition count, for errors */
    const config_prop *configs; /* topic configs to create it with, over the defaults */
    size_t nconfigs;
} internal_topic;

/* Topic configs a changelog rfmd creates gets unless changelog.topic_config
 * names them (changelog_topic.h says why). */
static const config_prop changelog_topic_defaults[] = {
    {"segment.bytes", CHANGELOG_TOPIC_SEGMENT_BYTES},
    {"segment.ms", CHANGELOG_TOPIC_SEGMENT_MS},
};

/* Set the topic configs of a new topic on nt: cleanup.policy, then (the
 * changelog) the defaults not named in it->configs, then it->configs; their
 * "k=v" list, for the log and errors, into *desc (a strbuf to free). */
static void changelog_topic_configure(rd_kafka_NewTopic_t *nt, const internal_topic *it,
                                      strbuf *desc) {
    const char *policy = it->compact ? "compact" : "delete";
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", policy);
    strbuf_printf(desc, "cleanup.policy=%s", policy);
    if (!it->compact)
        return;
    for (size_t i = 0; i < sizeof changelog_topic_defaults / sizeof *changelog_topic_defaults;
         i++) {
        const config_prop *d = &changelog_topic_defaults[i];
        if (config_prop_get(it->configs, it->nconfigs, d->key))
            continue;
        rd_kafka_NewTopic_set_config(nt, d->key, d->value);
        strbuf_printf(desc, ", %s=%s", d->key, d->value);
    }
    for (size_t i = 0; i < it->nconfigs; i++) {
        rd_kafka_NewTopic_set_config(nt, it->configs[i].key, it->configs[i].value);
        strbuf_printf(desc, ", %s=%s", it->configs[i].key, it->configs[i].value);
    }
}

/* Wait for the result event of one Admin request on q; NULL on timeout. */
static rd_kafka_event_t *changelog_topic_wait(rd_kafka_queue_t *q) {
    return rd_kafka_queue_poll(q, CHANGELOG_TOPIC_TIMEOUT_MS + 2000);
}

static rd_kafka_AdminOptions_t *changelog_topic_options(rd_kafka_t *rk, rd_kafka_admin_op_t op) {
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    char e[256];
    if (o)
        rd_kafka_AdminOptions_set_request_timeout(o, CHANGELOG_TOPIC_TIMEOUT_MS, e, sizeof e);
    return o;
}

/* Partition count of topic in md, or -1 when md does not list it. */
static int changelog_topic_count(const struct rd_kafka_metadata *md, const char *topic) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic))
            return md->topics[i].err ? -1 : md->topics[i].partition_cnt;
    return -1;
}

/* A topic just created may be missing from the metadata for a moment: wait
 * (a few seconds at most) until it is listed, so a check right after (the
 * changelog's, against a new repartition topic) sees it. */
static void changelog_topic_await(rd_kafka_t *rk, const char *topic) {
    for (int i = 0; i < 20; i++) {
        const struct rd_kafka_metadata *md = NULL;
        if (!rd_kafka_metadata(rk, 1, NULL, &md, CHANGELOG_TOPIC_TIMEOUT_MS)) {
            int n = changelog_topic_count(md, topic);
            rd_kafka_metadata_destroy(md);
            if (n > 0)
                return;
        }
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Create the topic with `parts` partitions, compacted (the changelog, with
 * its topic configs) or not (the repartition topic). 0, -1 or -2. */
static int changelog_topic_create(rd_kafka_t *rk, const internal_topic *it, int parts,
                                  const char *input, char *err, size_t errlen) {
    const char *topic = it->topic;
    char e[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, -1, e, sizeof e);
    if (!nt) {
        errbuf_set(err, errlen, "%s topic %s: %s", it->what, topic, e);
        return -1;
    }
    strbuf desc = STRBUF_INIT;
    changelog_topic_configure(nt, it, &desc);
    const char *configs = desc.p && !desc.oom ? desc.p : "(out of memory)";
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = changelog_topic_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    rd_kafka_event_t *ev = changelog_topic_wait(q);
    int rc = 0;
    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
    const char *msg = NULL;
    if (!ev) {
        code = RD_KAFKA_RESP_ERR__TIMED_OUT;
    } else if (rd_kafka_event_error(ev)) {
        code = rd_kafka_event_error(ev);
        msg = rd_kafka_event_error_string(ev);
    } else {
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        if (n >= 1 && rd_kafka_topic_result_error(tr[0])) {
            code = rd_kafka_topic_result_error(tr[0]);
            msg = rd_kafka_topic_result_error_string(tr[0]);
        }
    }
    if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        code = RD_KAFKA_RESP_ERR_NO_ERROR; /* another instance was quicker */
    }
    if (!code)
        changelog_topic_await(rk, topic);
    if (code) {
        errbuf_set(err, errlen,
                   "%s topic %s does not exist and cannot be created (%d partitions, %s): "
                   "%s%s%s; create it so, or %s",
                   it->what, topic, parts, configs, rd_kafka_err2str(code), msg ? ": " : "",
                   msg ? msg : "", it->off);
        rc = code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__TRANSPORT ? -2 : -1;
    } else {
        log_notice("%s: created topic %s (%d partitions like %s, %s)", it->what, topic, parts,
                   input, configs);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    strbuf_free(&desc);
    return rc;
}

/* The topic's cleanup.policy must contain "compact" (the changelog), or
 * must not (the repartition topic: compaction would keep only a customer's
 * last order). 0, -1 or -2. */
static int changelog_topic_policy(rd_kafka_t *rk, const internal_topic *it, char *err,
                                  size_t errlen) {
    const char *topic = it->topic;
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = changelog_topic_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    rd_kafka_event_t *ev = changelog_topic_wait(q);
    int rc = 0;
    rd_kafka_resp_err_t code = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    const char *policy = NULL;
    if (!code) {
        size_t n = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        code = n ? rd_kafka_ConfigResource_error(rs[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        size_t nc = 0;
        const rd_kafka_ConfigEntry_t **ce =
            n && !code ? rd_kafka_ConfigResource_configs(rs[0], &nc) : NULL;
        for (size_t i = 0; i < nc; i++)
            if (!strcmp(rd_kafka_ConfigEntry_name(ce[i]), "cleanup.policy"))
                policy = rd_kafka_ConfigEntry_value(ce[i]);
    }
    if (code == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
        code == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION) {
        /* librdkafka's mock cluster (embedded, tests) has no topic configs. */
        log_notice("%s: the cluster does not describe topic configs (%s): the "
                   "cleanup.policy of %s is not checked",
                   it->what, rd_kafka_err2name(code), topic);
    } else if (code) {
        errbuf_set(err, errlen, "%s topic %s: cannot read its cleanup.policy: %s", it->what, topic,
                   rd_kafka_err2str(code));
        rc = -2;
    } else if (!it->compact && policy && strstr(policy, "compact")) {
        errbuf_set(err, errlen,
                   "repartition topic %s has cleanup.policy=%s, needs delete (compaction keeps "
                   "only a customer's last order), or set input.repartition: false",
                   topic, policy);
        rc = -1;
    } else if (it->compact && (!policy || !strstr(policy, "compact"))) {
        errbuf_set(err, errlen,
                   "changelog topic %s has cleanup.policy=%s, needs compact (e.g. kafka-configs.sh "
                   "--alter --entity-type topics --entity-name %s --add-config "
                   "cleanup.policy=compact), or set changelog.enabled: false",
                   topic, policy ? policy : "(none)", topic);
        rc = -1;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return rc;
}

/* The checks on one metadata answer, with the Admin client rk: the input
 * topics (inputs[0..ninputs)) must exist with one partition count, unless
 * `any_count` (the repartition topic takes the first one's), and the topic
 * must have that count (any, with any_count) and the right policy, or is
 * created so. Its partition count into *count. */
static int changelog_topic_check(rd_kafka_t *rk, const internal_topic *it, char *const *inputs,
                                 size_t ninputs, bool any_count, const struct rd_kafka_metadata *md,
                                 int *count, char *err, size_t errlen) {
    const char *topic = it->topic;
    const char *input = inputs[0];
    int parts = changelog_topic_count(md, input);
    for (size_t i = 0; i < ninputs; i++) {
        int n = changelog_topic_count(md, inputs[i]);
        if (n < 1) {
            errbuf_set(err, errlen,
                       "%s: input topic %s does not exist yet; its partition count decides "
                       "the %s's (%s): create it first",
                       it->what, inputs[i], it->what, topic);
            return -1;
        }
        if (n != parts && !any_count) {
            errbuf_set(err, errlen,
                       "%s: input topics %s (%d partitions) and %s (%d) differ; %s topic %s "
                       "needs one partition count for all of them (%s)",
                       it->what, input, parts, inputs[i], n, it->what, topic, it->inputs);
            return -1;
        }
    }
    int have = changelog_topic_count(md, topic);
    *count = have < 0 ? parts : have;
    if (have < 0)
        return changelog_topic_create(rk, it, parts, input, err, errlen);
    if (have != parts && !any_count) {
        errbuf_set(err, errlen,
                   "%s topic %s has %d partitions, needs %d (the partition count of input "
                   "topic %s: %s); delete or recreate it, or set %s.topic to another name",
                   it->what, topic, have, parts, input, it->inputs, it->what);
        return -1;
    }
    /* librdkafka's mock cluster (embedded, tests) implements neither
     * DescribeConfigs nor topic configs: the request would only time out.
     * It is recognised by the cluster id it gives itself. */
    char *id = rd_kafka_clusterid(rk, CHANGELOG_TOPIC_TIMEOUT_MS);
    bool mock = id && !strncmp(id, "mockCluster", 11);
    if (id)
        rd_kafka_mem_free(rk, id);
    int rc = 0;
    if (mock)
        log_notice("%s: librdkafka's mock cluster has no topic configs: the "
                   "cleanup.policy of %s is not checked",
                   it->what, topic);
    else
        rc = changelog_topic_policy(rk, it, err, errlen);
    if (rc == 0 && have == parts)
        log_info("%s: topic %s has %d partitions like %s", it->what, topic, have, input);
    else if (rc == 0)
        log_info("%s: topic %s has %d partitions (%s has %d)", it->what, topic, have, input, parts);
    return rc;
}

/* Run one check with a short-lived client of its own. */
static int changelog_topic_run(const config *cfg, const char *brokers, const internal_topic *it,
                               char *const *inputs, size_t ninputs, bool any_count, int *count,
                               char *err, size_t errlen) {
    rd_kafka_conf_t *conf = kconf_build(cfg, KCONF_PRODUCER, brokers, err, errlen);
    if (!conf)
        return -1;
    char kerr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        errbuf_set(err, errlen, "%s: kafka.producer: %s", it->what, kerr);
        return -1;
    }
    /* all_topics: asking for the topic by name could auto-create it with
     * the broker's defaults (producers allow auto-creation). */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, CHANGELOG_TOPIC_TIMEOUT_MS);
    int rc;
    if (e) {
        errbuf_set(err, errlen, "%s: cannot read the cluster's metadata to check topic %s: %s",
                   it->what, it->topic, rd_kafka_err2str(e));
        rc = -2;
    } else {
        rc = changelog_topic_check(rk, it, inputs, ninputs, any_count, md, count, err, errlen);
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return rc;
}

int changelog_topic_ensure(const config *cfg, const char *brokers, int32_t *count, char *err,
                           size_t errlen) {
    internal_topic it = {
        .what = "changelog",
        .topic = cfg->changelog.topic,
        .compact = true,
        .off = "set changelog.enabled: false",
        .inputs = "changelog partition p logs input partition p",
        .configs = cfg->changelog.topic_config,
        .nconfigs = cfg->changelog.ntopic_config,
    };
    char *const *inputs;
    size_t n = config_state_topics(cfg, &inputs);
    int parts = 0;
    int rc = changelog_topic_run(cfg, brokers, &it, inputs, n, false, &parts, err, errlen);
    *count = parts;
    return rc;
}

int repartition_topic_ensure(const config *cfg, const char *brokers, int32_t *count, char *err,
                             size_t errlen) {
    internal_topic it = {
        .what = "repartition",
        .topic = cfg->input.repartition_topic,
        .compact = false,
        .off = "set input.repartition: false",
        .inputs = "created like the first orders topic",
    };
    int n = 0;
    int rc = changelog_topic_run(cfg, brokers, &it, cfg->topics.orders, cfg->topics.norders, true,
                                 &n, err, errlen);
    *count = n;
    return rc;
}
