/*
 * rfm-replay — internal interface between the command line (rfm_replay.c)
 * and the Kafka side (replay_kafka.c). The tool is a thin loop: the engine's
 * readers turn files into orders, event_encode_order turns each into the
 * SPEC §2 JSON, and this sink produces it keyed by customer id.
 */
#ifndef RFM_REPLAY_H
#define RFM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes, sysexits-style like rfmctl's. */
#define REPLAY_OK        0
#define REPLAY_FAIL      1  /* input unreadable, or some message not delivered */
#define REPLAY_USAGE     64 /* bad command line, including a refused -X property */
#define REPLAY_NOBROKER  69 /* the brokers never answered */
#define REPLAY_INTERRUPT 130

typedef struct replay_kafka replay_kafka;

typedef struct replay_kafka_stats {
    uint64_t sent, delivered, failed, queue_full_waits;
} replay_kafka_stats;

/* Producer for `topic` on `brokers`, defaults first, then each "prop=value"
 * of props (so -X overrides anything). NULL with a message in err; *code is
 * then the exit code to use (REPLAY_USAGE for a refused property). */
replay_kafka *replay_kafka_new(const char *brokers, const char *topic, char *const *props,
                               size_t nprops, char *err, size_t errlen, int *code);

/* Wait up to timeout_ms for the cluster to answer a metadata request, so a
 * wrong address fails in seconds rather than after message.timeout.ms.
 * Returns 0, or -1 with a message in err. */
int replay_kafka_connect(replay_kafka *k, int timeout_ms, char *err, size_t errlen);

/* Produce one message; value (malloc'd) is taken over in every case. A full
 * local queue is waited out, never dropped. Returns 0, or -1 when the message
 * could not even be queued (counted as failed; fatal errors also set
 * replay_kafka_fatal). */
int replay_kafka_send(replay_kafka *k, const char *key, size_t key_len, char *value, size_t len);

/* Serve delivery reports for up to timeout_ms. */
void replay_kafka_poll(replay_kafka *k, int timeout_ms);

/* Messages queued but not yet reported on. */
int replay_kafka_outstanding(replay_kafka *k);

/* True once librdkafka raised a fatal error (e.g. idempotence broken). */
bool replay_kafka_fatal(replay_kafka *k, char *err, size_t errlen);

void replay_kafka_get_stats(const replay_kafka *k, replay_kafka_stats *out);

/* Flushes nothing: call after the outstanding count reached 0 (or giving up). */
void replay_kafka_free(replay_kafka *k);

/* The progress line, if any, is on screen: messages to stderr must clear it
 * first. Set by rfm_replay.c, read by the Kafka callbacks. */
extern bool replay_progress_shown;
void replay_progress_clear(void);

#endif
