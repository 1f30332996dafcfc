/*
 * control — the Kafka side of the breakpoints round (round.h; contract
 * §9.2): the two topics it runs on, one producer and one consumer of its
 * own. round.h is Kafka-free; the daemon passes what control_poll reads to
 * round_on_control / round_on_record and points round_hooks.send /
 * .publish at control_send / control_publish.
 *
 *   control topic      1 partition (one order for every member),
 *                      cleanup.policy=delete, retention.ms=3600000: a
 *                      round's messages matter for seconds, an hour is
 *                      plenty for a post mortem. Read from its end as of
 *                      control_read_latest: an instance that starts never
 *                      replays rounds that are over.
 *   breakpoints topic  1 partition, cleanup.policy=compact, one key
 *                      ("breakpoints"): compaction keeps the newest record,
 *                      which control_read_latest reads at start; later
 *                      records come through control_poll.
 *
 * Every instance reads both topics itself, the coordinator too: its own
 * messages and records come back through the topics like everyone's.
 *
 * The producer is plain (no transactions even under exactly-once: a round
 * message is not part of any input's processing), idempotent, acks=all,
 * linger.ms=1 (a round waits for every message it sends). The consumer
 * never joins a group: it is assigned both partitions at explicit offsets
 * and commits nothing (restore.h says why it still carries the daemon's
 * group.id). Both are built by kconf_build, so kafka.producer.* /
 * kafka.consumer.* (security, tuning) apply; what the round depends on is
 * set after them.
 *
 * One thread: everything here runs on the daemon's loop.
 */
#ifndef RFM_CONTROL_H
#define RFM_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "rfm/config.h"

#define CONTROL_TIMEOUT_MS      15000     /* each Admin / metadata request */
#define CONTROL_RETENTION_MS    "3600000" /* of a control topic rfmd creates */
#define CONTROL_FLUSH_MS        2000      /* control_free's wait for deliveries */
#define CONTROL_BREAKPOINTS_KEY "breakpoints"
/* The control messages' key: a keyless message would be refused by a
 * compacted control topic. */
#define CONTROL_ROUND_KEY        "round"
#define CONTROL_QUERY_TIMEOUT_MS 5000 /* one watermark query */
#define CONTROL_LEADER_WAIT_MS   5000 /* a new topic's partition without a leader yet */

typedef struct control control;

/* Check (or create) both topics on `brokers` (NULL: cfg->kafka.brokers)
 * with a short-lived Admin client configured like the producer
 * (kafka.producer.*: security settings apply), as changelog_topic_ensure
 * does the changelog:
 *   absent   -> created: control_topic with 1 partition, cleanup.policy=
 *               delete, retention.ms=CONTROL_RETENTION_MS; bp_topic with 1
 *               partition, cleanup.policy=compact; the broker's default
 *               replication factor
 *   present  -> each must have 1 partition, and bp_topic's cleanup.policy
 *               must contain "compact"; else refused, the message naming the
 *               topic, what it has and what it needs
 * librdkafka's mock cluster (kafka.brokers: embedded, tests), recognised by
 * its cluster id, has neither CreateTopics nor topic configs: there the
 * topics must have been created with the mock's own API, as embedded.c
 * creates rfmd's other topics (an absent one is refused, saying so), and
 * only the partition counts are checked.
 * Returns 0; -1 with err on a configuration error (a topic not as needed, a
 * refused kafka.producer property: exit 1); -2 with err when the cluster
 * did not answer or failed otherwise (exit 2). */
int control_topics_ensure(const config *cfg, const char *brokers, const char *control_topic,
                          const char *bp_topic, char *err, size_t errlen);

/* The producer and the consumer, for control_topic and bp_topic (copied),
 * on `brokers` (NULL: cfg->kafka.brokers). The consumer is assigned nothing
 * until control_read_latest. NULL with err when kconf_build refuses a
 * property (err names its YAML key) or a client cannot be created. */
