/*
 * consumer — the high-level (group) consumer of topics.orders.
 *
 * Offsets are never stored or auto-committed by librdkafka: consumer_commit
 * commits, explicitly, what the tracker says is committable (applied and
 * every resulting event delivered). The rebalance callback handles both
 * protocols (eager: assign/assign(NULL); cooperative: incremental_assign /
 * incremental_unassign), starts partitions this process holds state for at
 * the tracker's applied position (so a restored snapshot resumes exactly
 * where its state ends), and on revoke drains the producer and commits
 * before letting the partitions go.
 *
 * For the keying check (input.partitioner) it also knows each state
 * topic's partition count (config_state_topics: the orders topics, or the
 * repartition topic), cached and read again after each rebalance.
 *
 * consumer_poll returns data messages only; partition EOF is recorded in the
 * tracker, transient errors are logged (rate-limited), fatal ones make the
 * consumer failed.
 */
#ifndef RFM_CONSUMER_H
#define RFM_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "rfm/config.h"
#include "tracker.h"

typedef struct consumer consumer;

/* Called in the revoke path before committing: deliver everything queued. */
typedef void (*consumer_drain_fn)(void *ctx);

/* The daemon's part in a rebalance (daemon_tasks.c), all called from the
 * rebalance callback on the daemon's thread:
 *   assign    per partition assigned, before its start offset is chosen
 *             (so the hook may tracker_restore it); regained: another
 *             member may have held it since this process last did (see
 *             consumer_take_regained). Returns true to hold the partition
 *             paused until consumer_release (its state is being restored).
 *   assigned  once after each assignment (every assign hook called).
 *   revoke    per partition revoked, after the drain and the commit (none
 *             when lost: another member may own it already); eager: the
 *             eager protocol, which revokes everything on every rebalance. */
typedef struct consumer_hooks {
    bool (*assign)(void *ctx, const char *topic, int32_t partition, bool regained);
    void (*assigned)(void *ctx);
    void (*revoke)(void *ctx, const char *topic, int32_t partition, bool lost, bool eager);
} consumer_hooks;

consumer *consumer_new(const config *cfg, const char *brokers, tracker *trk, char *err,
                       size_t errlen);
void consumer_free(consumer *c);

void consumer_set_drain(consumer *c, consumer_drain_fn fn, void *ctx);

/* Install the rebalance hooks (copied); call before consumer_subscribe. */
void consumer_set_hooks(consumer *c, const consumer_hooks *hooks, void *ctx);

/* Exactly-once: consumer_commit does nothing from here on (the offsets go
 * into the producer's transactions, producer_txn_commit). */
void consumer_set_txn(consumer *c);

/* The group metadata for producer_txn_commit (caller destroys it with
 * rd_kafka_consumer_group_metadata_destroy); NULL out of memory. */
rd_kafka_consumer_group_metadata_t *consumer_group_metadata(consumer *c);

/* Hold an assigned partition paused until consumer_release (its state is
 * rebuilt: an aborted transaction). 0, or -1 (the consumer failed). */
int consumer_hold(consumer *c, const char *topic, int32_t partition);

/* Seek an assigned partition back to the group's committed offset (the
 * beginning when none is) and forget its tracker position: what was read
 * past it was thrown away (an aborted transaction's stage-1 copies,
 * input.repartition). 0, or -1 (the consumer is then failed). */
int consumer_rewind(consumer *c, const char *topic, int32_t partition);

/* A held partition's state is ready: seek it to `offset` (an offset, or an
 * RD_KAFKA_OFFSET_* constant) and resume it (unless back-pressure pauses
 * everything: then with the rest). 0, or -1 when it is not held or the seek
 * failed (the consumer is then failed). */
int consumer_release(consumer *c, const char *topic, int32_t partition, int64_t offset);

/* The group's committed offset of a partition, asked of the broker (blocks
 * up to timeout_ms): the offset, -1 when none is committed, -2 when it
 * could not be read (logged). */
int64_t consumer_committed(consumer *c, const char *topic, int32_t partition, int timeout_ms);

/* Where partitions of the state topics (config_state_topics) without a
 * tracker position start (an RD_KAFKA_OFFSET_* constant); by default, and
 * always for the orders topics under input.repartition (stage 1 holds no
 * state), the group's committed offset decides. Call before
 * consumer_subscribe. */
