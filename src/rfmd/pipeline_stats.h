/*
 * pipeline_stats — the pipeline's counters (pipeline.h), in a header of
 * their own with no Kafka in it: the HTTP layer shows them (/metrics) and
 * must not see the producer behind the pipeline. One definition, read in
 * place through the status the daemon hands out (http.h).
 */
#ifndef RFM_PIPELINE_STATS_H
#define RFM_PIPELINE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "rfm/event.h"

/* Reason for orders that decode but fail the engine's own limits (a label
 * beside event_reject_name's reasons in logs and metrics). */
#define PIPELINE_REJECT_INVALID "invalid_order"

/* Reason for orders that arrived on another partition than their
 * customer's (input.partitioner; docs/contract.md §3.1). */
#define PIPELINE_REJECT_WRONG_PARTITION "wrong_partition"

typedef struct pipeline_stats {
    uint64_t consumed;       /* input messages handled */
    uint64_t redone;         /* already in the restored state: effects re-published only */
    uint64_t applied;        /* orders counted */
    uint64_t refunds;        /* refunds applied */
    uint64_t duplicates;     /* same order_id again: ignored */
    uint64_t refund_unknown; /* refund for an unknown customer: ignored */
    uint64_t rejected;       /* dead-lettered: rejected_by + invalid + wrong_partition */
    uint64_t rejected_by[EVENT_REJECT_COUNT];
    uint64_t invalid;             /* PIPELINE_REJECT_INVALID */
    uint64_t wrong_partition;     /* PIPELINE_REJECT_WRONG_PARTITION */
    uint64_t dead_letter_refused; /* copies too large for the producer */
    uint64_t repartition_in;      /* input.repartition: orders-topic messages read (stage 1;
                                     `consumed` counts the repartition topic's) */
    uint64_t repartitioned;       /* of them, re-produced to the repartition topic */
    uint64_t events_order;
    uint64_t events_rescore;
    uint64_t rescores;
    size_t last_rescore_customers;
    size_t last_rescore_changed;
    double last_rescore_ms;
    double rescore_ms_total;  /* all rescores, for the duration summary metric */
    uint64_t resegments;      /* segment rules replaced (SIGHUP reload) */
    uint64_t rescore_dropped; /* queued rescore changes of a partition revoked before
                                 they were published (its new owner publishes) */
} pipeline_stats;

#endif