control *control_open(const config *cfg, const char *brokers, const char *control_topic,
                      const char *bp_topic, char *err, size_t errlen);

/* Wait up to CONTROL_FLUSH_MS for messages not delivered yet (a warning
 * says how many were given up), destroy both clients, free c. NULL is a
 * no-op. */
void control_free(control *c);

/* Once, at start, before control_poll (which reads nothing before): read
 * bp_topic's partition from its beginning to its end as of this call (the
 * high watermark, under read_committed the last stable offset), blocking
 * for up to timeout_ms in all. *buf gets a malloc'd copy of the value of
 * the last record read (the caller frees it), *len its size; NULL and 0
 * when the topic holds no record (or its last one is a tombstone).
 * Records of any key count: only rfmd writes there.
 * Then the consumer is assigned control_topic's partition from its end as
 * of now (queried: every message produced after this returns is read,
 * none produced before it) and bp_topic's from the end just read up to.
 * Returns 0, or -1 with err (*buf NULL, *len 0): the offsets could not be
 * queried, the read did not reach the end within timeout_ms, the
 * assignment failed, a second call. */
int control_read_latest(control *c, int timeout_ms, uint8_t **buf, size_t *len, char *err,
                        size_t errlen);

/* Queue one control message (key CONTROL_ROUND_KEY) to control_topic; the
 * bytes are copied, nothing blocks. 0, or -1 when the producer refused it
 * (queue full, too large, failed; logged, rate-limited, and counted in
 * send_failed). A message refused later by the cluster is counted as a
 * failed delivery; the round treats it like any lost message. */
int control_send(control *c, const uint8_t *buf, size_t len);

/* The same for one breakpoints record (key CONTROL_BREAKPOINTS_KEY) to
 * bp_topic. */
int control_publish(control *c, const uint8_t *buf, size_t len);

/* One message read: buf[0..len), valid during the call only (NULL and 0
 * for a message without value). 0 to go on, -1 to stop. */
typedef int (*control_msg_fn)(void *ctx, const uint8_t *buf, size_t len);

/* Serve the producer's delivery reports, then read up to `max` messages
 * without blocking, in the order read: on_control for control_topic's,
 * on_record for bp_topic's (either may be NULL: the message is dropped).
 * Returns how many were read, or -1: a callback returned -1 (that message
 * counts as read: the next call goes on after it), or a client failed for
 * good (a fatal librdkafka error, a topic not authorized); control_error
 * says which. Partition EOF (debug) and transient errors (a warning,
 * rate-limited; librdkafka retries) are not failures. */
int control_poll(control *c, control_msg_fn on_control, control_msg_fn on_record, void *ctx,
                 size_t max);

/* A descriptor that turns readable when the consumer has something to
 * serve (kwake.h), for the daemon's loop; created on first call, owned by
 * c; -1 (errno set) if it cannot be. Delivery reports do not wake it: they
 * are served by whichever control_poll comes next. */
int control_wake_fd(control *c);

/* Empty the descriptor: once it was readable, before control_poll. */
void control_wake_clear(control *c);

/* Why control_poll returned -1; "" before. */
const char *control_error(const control *c);

typedef struct control_stats {
    uint64_t sent;            /* control messages the producer took */
    uint64_t bytes_sent;      /* their values' bytes */
    uint64_t published;       /* breakpoints records the producer took */
    uint64_t bytes_published; /* their values' bytes */
    uint64_t delivered;       /* messages and records the cluster acknowledged */
    uint64_t send_failed;     /* refused by the producer, or not delivered */
    uint64_t received;        /* control messages read */
    uint64_t bytes_received;  /* their values' bytes */
    uint64_t records;         /* breakpoints records read (control_read_latest too) */
    uint64_t bytes_records;   /* their values' bytes */
} control_stats;

void control_get_stats(const control *c, control_stats *out);

#endif
