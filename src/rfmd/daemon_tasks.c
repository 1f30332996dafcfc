/*
 * daemon_tasks — which input partitions this process owns, and each one's
 * state: built on assignment, dropped on revocation (tasks.h). See
 * daemon_internal.h.
 *
 * Assigned partition p (the consumer's assign hook):
 *
 *   1. its newest valid local checkpoint, if any (saver.h: the store and,
 *      in its offsets, the input position and the changelog position it
 *      covers); none with the embedded cluster, whose topics die with it
 *   2. without a changelog: that is the state; input resumes where the
 *      checkpoint says (or at the beginning of the partition)
 *   3. with a changelog: p is held paused (RESTORING) and changelog
 *      partition p is read from the checkpoint's position (else from its
 *      beginning) to its end, a slice per loop turn (restore.h), every
 *      record applied to p's store. Then the input position the state
 *      covers is the higher of the checkpoint's and 1 + the highest input
 *      offset the records carry; input resumes at the group's committed
 *      offset when that is lower — the messages in between are "redone"
 *      (their effects published again, nothing applied twice: tracker.h)
 *      — and p turns RUNNING.
 *
 * Revoked partition p: the consumer drained the producer and committed
 * first; p's store is checkpointed (so it comes back fast if p returns
 * here) and freed, and the tracker forgets its position. Under the eager
 * protocol every rebalance revokes everything: the stores are kept
 * (SUSPENDED) until the next assignment says whether p stays here with
 * no other member in between (kept as is) or not (checkpointed, freed) —
 * what Kafka Streams does with suspended tasks. Until then p is not ours:
 * its task is neither fed, scored, published nor committed (tasks.h) —
 * a rescore of it meanwhile once wrote stale records into a changelog
 * partition another member already owned, committed after that member's
 * own, and a later restore lost their orders.
 *
 * With input.repartition the tasks are the repartition topic's partitions;
 * the orders topics' partitions (stage 1, repartition.h) get no task, no
 * checkpoint offsets and no restore: assigned or revoked, only their
 * tracker position is forgotten, so they resume at the committed offset.
 *
 * Why at-least-once keeps the state exact: a changelog partition receives
 * records in its input partition's order from one idempotent producer at
 * a time, so the highest input offset it holds says exactly which orders
 * the restored state contains; the order-id dedup never has to catch a
 * re-read order. Events may repeat (the redo range), never go missing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "log.h"
#include "rfm/changelog.h"
#include "util/clock.h"

#define DAEMON_COMMITTED_TIMEOUT_MS 10000 /* reading the committed offset after a restore */

/* The state topic a partition number is read from (with a changelog there
 * is exactly one: the orders topic, or the repartition topic; config_keys.c). */
static const char *daemon_tasks_topic(const daemon_ctx *d) {
    char *const *topics;
    config_state_topics(d->cfg, &topics);
    return topics[0];
}

/* Forget partition p's input position in `topic`. */
static void daemon_tasks_forget_one(daemon_ctx *d, const char *topic, int32_t p) {
    int slot = tracker_slot(d->trk, topic, p);
    if (slot >= 0)
        tracker_forget(d->trk, slot);
}

/* Forget partition p's input position in every state topic. */
static void daemon_tasks_forget(daemon_ctx *d, int32_t p) {
    char *const *topics;
    size_t n = config_state_topics(d->cfg, &topics);
    for (size_t i = 0; i < n; i++)
        daemon_tasks_forget_one(d, topics[i], p);
}

/* The state cannot be had as configured: stop with DAEMON_EXIT_STATE. */
static void daemon_tasks_refuse(daemon_ctx *d, const char *why) {
    log_error("%s", why);
    d->state_refused = true;
}

/* Partition p's checkpoint offsets as p's task's restore bookkeeping; with
 * no changelog the input positions go straight into the tracker. */
