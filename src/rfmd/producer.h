/*
 * producer — rfmd's one idempotent Kafka producer: segment-change events and
 * dead-letter copies.
 *
 * Every message carries a tracker_ref; its delivery report settles the ref,
 * which is what lets the consumer commit the input offset. A message that
 * still fails after librdkafka's retries is fatal (producer_failed): rfmd
 * never loses an event silently.
 *
 * A full local queue is back-pressure, not an error: producer_send pauses
 * consumption through the hook, serves delivery reports until the message
 * fits, and resumes.
 */
#ifndef RFM_PRODUCER_H
#define RFM_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "producer_stats.h"
#include "rfm/config.h"
#include "tracker.h"

typedef struct producer producer;

/* Called with on=true before waiting for queue space, on=false after. */
typedef void (*producer_backpressure_fn)(void *ctx, bool on);

/* brokers overrides cfg->kafka.brokers when not NULL. txn_id not NULL: a
 * transactional producer of that transactional.id (exactly-once; call
 * producer_txn_init before the first message). NULL with err set on a
 * configuration error. */
producer *producer_new(const config *cfg, const char *brokers, const char *txn_id, tracker *trk,
                       char *err, size_t errlen);
void producer_free(producer *p);

void producer_set_backpressure(producer *p, producer_backpressure_fn fn, void *ctx);

typedef struct producer_msg {
    const char *topic;
    const void *key;
    size_t key_len;
    void *value; /* with owned=true, malloc'd and taken over (freed in every case) */
    size_t len;
    bool owned;
    bool partitioned;        /* true: to `partition` exactly, never the partitioner */
    int32_t partition;       /* (the changelog's same-partition-as-input rule) */
    const char *header_name; /* optional single header */
    const void *header_value;
    size_t header_len;
} producer_msg;

/* Queue one message; ref (may be NULL) is settled by its delivery report, or
 * right here on failure. Returns 0; -1 when the producer failed (fatal, see
 * producer_failed); -2 when this one message can never be produced (larger
 * than message.max.bytes: logged as an error, ref settled, not fatal). */
int producer_send(producer *p, const producer_msg *m, tracker_ref *ref);

/* Serve delivery reports and errors. */
void producer_poll(producer *p, int timeout_ms);

/* Wait until everything queued is delivered or timeout; returns how many
 * messages are still outstanding. */
int producer_flush(producer *p, int timeout_ms);

/* Fatal state: a delivery failed after retries, or librdkafka raised a fatal
 * error. The reason is kept for the exit message. */
bool producer_failed(const producer *p);
const char *producer_error(const producer *p);

#define PRODUCER_TRACK_MAX 2 /* the changelog and the repartition topic */

/* Keep, for every partition of `topic`, the offset after the highest
 * message delivered there: for the changelog, what a checkpoint records as
 * the changelog position its state covers; for the repartition topic, how
 * far this process's own re-produced orders go (the backlog is consumed
 * only once they are). Up to PRODUCER_TRACK_MAX topics; tracking one twice
 * is a no-op. 0, or -1 (out of memory, too many). */
int producer_track(producer *p, const char *topic);

/* A tracked topic's partition: next offset after the highest delivered
 * message, -1 when none was delivered (since producer_forget_delivered) or
 * the topic is not tracked. */
int64_t producer_delivered_next(const producer *p, const char *topic, int32_t partition);

/* Forget partition's delivered position (its task went to another member:
 * what this process delivered says nothing of the partition any more). */
void producer_forget_delivered(producer *p, const char *topic, int32_t partition);

/* ---- exactly-once (processing.guarantee: exactly_once) ----
 *
 * Every message goes into the open transaction (producer_send opens one
 * when none is); producer_txn_commit adds the consumer's offsets (KIP-447:
 * with its group metadata, so a member fenced by a rebalance cannot commit)
 * and commits, which flushes. An abortable error aborts: the transaction's
 * messages are purged (their refs settled, counted in stats.aborted), and
 * the caller must rewind the state that produced them. A fatal error
 * (fenced by a newer producer of the same transactional.id) fails the
 * producer. */

#define PRODUCER_TXN_TIMEOUT_MS "10000" /* transaction.timeout.ms unless set */

typedef enum producer_txn_result {
    PRODUCER_TXN_OK = 0,      /* committed (or nothing to commit), or aborted as asked */
    PRODUCER_TXN_ABORTED = 1, /* an abortable error: the transaction was aborted */
    PRODUCER_TXN_FATAL = -1,  /* the producer failed (producer_error says why) */
} producer_txn_result;

/* init_transactions: registers the transactional.id and fences any earlier
 * producer of it, aborting its open transaction. 0, or -1 with err. */
int producer_txn_init(producer *p, int timeout_ms, char *err, size_t errlen);

/* Made with a txn_id; a transaction is open. */
bool producer_transactional(const producer *p);
bool producer_txn_open(const producer *p);

/* When the open transaction began (clock_mono_ms), -1 when none is open. */
int64_t producer_txn_begun_ms(const producer *p);

/* Commit the open transaction with offsets (NULL or empty: none) of the
 * consumer whose group metadata is cgmd; with offsets and none open, one is
 * opened for them. Blocks up to timeout_ms per step. */
producer_txn_result producer_txn_commit(producer *p, const rd_kafka_topic_partition_list_t *offsets,
                                        const rd_kafka_consumer_group_metadata_t *cgmd,
                                        int timeout_ms);

/* Abort the open transaction, if any (a lost assignment). */
producer_txn_result producer_txn_abort(producer *p, int timeout_ms);

/* Counters for logs and metrics. */
void producer_get_stats(const producer *p, producer_stats *out);

/* Messages in librdkafka's queue not yet delivered (rd_kafka_outq_len): what
 * the daemon paces rescore slices by, and what /metrics shows. */
size_t producer_queue_len(producer *p);

#endif
