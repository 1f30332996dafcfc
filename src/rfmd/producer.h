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

/* brokers overrides cfg->kafka.brokers when not NULL. NULL with err set on a
 * configuration error. */
producer *producer_new(const config *cfg, const char *brokers, tracker *trk, char *err,
                       size_t errlen);
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

/* Keep, for every partition of `topic` (the changelog), the offset after
 * the highest message delivered there: what a checkpoint records as the
 * changelog position its state covers. 0, or -1 out of memory. */
int producer_track(producer *p, const char *topic);

/* The tracked topic's partition: next offset after the highest delivered
 * message, -1 when none was delivered (since producer_forget_delivered). */
int64_t producer_delivered_next(const producer *p, int32_t partition);

/* Forget partition's delivered position (its task went to another member:
 * what this process delivered says nothing of the partition any more). */
void producer_forget_delivered(producer *p, int32_t partition);

/* Counters for logs and metrics. */
void producer_get_stats(const producer *p, producer_stats *out);

/* Messages in librdkafka's queue not yet delivered (rd_kafka_outq_len): what
 * the daemon paces rescore slices by, and what /metrics shows. */
size_t producer_queue_len(producer *p);

#endif