static void daemon_tasks_take_offsets(daemon_ctx *d, task *k, const snapshot_info *info) {
    const config *c = d->cfg;
    for (size_t i = 0; i < info->noffsets; i++) {
        const snapshot_offset *o = &info->offsets[i];
        if (o->partition != k->partition)
            continue;
        if (c->changelog.enabled && !strcmp(o->topic, c->changelog.topic)) {
            k->changelog_from = o->next;
        } else if (c->changelog.enabled) {
            if (!strcmp(o->topic, daemon_tasks_topic(d))) {
                k->ckpt_applied = o->next;
                k->ckpt_redo_from = o->redo_from;
            }
        } else if (!config_is_state_topic(c, o->topic)) {
            continue; /* not this configuration's state input (input.repartition changed) */
        } else if (tracker_restore(d->trk, o->topic, o->partition, o->next, o->redo_from) < 0) {
            daemon_tasks_refuse(d, "out of memory restoring offsets");
        }
    }
}

/* A new task for p: its checkpoint loaded when there is a valid one. */
static task *daemon_tasks_create(daemon_ctx *d, int32_t p) {
    daemon_tasks_forget(d, p);
    store *st = NULL;
    snapshot_info info;
    int rc = 0;
    char err[1024] = "";
    if (!d->emb)
        rc = saver_load_partition(d->saver, p, &st, &info, err, sizeof err);
    if (rc == -1 || (rc == -2 && !d->cfg->changelog.enabled && !d->opt.start_empty)) {
        char why[1400];
        snprintf(why, sizeof why,
                 rc == -1 ? "partition %d: %s"
                          : "partition %d: none of its checkpoints is usable (reasons above) and "
                            "there is no changelog to rebuild it from; refusing to go on rather "
                            "than lose its state: move them away or start with --start-empty",
                 (int)p, err);
        daemon_tasks_refuse(d, why);
        return NULL; /* no task: nothing of p is applied, nothing checkpointed over its files */
    } else if (rc == -2) {
        log_warning("partition %d: no usable checkpoint; %s", (int)p,
                    d->cfg->changelog.enabled ? "rebuilding it from the changelog alone"
                                              : "starting it empty as told (--start-empty)");
    }
    if (rc != 1)
        st = store_new();
    task *k = st ? tasks_add(d->tasks, p, st) : NULL;
    if (!k) {
        if (rc == 1)
            snapshot_info_free(&info);
        daemon_tasks_refuse(d, "out of memory creating a partition's store");
        return NULL;
    }
    if (rc == 1) {
        daemon_tasks_take_offsets(d, k, &info);
        /* Scores go on against the checkpoint's breakpoints until the
         * next rescore, as before the restart. */
        if (d->pipe.bp.version == 0 && info.bp.version > 0)
            d->pipe.bp = info.bp;
        snapshot_info_free(&info);
    }
    return k;
}

/* Begin k's changelog restore; false when it could not start (fatal). */
static bool daemon_tasks_begin_restore(daemon_ctx *d, task *k) {
    char err[512];
    k->restore_started_ms = clock_mono_ms();
    int64_t from = k->changelog_from >= 0 ? k->changelog_from : RESTORE_FROM_BEGINNING;
    if (restore_begin(d->restore, k->partition, from, err, sizeof err) < 0) {
        char why[700];
        snprintf(why, sizeof why, "partition %d: cannot restore from %s: %s", (int)k->partition,
                 d->cfg->changelog.topic, err);
        daemon_tasks_refuse(d, why);
        return false;
    }
    restore_progress pr;
    if (restore_get_progress(d->restore, k->partition, &pr) && pr.reset && k->changelog_from >= 0) {
        /* The checkpoint's changelog position is not in this changelog (it
         * was recreated, or truncated): the checkpoint belongs to another
         * history. Rebuild from the changelog alone. */
        log_warning("partition %d: checkpoint's changelog offset %" PRId64 " is not in %s; "
                    "dropping the checkpoint, restoring from the changelog alone",
                    (int)k->partition, k->changelog_from, d->cfg->changelog.topic);
        store *fresh = store_new();
        if (!fresh) {
            daemon_tasks_refuse(d, "out of memory");
            return false;
        }
        store_free(k->store);
        k->store = fresh;
        k->ckpt_applied = k->ckpt_redo_from = -1;
        k->changelog_from = -1;
    }
    log_info("partition %d: restoring from %s [%d] offset %" PRId64 "%s", (int)k->partition,
             d->cfg->changelog.topic, (int)k->partition, pr.from,
             store_count(k->store) ? " onto its checkpoint" : "");
    return true;
}

