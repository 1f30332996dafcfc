/*
 * changelog_topic — the start-up check of rfmd's own topics with the Admin
 * API, run once before any client consumes. The changelog (docs/contract.md
 * §9.1):
 *
 *   absent   -> created with the input's partition count,
 *               cleanup.policy=compact and the topic configs of
 *               changelog.topic_config over rfmd's defaults (below) —
 *               several input topics must all have the same partition
 *               count
 *   present  -> its partition count must equal the input's and its
 *               cleanup.policy must contain "compact"; else rfmd refuses to
 *               start, naming the topic, what it has and what it needs
 *
 * The repartition topic (input.repartition, §3.1) the same way, but:
 * created with the first orders topic's partition count and
 * cleanup.policy=delete; present, any partition count goes (the orders
 * topics' counts do not matter to it) and its cleanup.policy must NOT
 * contain "compact" (that would keep only a customer's last order). With
 * input.repartition the changelog's partition count is the repartition
 * topic's (config_state_topics), so it is checked after it.
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
#include <stdint.h>

#include "rfm/config.h"

#define CHANGELOG_TOPIC_TIMEOUT_MS 15000 /* each Admin / metadata request */

/* segment.bytes and segment.ms of a changelog rfmd creates, unless
 * changelog.topic_config sets them: 64 MiB and 1 hour, not the broker's
 * 1 GiB and 7 days. Kafka's log cleaner never cleans a partition's active
 * segment, so with the broker's defaults a changelog partition under 1 GiB
 * (about 7M customers: 78 bytes a record on disk in bench/restore.sh, two
 * records a customer before compaction) is not compacted until a week-old
 * segment rolls, and a restore reads every record ever written. 64 MiB
 * bounds what stays uncompacted to one such segment a partition, and the
 * hour rolls a smaller one (at its first write after the hour), at the
 * cost of more, smaller segment files, which the cleaner merges. */
#define CHANGELOG_TOPIC_SEGMENT_BYTES "67108864"
#define CHANGELOG_TOPIC_SEGMENT_MS    "3600000"

/* Check (or create) cfg->changelog.topic on `brokers` with a short-lived
 * client of its own, configured like the producer (kafka.producer.*, so
 * security settings apply); its partition count (the input's) into
 * *count. Returns 0; -1 with err when the topic or the input is not what
 * the changelog needs (a configuration error: exit 1); -2 with err when
 * the cluster did not answer (exit 2). */
int changelog_topic_ensure(const config *cfg, const char *brokers, int32_t *count, char *err,
                           size_t errlen);

/* Check (or create) cfg->input.repartition_topic likewise; its partition
 * count into *count. Same returns. */
int repartition_topic_ensure(const config *cfg, const char *brokers, int32_t *count, char *err,
                             size_t errlen);

#endif
