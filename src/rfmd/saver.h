/*
 * saver — rfmd's durable state: one checkpoint per partition store, taken
 * while ingestion goes on, and loaded back partition by partition.
 *
 * Layout: <snapshot.dir>/partition-<N>/rfmd-<created ms>.snap. Each partition
 * directory is an ordinary snapshot directory (include/rfm/snapshot.h) whose
 * files hold one store in the unchanged format; its OFFSETS block carries the
 * partition's input position(s) and, as one more entry (topic = the changelog
 * topic, partition = N, next = redo_from = the changelog offset), where the
 * changelog stood. The caller builds those entries; the saver writes them as
 * given. snapshot.keep applies per partition. Files of the old layout (one
 * store, directly in snapshot.dir) are no longer loaded: saver_prepare says
 * how many there are and leaves them alone.
 *
 * Taking them (as Redis' BGSAVE): fork(), whatever is in flight. ONE child
 * owns a copy-on-write image of every store, the breakpoints and the offsets
 * as of that instant, writes the partitions one after the other (temporary
 * file, fsync, rename, as snapshot_save) and reports each partition's result
 * through a pipe; a partition that fails does not stop the others. The parent
 * returns to consuming at once and reaps the child from its loop
 * (saver_poll), pruning each written partition's directory.
 *
 * A partition about to be given up (a revoke) is written in the calling
 * process instead (saver_save_partition), even while a child runs: the two
 * writers' temporary names differ (pid) and neither rename replaces a file.
 * The child's file of that partition, taken earlier, is then deleted when the
 * child is reaped if it came out newer by name than the revoke's, so the
 * newest checkpoint of the partition is always its newest state.
 */
#ifndef RFM_SAVER_H
#define RFM_SAVER_H

#include <stdbool.h>
#include <stdint.h>

#include "rfm/config.h"
#include "rfm/score.h"
#include "rfm/snapshot.h"
#include "rfm/store.h"
#include "saver_stats.h"

typedef struct saver saver;

saver *saver_new(const config *cfg);
/* Kills and reaps a child still writing (its temporary file is removed by
 * the next start). */
void saver_free(saver *s);

/* A child is writing. */
bool saver_busy(const saver *s);

/* One partition's state to write. */
typedef struct saver_part {
    int32_t partition; /* >= 0 */
    const store *store;
    /* This partition's input position(s) and the changelog's, written to the
     * OFFSETS block as given. */
    const snapshot_offset *offsets;
    size_t noffsets;
} saver_part;

/* Fork ONE child writing every part to its partition directory (created if
 * missing), all with the same created time. parts[] and what it points to
 * are only read, by the child, in its copy-on-write image: the caller may
 * change or free them as soon as this returns. The caller has made sure no
 * rescore event is pending. nparts 0: nothing to do, 0 without forking. 0 started,
 * -1 failed (a child is already running: not counted; fork/pipe/memory:
 * logged, counted as failed). When the child is reaped (saver_poll,
 * saver_wait) one line reports the partitions, customers, bytes, time, fork
 * pause and input gap, or each failed partition. */
int saver_start(saver *s, const saver_part *parts, size_t nparts, const score_breakpoints *bp,
                const char *why);

/* Write one partition now, in this process, without forking (the revoke
 * path: the partition is about to be freed), whether or not a child is
 * running; then prune that partition's directory. 0, or -1 (logged, counted
 * in stats.failed). A success is logged but not counted in stats.written,
 * which counts forked snapshots of the whole state. */
int saver_save_partition(saver *s, const saver_part *part, const score_breakpoints *bp,
                         const char *why);

/* Load the newest valid checkpoint of partition p (segment indices mapped by
 * name onto cfg->segments, fingerprint of cfg->scoring checked; invalid
 * files are skipped, each reason logged). 1 loaded: *out is a new store and
 * *info is filled (the caller snapshot_info_free's it; its offsets hold the
 * input and changelog positions as saved). 0 nothing to load (no directory,
 * or no snapshot file in it: a fresh partition). -2 files exist and none is
 * valid (err says so; the caller decides: rebuild from the changelog, or
 * refuse). -1 the directory is unusable (err). On anything but 1 nothing is
 * handed out. stats.restore_ms and restored_customers accumulate over the
 * partitions loaded. */
int saver_load_partition(saver *s, int32_t partition, store **out, snapshot_info *info, char *err,
                         size_t errlen);

/* Delete partition p's checkpoints (one found inconsistent with the
 * changelog); its directory stays. Returns how many files went (0 also when
 * it has no directory). A child writing right now may still add one. */
int saver_drop_partition(saver *s, int32_t partition);

/* An input message was handled at now_us, the one before at prev_us (0:
 * none). While a child is writing, the longest such interval — the one
 * spanning the fork included — is the snapshot's ingestion gap; the longest
 * between snapshots is logged beside it, as what the loop does anyway. */
void saver_note_input(saver *s, int64_t prev_us, int64_t now_us);

/* Reap a finished child without blocking: log it, count it, prune old
 * snapshots. Returns 1 when one finished well, -1 when one failed, else 0. */
int saver_poll(saver *s);

/* Wait up to timeout_ms for a running child; same result as saver_poll
 * (0: still running at the deadline, or none was running). */
int saver_wait(saver *s, int timeout_ms);

/* The counters, in place: the address stays valid for the saver's life. */
const saver_stats *saver_get_stats(const saver *s);

/* Make sure snapshot.dir exists (one level is created), drop the temporary
 * files a killed writer left in every partition directory (and in
 * snapshot.dir itself), and log one notice when old-layout snapshots lie
 * directly in snapshot.dir: they are ignored, and left alone. Call it before
 * any writer starts. 0, or -1 with err. */
int saver_prepare(saver *s, char *err, size_t errlen);

#endif
