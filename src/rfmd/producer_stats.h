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
} producer_stats;

#endif
