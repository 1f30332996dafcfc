/*
 * changelog_log — writing the changelog topic (docs/contract.md §9.1): one
 * record per applied order or refund, for the customer it touched, keyed by
 * customer_id, to the changelog partition with the *same number* as the
 * input partition the order came from (an explicit partition, never the
 * partitioner), so a later owner of input partition p restores p's
 * customers from changelog partition p alone.
 *
 * At-least-once: each record carries the tracker ref of the input message
 * that caused it, like the message's segment event, so the input offset is
 * committed only once the record is delivered too. A record repeated after a
 * crash (the redo range) is harmless: a record is the whole customer, and
 * compaction keeps the latest.
 *
 * Rescores and new segment rules change r/f/m/segment without any order:
 * each customer whose segment they change gets a record too, after its
 * event and under a rescore (global) ref: so the changelog holds the
 * segment last published (pipeline.c).
 *
 * Every record carries the input position its partition's state covers
 * (CHANGELOG_INPUT_OFFSET_HEADER): an order's record its own offset, a
 * rescore's or a redone message's the highest offset applied so far. So
 * the values never decrease along a changelog partition, and its newest
 * record, which compaction never removes, carries the highest: a compacted
 * changelog still says where its state ends. (Rescore records once carried
 * none; compaction then dropped the orders' records behind a later rescore
 * record of the same customer, and a restore resumed the input far behind
 * the state — re-applying orders the store's 3-order dedup could miss.)
 *
 * One reusable buffer encodes every record: nothing is allocated per record
 * beyond librdkafka's copy of key and value. Kafka-free apart from the
 * producer it is handed.
 */
#ifndef RFM_CHANGELOG_LOG_H
#define RFM_CHANGELOG_LOG_H

#include <stdint.h>

#include "producer.h"
#include "rfm/segment.h"
#include "rfm/store.h"
#include "tracker.h"
#include "util/strbuf.h"

typedef struct changelog_log {
    const char *topic; /* the config's changelog.topic (not owned) */
    strbuf buf;        /* the encoding buffer, reused */
    uint64_t records;  /* records handed to the producer */
    uint64_t refused;  /* customers whose record could not be encoded (logged) */
} changelog_log;

/* Ready to write to topic (which must outlive l). */
void changelog_log_init(changelog_log *l, const char *topic);
void changelog_log_free(changelog_log *l);

/* Produce customer c of s (its segment named by map) to partition
 * `partition` of the changelog, with the header CHANGELOG_INPUT_OFFSET_HEADER (rfm/changelog.h)
 * holding input_offset (the highest input offset the partition's state
 * covers, see above) in decimal: a restore takes the highest one it reads
 * as the input position its state covers (the changelog partition is
 * written in input order, and the producer is idempotent, so no record of
 * an earlier message is missing behind it). input_offset < 0 (nothing
 * applied to the partition yet): no header. ref is taken over: settled by the
 * delivery report, or here on failure. Returns 0; -1 on a fatal failure (producer failed, out of
 * memory). A customer the record cannot carry (a name that is not UTF-8, see changelog_encode) is
 * logged, counted in `refused`, its ref settled as delivered, and 0 returned: the order is applied;
 * only its record is missing, which nothing can repair by retrying. */
int changelog_log_write(changelog_log *l, producer *prod, const store *s, const store_customer *c,
                        const segment_map *map, int32_t partition, int64_t input_offset,
                        tracker *trk, tracker_ref *ref);

#endif
