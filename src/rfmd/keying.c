/*
 * keying — see keying.h.
 *
 * librdkafka's producer runs the configured partitioner for every message
 * without an explicit partition (rd_kafka_msg_partitioner in rdkafka_msg.c):
 * for a message with a non-empty key it calls the function as is; only a
 * NULL key (murmur2_random) or an empty one (consistent_random) goes to the
 * random or sticky partitioner, the only paths that read the topic handle.
 * So for a non-empty key, *_random and their plain variants agree, and the
 * plain ones (rd_kafka_msg_partitioner_murmur2 = (murmur2(key) & 0x7fffffff)
 * % count, Java's Utils.toPositive(murmur2) % count; _consistent =
 * crc32(key) % count) never touch the handle: passing NULL is safe. Calling
 * the plain ones, after refusing empty keys here, keeps it that way.
 */
#include "keying.h"

#include <librdkafka/rdkafka.h>

int32_t keying_partition(config_partitioner p, const void *key, size_t len, int32_t count) {
    if (count < 1 || !key || len == 0)
        return -1;
    switch (p) {
    case CONFIG_PARTITIONER_MURMUR2:
        return rd_kafka_msg_partitioner_murmur2(NULL, key, len, count, NULL, NULL);
    case CONFIG_PARTITIONER_CONSISTENT:
        return rd_kafka_msg_partitioner_consistent(NULL, key, len, count, NULL, NULL);
    case CONFIG_PARTITIONER_TRUST:
    default:
        return -1;
    }
}
