/*
 * keying — which partition a producer sends a customer's orders to, so that
 * rfmd can check every order arrived on its customer's partition
 * (input.partitioner, docs/contract.md §3.1): with several rfmd in one
 * group, an order elsewhere would split its customer's state between
 * processes.
 *
 * The hash is librdkafka's own partitioner function, called with the
 * customer id as the key, so the answer is by construction the partition a
 * librdkafka producer (and, for murmur2, a Java one) picks for a message
 * keyed by that id. Kept apart from the consumer so it can be tested
 * without a broker; the header is Kafka-free, librdkafka stays in keying.c.
 */
#ifndef RFM_KEYING_H
#define RFM_KEYING_H

#include <stddef.h>
#include <stdint.h>

#include "rfm/config.h"

/* The partition (0 .. count-1) a producer with partitioner p chooses for a
 * message keyed `key` (len bytes) on a topic of `count` partitions. -1 when
 * nothing can be said: p is CONFIG_PARTITIONER_TRUST, count < 1, or the key
 * is empty (a producer places an unkeyed message at random; customer ids
 * are never empty). */
int32_t keying_partition(config_partitioner p, const void *key, size_t len, int32_t count);

#endif
