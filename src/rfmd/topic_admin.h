/*
 * topic_admin — the Admin-API steps the start-up checks of rfmd's own topics
 * share: changelog_topic.c (the changelog, the repartition topic) and
 * control.c (the round's control and breakpoints topics). Each check runs
 * once, before any client of the daemon consumes, with a short-lived client
 * of its own; what a topic must look like, and what to say when it does
 * not, stays with the check: this module only asks the cluster.
 *
 * Why it exists: both checks need the same few requests, done the same
 * careful way, and they had two copies of them:
 *
 *   metadata          one request for all topics: asking for a topic by
 *                     name could auto-create it with the broker's default
 *                     partition count (producers allow auto-creation)
 *   CreateTopics      one request for any number of new topics; a topic
 *                     another instance created first counts as created
 *   DescribeConfigs   of one topic's cleanup.policy; a cluster that does
 *                     not implement it gets a log line saying so
 *   the mock cluster  librdkafka's (kafka.brokers: embedded, tests), told
 *                     apart by the cluster id it gives itself
 *                     ("mockCluster..."; a real cluster's is a base64
 *                     UUID): it has neither CreateTopics nor topic configs
 *
 * Every Admin request is sent on a private queue and waited for with one
 * rd_kafka_queue_poll (the request's timeout and 2 s), so nothing else of
 * rfmd runs meanwhile. Returns follow the checks': 0; -1 for what is a
 * configuration error (exit 1); -2 when the cluster did not answer (exit 2).
 */
#ifndef RFM_TOPIC_ADMIN_H
#define RFM_TOPIC_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "rfm/config.h"

/* The client of one check: a producer (never producing) built by
 * kconf_build like the daemon's (kafka.producer.*, so security settings
 * apply), and the timeout of each of its requests. */
typedef struct topic_admin {
    rd_kafka_t *rk;
    int timeout_ms; /* each Admin / metadata request */
} topic_admin;

/* Why a CreateTopics request failed, for the caller's message. */
typedef struct topic_admin_failure {
    rd_kafka_resp_err_t code; /* RD_KAFKA_RESP_ERR_NO_ERROR: it did not */
    size_t topic;             /* the index of the topic it is about; n: the request */
    char msg[1024];           /* librdkafka's or the broker's detail, "" none */
} topic_admin_failure;

/* Open ta's client on `brokers` (NULL: cfg->kafka.brokers). Returns 0, or
 * -1 with err: kconf_build refused a property (err names its YAML key), or
 * the client could not be created ("<what>: kafka.producer: ..."). */
int topic_admin_open(topic_admin *ta, const config *cfg, const char *brokers, const char *what,
                     int timeout_ms, char *err, size_t errlen);

/* Destroy ta's client (none: nothing). */
void topic_admin_close(topic_admin *ta);

/* Every topic's metadata, from one all-topics request, into *md (to free
 * with rd_kafka_metadata_destroy). 0, or librdkafka's error. */
rd_kafka_resp_err_t topic_admin_metadata(const topic_admin *ta,
                                         const struct rd_kafka_metadata **md);

/* The partition count of topic in md; -1 when md does not list it, or lists
 * it with an error. */
int topic_admin_count(const struct rd_kafka_metadata *md, const char *topic);

/* A topic just created may be missing from the metadata for a moment: read
 * it (up to 21 times, 250 ms apart: about 5 s) until each of
 * topics[0..n) is listed with a partition or more. Their counts into
 * counts[0..n) as of the last read that answered (counts may be NULL:
 * not wanted). Returns 0 when all are listed; -1 otherwise, with the last
 * metadata request's error in *merr (RD_KAFKA_RESP_ERR_NO_ERROR: it
 * answered without them; merr may be NULL). */
int topic_admin_await(const topic_admin *ta, const char *const *topics, size_t n, int *counts,
                      rd_kafka_resp_err_t *merr);

/* Create the topics nt[0..n), named names[0..n) (the caller's, configured,
 * kept), with one CreateTopics request; a topic that exists already is no
 * failure. Returns 0; else *f says why, and -2 when the cluster did not
 * answer (timed out, transport), -1 when it refused. */
int topic_admin_create(const topic_admin *ta, rd_kafka_NewTopic_t **nt, const char *const *names,
                       size_t n, topic_admin_failure *f);

/* Read topic's cleanup.policy with one DescribeConfigs request. Returns 0
 * with *policy pointing at its value in buf (buflen bytes, cut if longer)
 * or NULL (the topic has no such config); 1 when the cluster does not
 * describe topic configs (logged, with what as the prefix: the policy is
 * not checked); -2 with err ("<what> topic <topic>: cannot read its
 * cleanup.policy: ...") when it did not answer or failed otherwise. */
int topic_admin_policy(const topic_admin *ta, const char *what, const char *topic, char *buf,
                       size_t buflen, const char **policy, char *err, size_t errlen);

/* Is ta's cluster librdkafka's mock cluster? (No answer: false.) */
bool topic_admin_is_mock(const topic_admin *ta);

#endif