static bool daemon_tasks_on_assign(void *ctx, const char *topic, int32_t p, bool regained) {
    daemon_ctx *d = ctx;
    if (!config_is_state_topic(d->cfg, topic)) {
        /* Stage 1 of input.repartition: no task; the committed offset says
         * where it resumes, whatever this process read of it before. */
        daemon_tasks_forget_one(d, topic, p);
        return false;
    }
    task *k = tasks_get(d->tasks, p);
    if (k && k->state == TASK_SUSPENDED) {
        if (!regained) {
            k->state = TASK_RUNNING;
            return false; /* nobody else had it: the state and positions stand */
        }
        tasks_remove(d->tasks, p);
        k = NULL;
    }
    if (k) /* another orders topic's partition p: same task */
        return k->state == TASK_RESTORING;
    if (d->cfg->changelog.enabled && d->changelog_parts > 0 && p >= d->changelog_parts) {
        /* Partitions were added to the input while running (the start
         * refuses a count that differs): a customer's partition is its
         * key's hash modulo the count, so the state no longer splits as
         * the input does. */
        char why[700];
        snprintf(why, sizeof why,
                 "%s [%d] was assigned, but %s has %d partitions: partitions were added to the "
                 "input while rfmd ran, so customers no longer map to the partitions holding "
                 "their state; refusing to go on (see docs/contract.md section 9.1 on "
                 "changing the partition count)",
                 topic, (int)p, d->cfg->changelog.topic, (int)d->changelog_parts);
        daemon_tasks_refuse(d, why);
        return false;
    }
    k = daemon_tasks_create(d, p);
    if (!k)
        return false;
    if (!d->cfg->changelog.enabled) {
        k->state = TASK_RUNNING;
        return false;
    }
    k->state = TASK_RESTORING;
    return daemon_tasks_begin_restore(d, k);
}

/* Partition p's RUNNING task as a checkpoint part: its offsets into offs
 * (room for CONFIG_MAX_TOPICS + 1). */
static void daemon_tasks_part(daemon_ctx *d, const task *k, saver_part *part,
                              snapshot_offset *offs) {
    size_t n = 0;
    char *const *topics;
    size_t ntopics = config_state_topics(d->cfg, &topics);
    for (size_t i = 0; i < ntopics; i++) {
        int slot = tracker_slot(d->trk, topics[i], k->partition);
        if (slot < 0)
            continue;
        tracker_partition_info pi;
        tracker_info(d->trk, (size_t)slot, &pi);
        if (pi.applied == TRACKER_OFFSET_NONE)
            continue;
        snprintf(offs[n].topic, sizeof offs[n].topic, "%s", pi.topic);
        offs[n].partition = k->partition;
        offs[n].next = pi.applied;
        offs[n].redo_from = pi.unsettled < pi.applied ? pi.unsettled : pi.applied;
        n++;
    }
    if (d->cfg->changelog.enabled) {
        int64_t pos = producer_delivered_next(d->prod, d->cfg->changelog.topic, k->partition);
        if (k->changelog_end > pos)
            pos = k->changelog_end;
        if (pos >= 0) {
            snprintf(offs[n].topic, sizeof offs[n].topic, "%s", d->cfg->changelog.topic);
            offs[n].partition = k->partition;
            offs[n].next = offs[n].redo_from = pos;
            n++;
        }
    }
    *part =
        (saver_part){.partition = k->partition, .store = k->store, .offsets = offs, .noffsets = n};
}

/* Checkpoint a RUNNING or SUSPENDED task now, in this process (it is about
 * to go). Not while rescore events are undelivered: the checkpoint would
 * lack them. */
static void daemon_tasks_checkpoint(daemon_ctx *d, const task *k, const char *why) {
    if (d->emb || k->state == TASK_RESTORING || d->final_saved || d->state_refused)
        return; /* refused: the state is not what its files should hold */
    if (tracker_global_pending(d->trk) > 0) {
        log_info("partition %d: no checkpoint on %s (rescore events undelivered)",
                 (int)k->partition, why);
        return;
    }
    snapshot_offset offs[CONFIG_MAX_TOPICS + 1];
    saver_part part;
    daemon_tasks_part(d, k, &part, offs);
    saver_save_partition(d->saver, &part, &d->pipe.bp, why);
}

