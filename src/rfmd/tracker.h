/*
 * tracker — per-partition input offsets: the one place that knows, for every
 * input partition, how far the in-memory state goes and how far it is safe to
 * commit.
 *
 * Two positions per partition, both "next offset" form (last offset + 1):
 *  - applied:     every message below it has changed the state (or was
 *                 rejected). This is what a snapshot must store together with
 *                 the state it describes, and where consumption resumes when
 *                 that state is restored.
 *  - committable: every message below it is applied AND everything it caused
 *                 (segment events, dead-letter copies) has been delivered by
 *                 the producer. Only this is ever committed to Kafka.
 *
 * A snapshot stores both `applied` and the oldest unsettled offset (the
 * committable position before rescore holds). After a restore, the messages
 * between the two are already in the state but their effects may have been
 * lost with the process: consumption resumes at the older one, and such a
 * message is "redone" — its effects published again from the current state,
 * never applied twice (tracker_in_state). So a snapshot never has to wait for
 * deliveries, and ingestion only stops for the fork.
 *
 * A message in flight is an entry (offset, pending deliveries) in a per
 * partition queue ordered by offset; the committable position is the offset
 * of the oldest entry still pending, or `applied` when none is. Events of a
 * rescore are not caused by any one message: while any of them is pending,
 * nothing is committable (tracker_hold), which keeps "committed" behind every
 * effect the state has had.
 *
 * Partitions get a small integer slot, stable for the life of the tracker
 * (also across revoke and re-assignment), so in-flight references survive a
 * rebalance. Single-threaded: the daemon's main thread owns it (delivery
 * reports are served there too).
 */
#ifndef RFM_TRACKER_H
#define RFM_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACKER_OFFSET_NONE (-1) /* position not known */

typedef struct tracker tracker;

/* What a produced message points back to (its msg_opaque). Owned by the
 * in-flight message: tracker_ref_done frees it. */
typedef struct tracker_ref tracker_ref;

typedef struct tracker_partition_info {
    const char *topic;
    int32_t partition;
    bool assigned;
    bool eof;            /* caught up: EOF seen and no message consumed since */
    bool reached_end;    /* EOF seen at least once since the partition was last
                            assigned (stays true as new messages arrive) */
    int64_t applied;     /* TRACKER_OFFSET_NONE until a message was applied/restored */
    int64_t committable; /* TRACKER_OFFSET_NONE when nothing to commit */
    int64_t committed;   /* last offset Kafka acknowledged, or NONE */
    int64_t unsettled;   /* oldest message whose effects are not all delivered
                            (rescore holds aside), or `applied` when none is */
    size_t in_flight;    /* messages with deliveries pending */
} tracker_partition_info;

tracker *tracker_new(void);
void tracker_free(tracker *t);

/* Slot of a partition, created on first use; -1 on allocation failure. */
int tracker_slot(tracker *t, const char *topic, int32_t partition);

/* Assignment bookkeeping (rebalance callback). Assign clears `eof` and
 * `reached_end`; consuming a message (tracker_begin) clears `eof` only. */
void tracker_set_assigned(tracker *t, int slot, bool assigned);
void tracker_set_eof(tracker *t, int slot);
/* True when at least one partition is assigned and every assigned one is
 * caught up (at its end as of the last poll). */
bool tracker_all_eof(const tracker *t);

/* Where consumption should resume for this slot: `applied` (or the start of
 * a restored redo range) when this process holds state for it (consumed
 * earlier or restored), else TRACKER_OFFSET_NONE (let the group's committed
 * offset decide). */
int64_t tracker_resume_offset(const tracker *t, int slot);

/* Snapshot restore: the state loaded covers every message below `next`; the
 * effects of those from `redo_from` on are to be published again. */
int tracker_restore(tracker *t, const char *topic, int32_t partition, int64_t next,
                    int64_t redo_from);

/* The state of this slot's partition was dropped (its task went to another
 * member, or is being rebuilt): no applied position, no redo range, so
 * tracker_resume_offset no longer claims one, and no message in flight
 * (their refs still settle, counted by tracker_pending, without effect on
 * the partition). Committed offsets are kept. */
void tracker_forget(tracker *t, int slot);

/* The message is already part of the state (offset below `applied`): it must
 * not be applied again, only its effects re-published. */
bool tracker_in_state(const tracker *t, int slot, int64_t offset);

/* Processing one message: begin, take one ref per produced message, end.
 * The entry stays in flight until its refs are all done. Returns 0, -1 on
 * allocation failure. */
int tracker_begin(tracker *t, int slot, int64_t offset);
tracker_ref *tracker_ref_take(tracker *t, int slot, int64_t offset);
void tracker_end(tracker *t, int slot, int64_t offset);

/* A reference for a message not caused by any input message (rescore). */
tracker_ref *tracker_ref_global(tracker *t);

/* Delivery report. ok=false leaves the entry pending forever (nothing past it
 * is ever committed); the caller treats that as fatal. Frees ref. */
void tracker_ref_done(tracker *t, tracker_ref *ref, bool ok);

/* Number of produced messages not yet delivered; of them, rescore events. */
size_t tracker_pending(const tracker *t);
size_t tracker_global_pending(const tracker *t);

/* Commit support: offsets to commit for assigned partitions (only_slots, when
 * not NULL, restricts to those slots) whose committable position moved past
 * `committed`. Calls fn once per partition; returns how many. */
typedef void (*tracker_commit_fn)(void *ctx, const char *topic, int32_t partition, int64_t offset);
size_t tracker_commit_candidates(const tracker *t, bool include_unassigned, tracker_commit_fn fn,
                                 void *ctx);
void tracker_set_committed(tracker *t, const char *topic, int32_t partition, int64_t offset);

/* Walk all known partitions (snapshot save, metrics, logs). */
size_t tracker_count(const tracker *t);
void tracker_info(const tracker *t, size_t slot, tracker_partition_info *out);

#endif
