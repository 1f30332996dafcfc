/*
 * changelog_topic — see changelog_topic.h.
 *
 * The requests are topic_admin's (each on a private queue, the mock
 * cluster told apart by its cluster id); the client is destroyed before
 * the daemon's own producer and consumer start. CreateTopics asks for the
 * broker's default replication factor (-1, brokers >= 2.4), as
 * kafka-topics.sh does without --replication-factor.
 */
#include "changelog_topic.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "log.h"
#include "topic_admin.h"
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

/* Create the topic with `parts` partitions, compacted (the changelog, with
 * its topic configs) or not (the repartition topic). 0, -1 or -2. */
static int changelog_topic_create(const topic_admin *ta, const internal_topic *it, int parts,
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
    topic_admin_failure f;
    int rc = topic_admin_create(ta, &nt, &topic, 1, &f);
    if (rc < 0) {
        errbuf_set(err, errlen,
                   "%s topic %s does not exist and cannot be created (%d partitions, %s): "
                   "%s%s%s; create it so, or %s",
                   it->what, topic, parts, configs, rd_kafka_err2str(f.code), f.msg[0] ? ": " : "",
                   f.msg, it->off);
    } else {
        /* so that a check right after (the changelog's, against a new
         * repartition topic) sees it; not listed yet: carry on */
        (void)topic_admin_await(ta, &topic, 1, NULL, NULL);
        log_notice("%s: created topic %s (%d partitions like %s, %s)", it->what, topic, parts,
                   input, configs);
    }
    rd_kafka_NewTopic_destroy(nt);
    strbuf_free(&desc);
    return rc;
}

/* The topic's cleanup.policy must contain "compact" (the changelog), or
 * must not (the repartition topic: compaction would keep only a customer's
 * last order). 0, -1 or -2. */
static int changelog_topic_policy(const topic_admin *ta, const internal_topic *it, char *err,
                                  size_t errlen) {
    const char *topic = it->topic;
    char buf[256];
    const char *policy = NULL;
    int rc = topic_admin_policy(ta, it->what, topic, buf, sizeof buf, &policy, err, errlen);
    if (rc != 0) {
        rc = rc > 0 ? 0 : rc; /* 1: not checked, logged */
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
    return rc;
}

/* The checks on one metadata answer, with the Admin client ta: the input
 * topics (inputs[0..ninputs)) must exist with one partition count, unless
 * `any_count` (the repartition topic takes the first one's), and the topic
 * must have that count (any, with any_count) and the right policy, or is
 * created so. Its partition count into *count. */
static int changelog_topic_check(const topic_admin *ta, const internal_topic *it,
                                 char *const *inputs, size_t ninputs, bool any_count,
                                 const struct rd_kafka_metadata *md, int *count, char *err,
                                 size_t errlen) {
    const char *topic = it->topic;
    const char *input = inputs[0];
    int parts = topic_admin_count(md, input);
    for (size_t i = 0; i < ninputs; i++) {
        int n = topic_admin_count(md, inputs[i]);
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
    int have = topic_admin_count(md, topic);
    *count = have < 0 ? parts : have;
    if (have < 0)
        return changelog_topic_create(ta, it, parts, input, err, errlen);
    if (have != parts && !any_count) {
        errbuf_set(err, errlen,
                   "%s topic %s has %d partitions, needs %d (the partition count of input "
                   "topic %s: %s); delete or recreate it, or set %s.topic to another name",
                   it->what, topic, have, parts, input, it->inputs, it->what);
        return -1;
    }
    /* librdkafka's mock cluster (embedded, tests) implements neither
     * DescribeConfigs nor topic configs: the request would only time out. */
    int rc = 0;
    if (topic_admin_is_mock(ta))
        log_notice("%s: librdkafka's mock cluster has no topic configs: the "
                   "cleanup.policy of %s is not checked",
                   it->what, topic);
    else
        rc = changelog_topic_policy(ta, it, err, errlen);
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
    topic_admin ta;
    if (topic_admin_open(&ta, cfg, brokers, it->what, CHANGELOG_TOPIC_TIMEOUT_MS, err, errlen) < 0)
        return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = topic_admin_metadata(&ta, &md);
    int rc;
    if (e) {
        errbuf_set(err, errlen, "%s: cannot read the cluster's metadata to check topic %s: %s",
                   it->what, it->topic, rd_kafka_err2str(e));
        rc = -2;
    } else {
        rc = changelog_topic_check(&ta, it, inputs, ninputs, any_count, md, count, err, errlen);
        rd_kafka_metadata_destroy(md);
    }
    topic_admin_close(&ta);
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