/* Drop p's task: checkpointed first unless lost. */
static void daemon_tasks_drop(daemon_ctx *d, int32_t p, bool checkpoint, const char *why) {
    task *k = tasks_get(d->tasks, p);
    if (!k)
        return;
    if (k->state == TASK_RESTORING)
        restore_cancel(d->restore, p);
    else if (checkpoint)
        daemon_tasks_checkpoint(d, k, why);
    tasks_remove(d->tasks, p);
    daemon_tasks_forget(d, p);
    producer_forget_delivered(d->prod, d->cfg->changelog.topic, p);
    producer_forget_delivered(d->prod, d->cfg->input.repartition_topic, p);
}

static void daemon_tasks_on_revoke(void *ctx, const char *topic, int32_t p, bool lost, bool eager) {
    daemon_ctx *d = ctx;
    /* Lost: another member may own the partitions already; what the open
     * transaction holds must not be committed. */
    if (lost)
        daemon_txn_abort(d, "assignment lost");
    if (!config_is_state_topic(d->cfg, topic)) {
        daemon_tasks_forget_one(d, topic, p); /* stage 1: no task */
        return;
    }
    task *k = tasks_get(d->tasks, p);
    if (!k)
        return;
    if (eager && !lost && !d->stopping && k->state == TASK_RUNNING) {
        k->state = TASK_SUSPENDED;
        return;
    }
    daemon_tasks_drop(d, p, !lost, lost ? "lost" : "revoke");
}

/* After an assignment: suspended tasks not assigned again go. */
static void daemon_tasks_on_assigned(void *ctx) {
    daemon_ctx *d = ctx;
    size_t i = 0;
    for (task *k; (k = tasks_next(d->tasks, &i));) {
        if (k->state == TASK_SUSPENDED)
            daemon_tasks_drop(d, k->partition, true, "revoke");
    }
}

/* ---- restore callbacks ---------------------------------------------------- */

static int daemon_tasks_on_record(void *ctx, int32_t p, int64_t offset, const void *key,
                                  size_t klen, const void *val, size_t len, int64_t input_offset) {
    daemon_ctx *d = ctx;
    d->restore_step_records++;
    task *k = tasks_get(d->tasks, p);
    if (!k || k->state != TASK_RESTORING)
        return 0;
    if (input_offset >= 0 && input_offset + 1 > k->input_seen)
        k->input_seen = input_offset + 1;
    if (!val || !len)
        return 0; /* a tombstone: no erasure in this version, nothing to undo */
    char err[256];
    changelog_result r =
        changelog_apply(k->store, key, klen, val, len, &d->cfg->segments, err, sizeof err);
    if (r == CHANGELOG_NOMEM) {
        log_error("partition %d: out of memory restoring from the changelog", (int)p);
        return -1;
    }
    if (r == CHANGELOG_BAD) {
        static log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
        k->restore_bad++;
        log_rl(&rl, LOG_LEVEL_ERROR, "%s [%d] @%" PRId64 ": record skipped: %s",
               d->cfg->changelog.topic, (int)p, offset, err);
        return 0;
    }
    k->restored++;
    return 0;
}

/* Where input resumes once p's state is restored (see the top). */
static int64_t daemon_tasks_resume(daemon_ctx *d, task *k) {
    const char *topic = daemon_tasks_topic(d);
    int64_t applied = k->ckpt_applied > k->input_seen ? k->ckpt_applied : k->input_seen;
    if (applied < 0)
        return RD_KAFKA_OFFSET_BEGINNING; /* no state anywhere: all of it */
    int64_t committed =
        consumer_committed(d->cons, topic, k->partition, DAEMON_COMMITTED_TIMEOUT_MS);
    int64_t redo = committed >= 0 ? committed : k->ckpt_redo_from >= 0 ? k->ckpt_redo_from : 0;
    if (committed == -2)
        log_warning("partition %d: committed offset unknown: redoing from %" PRId64,
                    (int)k->partition, redo);
    /* Committed past the state's end: the state lacks what was committed
     * (its records are not in the changelog read): read on from the state's
     * end, which may repeat effects (at least once), never loses an order. */
    if (redo > applied) {
        log_warning("partition %d: committed offset %" PRId64 " is past the restored state's "
                    "end %" PRId64 ": reading on from the state's end",
                    (int)k->partition, redo, applied);
        redo = applied;
    }
    if (tracker_restore(d->trk, topic, k->partition, applied, redo) < 0) {
        daemon_tasks_refuse(d, "out of memory restoring offsets");
        return RD_KAFKA_OFFSET_INVALID;
    }
    int slot = tracker_slot(d->trk, topic, k->partition);
    return slot < 0 ? applied : tracker_resume_offset(d->trk, slot);
}