void consumer_set_start_unknown(consumer *c, int64_t offset);

/* Subscribe to cfg->topics.orders, and the repartition topic with
 * input.repartition. Returns 0 or -1 with err. */
int consumer_subscribe(consumer *c, char *err, size_t errlen);

/* Next data message (caller destroys it with rd_kafka_message_destroy), or
 * NULL when none arrived within timeout_ms. Serves rebalances, commit
 * results and errors. */
rd_kafka_message_t *consumer_poll(consumer *c, int timeout_ms);

/* A descriptor that turns readable when the consumer has something to serve
 * (a message, a rebalance, an error), so the loop can sleep in poll() on it
 * together with other descriptors (the HTTP server) rather than inside
 * consumer_poll. Created on first call, owned by the consumer; -1 (errno
 * set) if it cannot be. */
int consumer_wake_fd(consumer *c);

/* Empty the wake-up descriptor: call it once it was readable, before
 * serving the consumer (consumer_poll), so a wake-up that comes after is
 * never lost. */
void consumer_wake_clear(consumer *c);

/* Pause / resume fetching of the whole current assignment (back-pressure);
 * held partitions stay paused until released. */
void consumer_pause(consumer *c);
void consumer_resume(consumer *c);

/* Commit committable offsets; sync waits for the result. Returns the number
 * of partitions committed (sync) or requested (async), -1 on error. */
int consumer_commit(consumer *c, bool sync);

/* Leave the group: the revoke path marks the partitions unassigned and
 * runs the revoke hooks, but neither drains nor commits; the caller has
 * done both (the stop's flush and consumer_commit) and polls no more. */
void consumer_close(consumer *c);

bool consumer_failed(const consumer *c);
const char *consumer_error(const consumer *c);

/* True (once) when a rebalance gave back a partition that another member
 * held in between: events that member published came from its partial
 * state, so the daemon re-publishes every customer's segment. */
bool consumer_take_regained(consumer *c);

/* Partitions currently assigned. */
int consumer_assigned(const consumer *c);

rd_kafka_t *consumer_handle(consumer *c);

/* Consumer lag: for each assigned partition, the messages between this
 * process's position (or, before it consumed there, the tracker's restored
 * or committed offset) and librdkafka's cached high watermark. fn (may be
 * NULL) gets each partition whose lag is known; returns their sum, -1 when
 * none is known. */
typedef void (*consumer_lag_fn)(void *ctx, const char *topic, int32_t partition, int64_t lag);
int64_t consumer_lag(consumer *c, consumer_lag_fn fn, void *ctx);

/* One assigned partition as this process sees it (GET /partitions). Offsets
 * in "next offset" form (last offset + 1), -1 where unknown. Nothing here
 * costs a broker round trip: librdkafka's position and cached watermarks,
 * and the tracker. */
typedef struct consumer_partition {
    const char *topic; /* valid during the callback only */
    int32_t partition;
    int64_t applied;   /* the tracker's applied position (every message below it
                          is in the state), else `position` */
    int64_t position;  /* where consumer_lag counts from (see there) */
    int64_t committed; /* the last offset this process committed and Kafka
                          acknowledged; -1 before its first commit there */
    int64_t high;      /* librdkafka's cached high watermark */
    int64_t lag;       /* high - position (0 when past it), as consumer_lag */
    bool reached_end;  /* EOF reached at least once since it was assigned */
} consumer_partition;
typedef void (*consumer_partition_fn)(void *ctx, const consumer_partition *p);

/* Calls fn for each assigned partition, in librdkafka's assignment order;
 * returns how many. consumer_lag is the same walk, so the two agree. */
int consumer_partitions(consumer *c, consumer_partition_fn fn, void *ctx);

/* The keying check: the partition of `topic` (a state topic:
 * config_state_topics) that
 * an order of `customer` (len bytes) must arrive on under
 * cfg->input.partitioner, with the topic's partition count in *count; the
 * order arrived on partition `arrived`. -1 when it is not checked: trust,
 * a topic not subscribed, or the partition count unknown (metadata not
 * answering; retried every few seconds). The count is read once after each
 * rebalance (a blocking metadata request of at most 5 s), not per message. */
int32_t consumer_customer_partition(consumer *c, const char *topic, int32_t arrived,
                                    const void *customer, size_t len, int32_t *count);

#endif
