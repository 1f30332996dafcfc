/*
 * restore — reading changelog partitions back, in slices.
 *
 * When the daemon is assigned input partition p it rebuilds p's customers
 * from changelog partition p (cfg->changelog.topic, contract §9.1), which
 * holds exactly the customers of input partition p. This module is the
 * Kafka side of that: a consumer of its own, separate from the group
 * consumer of the orders, that reads changelog partitions from a given
 * offset up to the end they had when the restore began, and hands every
 * record to a callback. It never applies a record: the daemon does.
 *
 * The restore consumer never joins a group, never subscribes and never
 * commits: partitions are added and removed with incremental assign /
 * unassign at explicit offsets. librdkafka still needs a group.id for a
 * consumer to assign partitions at all (2.0: "Requires a consumer with
 * group.id configured"), so it keeps the one kconf_build sets — the daemon's
 * group, whose ACLs the user already has; an assign-only consumer neither
 * joins it nor fetches or commits its offsets, so the group does not notice.
 *
 * Reading is sliced so the daemon's single-threaded loop keeps serving the
 * other partitions: restore_poll never blocks and hands over at most `max`
 * records per call. The end of a restore is fixed when it begins (the high
 * watermark then, under read_committed the last stable offset): records
 * produced later are the daemon's own, written after the restore, and are
 * never handed over.
 */
#ifndef RFM_RESTORE_H
#define RFM_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/config.h"

typedef struct restore restore;

/* restore_begin's `from` for "the first record there is". */
#define RESTORE_FROM_BEGINNING (-2)
/* The longest restore_begin waits for the partition's offsets. */
#define RESTORE_QUERY_TIMEOUT_MS 5000
#define RESTORE_LEADER_WAIT_MS   5000 /* a new topic's partitions without a leader yet */

/* A consumer of cfg->changelog.topic configured by kconf_build(cfg,
 * KCONF_CONSUMER, brokers, ...) — so kafka.consumer.* (security, tuning)
 * applies — then with enable.partition.eof=true, isolation.level=
 * read_committed and auto.offset.reset=earliest forced. `brokers` overrides
 * cfg->kafka.brokers when not NULL (embedded mode). cfg must outlive the
 * restore (the topic name is copied). NULL with err on failure. */
restore *restore_new(const config *cfg, const char *brokers, char *err, size_t errlen);

/* Destroys the consumer; partitions still restoring are dropped without a
 * done callback. NULL is a no-op. */
void restore_free(restore *r);

/* Start reading changelog partition p from `from` (an offset >= 0, or
 * RESTORE_FROM_BEGINNING) up to its end as of this call: the high watermark
 * queried now (a broker round trip of at most RESTORE_QUERY_TIMEOUT_MS).
 * If from == end (or the partition is empty) the partition is done at once:
 * the next restore_poll reports it. If `from` is below the log start offset
 * (compaction or retention removed it) or above the end (the topic was
 * recreated: so from > end is not "done" but a reset), a warning says so
 * and reading starts at the beginning instead, with restore_progress.reset
 * set.
 * Returns 0, or -1 with err: p is already being restored, `from` is
 * another negative value, the offsets could not be queried (no such
 * partition, broker not answering), or the assignment failed. */
int restore_begin(restore *r, int32_t partition, int64_t from, char *err, size_t errlen);

/* One changelog record of `partition` at `offset`: key[0..klen) (NULL/0 for
 * a record without key), val[0..len); val NULL / len 0 is a tombstone. The
 * bytes are valid during the call only. input_offset: the value of the
 * record's CHANGELOG_INPUT_OFFSET_HEADER header (rfm/changelog.h; the last
 * one if repeated), decimal ASCII of an int64 >= 0; -1 when absent or
 * malformed. Return 0 to
 * go on, -1 to stop: restore_poll then returns -1 at once (the record
 * counts as handed over). */
typedef int (*restore_record_fn)(void *ctx, int32_t partition, int64_t offset, const void *key,
                                 size_t klen, const void *val, size_t len, int64_t input_offset);

/* Partition p is fully read: every record below `end` that the topic still
 * holds was handed to the record callback, in offset order. Called once per
 * restore_begin, never after restore_cancel. By the time it is called p is
 * no longer restoring, so it may restore_begin p again. */
typedef void (*restore_done_fn)(void *ctx, int32_t partition, int64_t end);

/* Serve up to `max` changelog messages over all partitions being restored,
 * without blocking (librdkafka's queue at timeout 0, one message at a time
 * as consumer.c does): fn for each record in range, then `done` (may be
 * NULL) for each partition that reached its end. Records of a cancelled
 * partition, or at offsets outside [position, end), are dropped (they count
 * towards max). Returns the number of partitions still restoring, or -1:
 * fn asked to stop (the next call goes on after that record), or the
 * consumer failed, for good (a fatal librdkafka error, the topic not
 * authorized); restore_error says which. Other consumer errors are logged,
 * rate-limited, and librdkafka retries. */
int restore_poll(restore *r, size_t max, restore_record_fn fn, restore_done_fn done, void *ctx);

/* Stop restoring p (revoked mid-restore): no more of its records, no done
 * callback. A no-op when p is not restoring. */
void restore_cancel(restore *r, int32_t partition);

/* Where a restore of one partition is. */
typedef struct restore_progress {
    int64_t from;     /* where reading began: `from`, or the log start offset
                         (RESTORE_FROM_BEGINNING, or reset) */
    int64_t position; /* the next offset to read (the last record handed + 1) */
    int64_t end;      /* the high watermark at restore_begin: done below it */
    uint64_t records; /* records handed to the record callback */
    bool reset;       /* `from` was out of range: began at the beginning */
} restore_progress;

/* Progress of p into *out; false when p is not restoring (never begun,
 * cancelled, or done reported). */
bool restore_get_progress(const restore *r, int32_t partition, restore_progress *out);

/* Partitions being restored now (done but not yet reported included). */
int restore_active(const restore *r);

/* Why restore_poll returned -1; "" before. */
const char *restore_error(const restore *r);

/* A descriptor that turns readable when the restore consumer has something
 * to serve, so the daemon's loop can sleep in poll() on it; as
 * consumer_wake_fd. Created on first call, owned by the restore; -1 (errno
 * set) if it cannot be. */
int restore_wake_fd(restore *r);

/* Empty the wake-up descriptor: call it once it was readable, before
 * restore_poll, so a wake-up that comes after is never lost. */
void restore_wake_clear(restore *r);

#endif
