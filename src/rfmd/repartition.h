/*
 * repartition — stage 1 of input.repartition (docs/contract.md §3.1): an
 * orders-topic message is decoded and checked like any input, and then
 *
 *   invalid (undecodable, or outside the engine's limits)
 *       -> dead-lettered as today (pipeline_dead_letter), never forwarded
 *   valid
 *       -> its original value, byte for byte, keyed by its customer_id, to
 *          the repartition topic at partition keying_partition(partitioner,
 *          customer, count): where a producer keyed by customer with that
 *          partitioner would have put it in the first place
 *
 * Stage 2 is the ordinary pipeline (pipeline_process) over the repartition
 * topic: its partitions are the daemon's tasks, so every order of a
 * customer reaches the one store that owns the customer, whatever
 * partition of whichever orders topic it was sent to.
 *
 * The forwarded copy takes a tracker ref for the orders-topic message, so
 * (at least once) that message's offset is committed only once the copy is
 * delivered; exactly-once puts the copy and the orders offset in one
 * transaction (daemon_txn.c). A crash between delivery and commit forwards
 * the message again: stage 2's order-id dedup applies it once.
 *
 * Stage 1 holds no state: no task, no store, no checkpoint, no changelog.
 * Kafka-free apart from the pipeline's producer.
 */
#ifndef RFM_REPARTITION_H
#define RFM_REPARTITION_H

#include <stdint.h>

#include "pipeline.h"
#include "rfm/config.h"

typedef struct repartition {
    const char *topic;              /* cfg->input.repartition_topic */
    int32_t count;                  /* its partition count, read at start-up */
    config_partitioner partitioner; /* cfg->input.partitioner (never trust) */
} repartition;

/* Stage 1 for one message of an orders topic, with p's decoder, producer,
 * tracker and counters (stats.repartition_in, .repartitioned, the reject
 * counters). Returns 0, or -1 on a fatal failure (p->failed is set). */
int repartition_process(pipeline *p, const repartition *r, const pipeline_input *in);

#endif