static void daemon_tasks_on_done(void *ctx, int32_t p, int64_t end) {
    daemon_ctx *d = ctx;
    task *k = tasks_get(d->tasks, p);
    if (!k || k->state != TASK_RESTORING)
        return;
    k->changelog_end = end;
    int64_t resume = daemon_tasks_resume(d, k);
    if (d->state_refused)
        return;
    if (consumer_release(d->cons, daemon_tasks_topic(d), p, resume) < 0)
        return; /* the consumer is failed: the loop stops */
    k->state = TASK_RUNNING;
    /* At least once, a rescore's event may have been delivered without its
     * record (two topics, no transaction): publish the partition's
     * customers again once caught up. Exactly once, the two were committed
     * together: the records hold what was last published. */
    if (k->restored && !producer_transactional(d->prod)) {
        k->republish = true;
        d->restored_due = true;
    }
    int64_t ms = clock_mono_ms() - k->restore_started_ms;
    double secs = ms > 0 ? (double)ms / 1000.0 : 0.001;
    char from[32] = "its beginning";
    if (resume >= 0)
        snprintf(from, sizeof from, "offset %" PRId64, resume);
    log_notice("partition %d restored: %zu customers from %" PRIu64 " changelog records "
               "(offsets %" PRId64 "..%" PRId64 ")%s in %.3f s (%.0f records/s); state covers "
               "input below %" PRId64 "; input resumes at %s",
               (int)p, store_count(k->store), k->restored,
               k->changelog_from < 0 ? 0 : k->changelog_from, end,
               k->ckpt_applied >= 0 ? " onto its checkpoint" : "", secs, (double)k->restored / secs,
               k->ckpt_applied > k->input_seen ? k->ckpt_applied : k->input_seen, from);
    if (k->restore_bad)
        log_warning("partition %d: %" PRIu64 " changelog records were not usable (see above)",
                    (int)p, k->restore_bad);
    d->restores_done++;
}

/* ---- the daemon's side ---------------------------------------------------- */

/* The restore's wake-up, emptied before the turn serves what it announced. */
static void daemon_tasks_wake(void *ctx, int fd) {
    (void)fd;
    daemon_ctx *d = ctx;
    restore_wake_clear(d->restore);
}

int daemon_tasks_rewind(daemon_ctx *d) {
    int32_t *parts = malloc((tasks_count(d->tasks) + 1) * sizeof *parts);
    if (!parts) {
        daemon_tasks_refuse(d, "out of memory rebuilding partitions");
        return -1;
    }
    size_t n = 0, i = 0;
    /* Not the suspended ones: the revocation committed their state, and
     * their partitions are not held by this process now. */
    for (task *k; (k = tasks_next(d->tasks, &i));)
        if (k->state != TASK_SUSPENDED)
            parts[n++] = k->partition;
    for (size_t j = 0; j < n && !d->state_refused; j++) {
        int32_t p = parts[j];
        daemon_tasks_drop(d, p, false, "rewind");
        task *k = daemon_tasks_create(d, p);
        if (!k)
            break;
        k->state = TASK_RESTORING;
        if (consumer_hold(d->cons, daemon_tasks_topic(d), p) < 0)
            break;
        daemon_tasks_begin_restore(d, k);
    }
    free(parts);
    /* Stage 1 (input.repartition): the aborted copies are gone, so its
     * partitions are read again from the committed offsets. */
    for (size_t s = 0, ns = tracker_count(d->trk); s < ns && !d->state_refused; s++) {
        tracker_partition_info pi;
        tracker_info(d->trk, s, &pi);
        if (pi.assigned && !config_is_state_topic(d->cfg, pi.topic) &&
            consumer_rewind(d->cons, pi.topic, pi.partition) < 0)
            break;
    }
    return d->state_refused || consumer_failed(d->cons) ? -1 : 0;
}

