/*
 * producer_stats — the producer's counters (producer.h), Kafka-free so the
 * HTTP layer can show them without seeing librdkafka.
 */
#ifndef RFM_PRODUCER_STATS_H
#define RFM_PRODUCER_STATS_H

#include <stdint.h>

/* Counters for logs and metrics (producer_get_stats). */
typedef struct producer_stats {
    uint64_t sent, delivered, failed, queue_full_waits;
    /* Exactly-once: transactions committed and aborted, messages purged by an
     * abort, and the time commits took (send offsets + commit). */
    uint64_t txn_commits, txn_aborts, aborted;
    uint64_t txn_commit_us_total, txn_commit_us_max;
} producer_stats;

#endif
