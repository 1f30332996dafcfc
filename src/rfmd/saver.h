/*
 * saver — rfmd's durable state: restoring the newest valid snapshot at start
 * and taking snapshots while ingestion goes on.
 *
 * Taking one (as Redis' BGSAVE): fork(), whatever is in flight. The child
 * owns a copy-on-write image of the store, the breakpoints and the tracker as
 * of that instant, writes it with snapshot_save and exits; the parent returns
 * to consuming at once and reaps the child from its loop (saver_poll). The
 * input position saved is, for every partition the state has seen, the
 * tracker's `applied` offset and its oldest unsettled one (effects not yet
 * delivered), taken in the same instant as the state, so state and position
 * always agree. The only thing a snapshot waits for is a rescore's events:
 * those are caused by no input message, so no re-read could bring them back.
 *
 * Restoring: the newest snapshot that verifies is loaded (others are skipped
 * with their reason logged); its offsets go into the tracker, so every
 * partition resumes at its oldest unsettled message — those up to `applied`
 * are re-published from the state, not applied again — and partitions it
 * never saw start from the beginning of the topic. Kafka's committed offsets
 * are kept for lag tools only.
 */
#ifndef RFM_SAVER_H
#define RFM_SAVER_H

#include <stdbool.h>
#include <stdint.h>

#include "rfm/config.h"
#include "rfm/score.h"
#include "rfm/store.h"
#include "saver_stats.h"
#include "tracker.h"

typedef struct saver saver;

saver *saver_new(const config *cfg);
/* Kills and reaps a child still writing (its temporary file is removed by
 * the next start). */
void saver_free(saver *s);

/* A child is writing. */
bool saver_busy(const saver *s);

/* Fork a child writing this state. The caller has made sure no rescore event
 * is pending. 0 started, -1 failed (logged, counted). */
int saver_start(saver *s, const store *st, const score_breakpoints *bp, const tracker *trk,
                const char *why);

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

/* Make sure snapshot.dir exists (one level is created) and drop the
 * temporary files a killed writer left. 0, or -1 with err. */
int saver_prepare(saver *s, char *err, size_t errlen);

/* saver_prepare, then load the newest valid snapshot of cfg->snapshot.dir into a new store.
 * Returns 1 restored (*out, *bp and the tracker filled), 0 nothing to restore
 * (no snapshot, or every one invalid and allow_invalid set), -1 refused
 * (directory unusable, or snapshots exist and none is valid), err says why. */
int saver_restore(saver *s, bool allow_invalid, store **out, score_breakpoints *bp, tracker *trk,
                  char *err, size_t errlen);

#endif