int daemon_tasks_start(daemon_ctx *d, char *err, size_t errlen) {
    d->tasks = tasks_new();
    if (!d->tasks) {
        snprintf(err, errlen, "out of memory");
        return DAEMON_EXIT_INTERNAL;
    }
    if (d->cfg->changelog.enabled) {
        d->restore = restore_new(d->cfg, d->brokers, err, errlen);
        if (!d->restore)
            return DAEMON_EXIT_CONFIG;
        /* Changelog records end the loop's wait as input does. */
        int wake = restore_wake_fd(d->restore);
        if (wake < 0 || loop_add_fd(d->loop, "restore", wake, daemon_tasks_wake, d) < 0) {
            snprintf(err, errlen, "cannot create the restore's wake-up descriptor");
            return DAEMON_EXIT_INTERNAL;
        }
        if (producer_track(d->prod, d->cfg->changelog.topic) < 0) {
            snprintf(err, errlen, "out of memory");
            return DAEMON_EXIT_INTERNAL;
        }
    }
    /* How far this process's own copies go: the backlog is consumed only
     * once stage 2 has read them (daemon_caught_up). */
    if (d->cfg->input.repartition && producer_track(d->prod, d->cfg->input.repartition_topic) < 0) {
        snprintf(err, errlen, "out of memory");
        return DAEMON_EXIT_INTERNAL;
    }
    consumer_hooks h = {
        .assign = daemon_tasks_on_assign,
        .assigned = daemon_tasks_on_assigned,
        .revoke = daemon_tasks_on_revoke,
    };
    consumer_set_hooks(d->cons, &h, d);
    return DAEMON_EXIT_OK;
}

void daemon_tasks_stop(daemon_ctx *d) {
    restore_free(d->restore);
    d->restore = NULL;
    tasks_free(d->tasks);
    d->tasks = NULL;
}

int daemon_tasks_restore_step(daemon_ctx *d) {
    if (!d->restore || !restore_active(d->restore))
        return 0;
    d->restore_step_records = 0;
    int rc = restore_poll(d->restore, DAEMON_RESTORE_SLICE, daemon_tasks_on_record,
                          daemon_tasks_on_done, d);
    /* A whole slice: more is queued, and librdkafka signals only a queue
     * that was empty — the next turn must not wait for a wake-up. */
    d->restore_full = d->restore_step_records >= DAEMON_RESTORE_SLICE;
    if (rc < 0) {
        log_error("restore: %s", restore_error(d->restore));
        d->state_refused = true;
        return -1;
    }
    return d->state_refused ? -1 : 0;
}

bool daemon_tasks_restoring(const daemon_ctx *d) {
    return d->restore && restore_active(d->restore) > 0;
}

int daemon_tasks_snapshot(daemon_ctx *d, const char *why) {
    /* Suspended tasks too: their state is what the revocation committed,
     * and a stop during an eager rebalance must not leave them out. */
    size_t n = tasks_restored(d->tasks);
    saver_part *parts = calloc(n ? n : 1, sizeof *parts);
    snapshot_offset(*offs)[CONFIG_MAX_TOPICS + 1] = calloc(n ? n : 1, sizeof *offs);
    int rc = -1;
    if (parts && offs) {
        size_t i = 0, j = 0;
        for (task *k; (k = tasks_next(d->tasks, &i));)
            if (k->state != TASK_RESTORING && j < n) {
                daemon_tasks_part(d, k, &parts[j], offs[j]);
                j++;
            }
        rc = saver_start(d->saver, parts, j, &d->pipe.bp, why);
    } else {
        log_error("snapshot (%s): out of memory; the previous one stays", why);
    }
    free(parts);
    free(offs);
    return rc;
}
