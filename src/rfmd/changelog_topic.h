/*
 * changelog_topic — the start-up check of the changelog topic with the
 * Admin API (docs/contract.md §9.1), run once before any client consumes:
 *
 *   absent   -> created with the input's partition count and
 *               cleanup.policy=compact (several input topics must all have
 *               the same partition count)
 *   present  -> its partition count must equal the input's and its
 *               cleanup.policy must contain "compact"; else rfmd refuses to
 *               start, naming the topic, what it has and what it needs
 *
 * The partition counts come from one all-topics metadata request (which
 * never auto-creates a topic). A broker that does not implement
 * DescribeConfigs — librdkafka's mock cluster, which `kafka.brokers:
 * embedded` runs, and whose topics rfmd creates with the mock's own API
 * (embedded.c) — gets the partition check only, with a log line saying the
 * policy was not checked.
 */
#ifndef RFM_CHANGELOG_TOPIC_H
#define RFM_CHANGELOG_TOPIC_H

#include <stddef.h>

#include "rfm/config.h"

#define CHANGELOG_TOPIC_TIMEOUT_MS 15000 /* each Admin / metadata request */

/* Check (or create) cfg->changelog.topic on `brokers` with a short-lived
 * client of its own, configured like the producer (kafka.producer.*, so
 * security settings apply). Returns 0; -1 with err when the topic or the
 * input is not what the changelog needs (a configuration error: exit 1);
 * -2 with err when the cluster did not answer (exit 2). */
int changelog_topic_ensure(const config *cfg, const char *brokers, char *err, size_t errlen);

#endif
