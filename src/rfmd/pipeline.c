/*
 * pipeline — see pipeline.h.
 *
 * Scoring rule between recomputes: a touched customer is scored against the
 * current breakpoints (SPEC §3). Before the first breakpoints exist nobody is
 * scored and nothing is published; the first rescore (after the backlog, or
 * the first interval) then emits every customer, with previous_segment null.
 *
 * previous_segment is null when the customer had no segment (index 0): never
 * scored yet, or scored into no rule of a custom map. A change between two
 * "no segment" states is not a change and emits nothing.
 *
 * Dead-letter copies carry the input's key and value byte for byte; the only
 * addition is the `rfmd-error: <reason>: <detail>` header.
 *
 * The keying check runs on the decoded order's customer_id, not on the
 * message key: the customer is what decides whose state an order changes,
 * and a key that is not the customer id proves nothing either way.
 */
#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/order.h"
#include "rfm/timefmt.h"
#include "util/clock.h"

void pipeline_init(pipeline *p, const config *cfg, tasks *ts, producer *prod, tracker *trk) {
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->tasks = ts;
    p->prod = prod;
    p->trk = trk;
    log_ratelimit_init(&p->reject_rl, 10000, 10);
}

void pipeline_set_changelog(pipeline *p, changelog_log *l) {
    p->changelog = l;
}

void pipeline_set_home(pipeline *p, pipeline_home_fn fn, void *ctx) {
    p->home = fn;
    p->home_ctx = ctx;
}

/* True when the decoded order belongs to another partition than the one it
 * arrived on; the dead-letter detail is written into why. */
static bool pipeline_misplaced(pipeline *p, const pipeline_input *in, char *why, size_t len) {
    if (!p->home)
        return false;
    const order_str *id = &p->dec.o.customer_id;
    int32_t count = 0;
    int32_t home = p->home(p->home_ctx, in->topic, in->partition, id->p, id->len, &count);
    if (home < 0 || home == in->partition)
        return false;
    snprintf(why, len, "customer %.*s belongs to partition %d of %d, arrived on %d", (int)id->len,
             id->p, (int)home, (int)count, (int)in->partition);
    return true;
}

void pipeline_free(pipeline *p) {
    event_decoded_free(&p->dec);
    free(p->changes);
    p->changes = NULL;
}

/* Publish one segment change; `previous` is the old segment's name (NULL:
 * none). ref is taken over (settled in every case). */
static int pipeline_emit_named(pipeline *p, const store *s, store_customer *c, const char *previous,
                               const char *cause, const order_str *order_id, tracker_ref *ref) {
    const segment_map *map = &p->cfg->segments;
    event_change ev;
    memset(&ev, 0, sizeof ev);
    ev.customer_id = store_key(s, c, &ev.customer_len);
    ev.segment = segment_name(map, c->segment);
    ev.previous_segment = previous;
    ev.r = c->r;
    ev.f = c->f;
    ev.m = c->m;
    ev.recency_days = score_recency_days(p->bp.as_of, c->last_ts);
    ev.frequency = c->frequency;
    ev.monetary_cents = c->monetary_cents;
    ev.cause = cause;
    if (order_id) {
        ev.order_id = order_id->p;
        ev.order_len = order_id->len;
    }
    ev.as_of = p->bp.as_of;
    ev.breakpoints_version = p->bp.version;
    ev.emitted_at_ms = clock_wall_ms();
    size_t len = 0;
    char *json = event_encode_change(&ev, &len);
    if (!json) {
        tracker_ref_done(p->trk, ref, false);
        log_error("pipeline: out of memory encoding a segment event");
        p->failed = 1;
        return -1;
    }
    producer_msg m = {
        .topic = p->cfg->topics.segments,
        .key = ev.customer_id,
        .key_len = ev.customer_len,
        .value = json,
        .len = len,
        .owned = true,
    };
    if (producer_send(p->prod, &m, ref) == -1) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

/* Same, the old segment given as an index into the current map. */
static int pipeline_emit(pipeline *p, const store *s, store_customer *c, uint8_t old,
                         const char *cause, const order_str *order_id, tracker_ref *ref) {
    const char *previous = old ? segment_name(&p->cfg->segments, old) : NULL;
    return pipeline_emit_named(p, s, c, previous, cause, order_id, ref);
}

/* An event caused by input message (slot, offset): its tracker ref keeps
 * that offset uncommitted until delivery. */
static int pipeline_emit_caused(pipeline *p, const store *s, store_customer *c, uint8_t old,
                                int slot, int64_t offset) {
    tracker_ref *ref = tracker_ref_take(p->trk, slot, offset);
    if (!ref) {
        log_error("pipeline: out of memory");
        p->failed = 1;
        return -1;
    }
    p->stats.events_order++;
    return pipeline_emit(p, s, c, old, "order", &p->dec.o.order_id, ref);
}

/* The input offset a changelog record of the partition in `slot` carries
 * (changelog_log.h): the highest offset its state covers — `at`, the
 * message being applied, or the partition's applied position when that is
 * further (a redone message, a rescore); -1 when nothing is known. */
static int64_t pipeline_covered(const pipeline *p, int slot, int64_t at) {
    if (slot < 0)
        return at;
    tracker_partition_info pi;
    tracker_info(p->trk, (size_t)slot, &pi);
    if (pi.applied != TRACKER_OFFSET_NONE && pi.applied - 1 > at)
        at = pi.applied - 1;
    return at;
}

/* An event of a rescore (or new segment rules) of a customer of task
 * partition `partition`: caused by no input message. With a changelog the
 * customer's record follows it, carrying the input position the partition's
 * state covers (so compaction, which may keep this record and drop the
 * orders' ones, keeps that position), so the changelog holds the segment
 * last published, and a new owner of the partition need not publish it
 * again. */
static int pipeline_emit_rescore(pipeline *p, const store *s, store_customer *c, int32_t partition,
                                 const char *previous) {
    tracker_ref *ref = tracker_ref_global(p->trk);
    if (!ref) {
        log_error("pipeline: out of memory");
        p->failed = 1;
        return -1;
    }
    p->stats.events_rescore++;
    if (pipeline_emit_named(p, s, c, previous, "rescore", NULL, ref) < 0)
        return -1;
    if (!p->changelog)
        return 0;
    char *const *topics;
    int slot = config_state_topics(p->cfg, &topics) == 1
                   ? tracker_slot(p->trk, topics[0], partition)
                   : -1; /* with a changelog there is one state topic (config_keys.c) */
    int64_t covered = pipeline_covered(p, slot, -1);
    ref = tracker_ref_global(p->trk);
    if (!ref || changelog_log_write(p->changelog, p->prod, s, c, &p->cfg->segments, partition,
                                    covered, p->trk, ref) < 0) {
        if (!ref)
            log_error("pipeline: out of memory");
        p->failed = 1;
        return -1;
    }
    return 0;
}

int pipeline_dead_letter(pipeline *p, const pipeline_input *in, int slot, const char *reason,
                         const char *detail) {
    p->stats.rejected++;
    log_rl(&p->reject_rl, LOG_LEVEL_WARNING, "rejected %s [%d] @%" PRId64 ": %s: %s", in->topic,
           (int)in->partition, in->offset, reason, detail);
    char header[512];
    int hl = snprintf(header, sizeof header, "%s: %s", reason, detail);
    if (hl < 0)
        hl = 0;
    if ((size_t)hl >= sizeof header)
        hl = (int)sizeof header - 1;
    tracker_ref *ref = tracker_ref_take(p->trk, slot, in->offset);
    if (!ref) {
        log_error("pipeline: out of memory");
        p->failed = 1;
        return -1;
    }
    producer_msg m = {
        .topic = p->cfg->topics.dead_letter,
        .key = in->key,
        .key_len = in->key_len,
        .value = (void *)in->payload,
        .len = in->len,
        .owned = false,
        .header_name = PIPELINE_ERROR_HEADER,
        .header_value = header,
        .header_len = (size_t)hl,
    };
    int rc = producer_send(p->prod, &m, ref);
    if (rc == -2)
        p->stats.dead_letter_refused++;
    if (rc == -1) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

/* Score a customer an order just touched; publish if its segment moved. */
static int pipeline_score_touched(pipeline *p, const store *s, store_customer *c, int slot,
                                  int64_t offset) {
    if (p->bp.version == 0 || !c)
        return 0;
    uint8_t old = score_apply(&p->cfg->scoring, &p->bp, &p->cfg->segments, s, c);
    if (old == c->segment)
        return 0;
    return pipeline_emit_caused(p, s, c, old, slot, offset);
}

/* The changelog record of a customer input message in changed (or, redone,
 * may have changed): to the input's partition number, under its ref. */
static int pipeline_log_touched(pipeline *p, const store *s, store_customer *c, int slot,
                                const pipeline_input *in) {
    if (!p->changelog || !c || p->failed)
        return p->failed ? -1 : 0;
    tracker_ref *ref = tracker_ref_take(p->trk, slot, in->offset);
    if (!ref) {
        log_error("pipeline: out of memory");
        p->failed = 1;
        return -1;
    }
    if (changelog_log_write(p->changelog, p->prod, s, c, &p->cfg->segments, in->partition,
                            pipeline_covered(p, slot, in->offset), p->trk, ref) < 0) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

/* A message the restored state already holds (see tracker.h): what it caused
 * may have died with the previous process, so publish it again from the
 * state as it is now — a dead-letter copy if it is rejected, else the
 * customer's current segment (previous_segment is then the same: the one
 * the lost event led to is not known) — and apply nothing. */
static int pipeline_redo(pipeline *p, store *s, const pipeline_input *in, int slot, event_reject r,
                         const char *err) {
    p->stats.redone++;
    int rc = 0;
    char why[320];
    if (r != EVENT_OK) {
        rc = pipeline_dead_letter(p, in, slot, event_reject_name(r), err);
    } else if (pipeline_misplaced(p, in, why, sizeof why)) {
        rc = pipeline_dead_letter(p, in, slot, PIPELINE_REJECT_WRONG_PARTITION, why);
    } else if (!order_valid(&p->dec.o)) {
        rc = pipeline_dead_letter(p, in, slot, PIPELINE_REJECT_INVALID, PIPELINE_INVALID_DETAIL);
    } else {
        const order_str *id = &p->dec.o.customer_id;
        store_customer *c = store_get(s, id->p, id->len);
        if (c && p->bp.version && c->segment)
            rc = pipeline_emit_caused(p, s, c, c->segment, slot, in->offset);
        if (rc == 0)
            rc = pipeline_log_touched(p, s, c, slot, in);
    }
    tracker_partition_info pi;
    tracker_info(p->trk, (size_t)slot, &pi);
    if (in->offset + 1 == pi.applied)
        log_info("%s [%d]: effects of the messages up to offset %" PRId64
                 " (already in the restored state) published again",
                 in->topic, (int)in->partition, in->offset);
    return rc;
}

int pipeline_process(pipeline *p, const pipeline_input *in) {
    if (p->failed)
        return -1;
    task *k = tasks_get(p->tasks, in->partition);
    if (!k || k->state != TASK_RUNNING) {
        log_error("pipeline: a message of partition %d, which has no running task",
                  (int)in->partition);
        p->failed = 1;
        return -1;
    }
    store *s = k->store;
    p->stats.consumed++;
    int slot = tracker_slot(p->trk, in->topic, in->partition);
    if (slot < 0 || tracker_begin(p->trk, slot, in->offset) < 0) {
        log_error("pipeline: out of memory tracking offsets");
        p->failed = 1;
        return -1;
    }
    char err[256] = "";
    const char *buf = in->payload ? in->payload : "";
    event_reject r = event_decode(&p->cfg->fields, buf, in->payload ? in->len : 0,
                                  p->cfg->max_message_bytes, &p->dec, err, sizeof err);
    int rc = 0;
    char why[320];
    if (tracker_in_state(p->trk, slot, in->offset)) {
        rc = pipeline_redo(p, s, in, slot, r, err[0] ? err : "rejected");
    } else if (r != EVENT_OK) {
        if ((int)r > 0 && r < EVENT_REJECT_COUNT)
            p->stats.rejected_by[r]++;
        rc = pipeline_dead_letter(p, in, slot, event_reject_name(r), err[0] ? err : "rejected");
    } else if (pipeline_misplaced(p, in, why, sizeof why)) {
        p->stats.wrong_partition++;
        rc = pipeline_dead_letter(p, in, slot, PIPELINE_REJECT_WRONG_PARTITION, why);
    } else {
        store_customer *c = NULL;
        errno = 0;
        order_result res = order_apply(s, &p->dec.o, &c);
        switch (res) {
        case ORDER_APPLIED:
            p->stats.applied++;
            rc = pipeline_score_touched(p, s, c, slot, in->offset);
            if (rc == 0)
                rc = pipeline_log_touched(p, s, c, slot, in);
            break;
        case ORDER_REFUNDED:
            p->stats.refunds++;
            rc = pipeline_score_touched(p, s, c, slot, in->offset);
            if (rc == 0)
                rc = pipeline_log_touched(p, s, c, slot, in);
            break;
        case ORDER_DUPLICATE:
            p->stats.duplicates++;
            break;
        case ORDER_REFUND_UNKNOWN:
            p->stats.refund_unknown++;
            break;
        case ORDER_INVALID:
        default:
            if (errno == ENOMEM) {
                log_error("pipeline: out of memory applying an order");
                p->failed = 1;
                rc = -1;
                break;
            }
            p->stats.invalid++;
            rc =
                pipeline_dead_letter(p, in, slot, PIPELINE_REJECT_INVALID, PIPELINE_INVALID_DETAIL);
            break;
        }
    }
    tracker_end(p->trk, slot, in->offset);
    return rc;
}

static void pipeline_on_change(void *ctx, size_t idx, store_customer *c, uint8_t old) {
    pipeline *p = ctx;
    (void)c;
    if (p->saved)
        old = p->saved[idx];
    if (p->failed)
        return;
    if (p->nchanges == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        struct pipeline_change *nc = realloc(p->changes, cap * sizeof *nc);
        if (!nc) {
            log_error("pipeline: out of memory queueing rescore changes");
            p->failed = 1;
            return;
        }
        p->changes = nc;
        p->cap = cap;
    }
    p->changes[p->nchanges].task_uid = p->rescoring->uid;
    p->changes[p->nchanges].partition = p->rescoring->partition;
    p->changes[p->nchanges].idx = (uint32_t)idx;
    p->changes[p->nchanges].old = old;
    p->nchanges++;
}

size_t pipeline_unpublished(const pipeline *p) {
    return p->nchanges - p->next;
}

long pipeline_publish(pipeline *p, size_t max) {
    for (size_t k = 0; k < max && p->next < p->nchanges; k++) {
        if (p->failed)
            return -1;
        const struct pipeline_change *ch = &p->changes[p->next];
        task *t = tasks_get(p->tasks, ch->partition);
        if (t && t->uid == ch->task_uid && t->state == TASK_SUSPENDED)
            break; /* not ours until the assignment says so: wait (tasks.h) */
        p->next++;
        if (!t || t->uid != ch->task_uid || t->state != TASK_RUNNING) {
            p->stats.rescore_dropped++; /* revoked since: its new owner publishes */
            continue;
        }
        const char *previous = ch->old ? segment_name(&p->cfg->segments, ch->old) : NULL;
        if (pipeline_emit_rescore(p, t->store, store_at(t->store, ch->idx), t->partition,
                                  previous) < 0)
            return -1;
    }
    if (p->next == p->nchanges)
        p->next = p->nchanges = 0;
    return p->failed ? -1 : (long)pipeline_unpublished(p);
}

/* Rescore task k's store against p->bp, queueing its changes (republish:
 * every scored customer counts as changed). 0, or -1 out of memory. */
static int pipeline_rescore_task(pipeline *p, task *k, bool republish, size_t *changed) {
    size_t n = store_count(k->store);
    /* Re-publishing everyone: forget every segment, so each customer
     * "changes"; the events still carry the segment it had before. */
    uint8_t *saved = NULL;
    if (republish && n) {
        saved = malloc(n);
        if (!saved)
            return -1;
        for (size_t i = 0; i < n; i++) {
            store_customer *c = store_at(k->store, i);
            saved[i] = c->segment;
            c->segment = 0;
        }
    }
    p->saved = saved;
    p->rescoring = k;
    *changed += score_rescore_all(&p->cfg->scoring, &p->bp, &p->cfg->segments, k->store,
                                  pipeline_on_change, p);
    p->rescoring = NULL;
    p->saved = NULL;
    free(saved);
    return 0;
}

/* The rescore after the breakpoints: bp becomes the pipeline's, every
 * RUNNING task is rescored against it and its changes queued. t0 is when
 * the rescore began (monotonic ms, for its figures). */
static int pipeline_rescore_with(pipeline *p, const score_breakpoints *bp, const char *why,
                                 int64_t t0) {
    size_t ntasks = tasks_running(p->tasks);
    size_t n = tasks_customers(p->tasks);
    p->bp = *bp;
    bool republish = p->republish;
    p->republish = false;
    size_t changed = 0;
    size_t i = 0;
    for (task *k; (k = tasks_next(p->tasks, &i));) {
        if (k->state != TASK_RUNNING)
            continue;
        bool again = republish || k->republish;
        k->republish = false;
        if (pipeline_rescore_task(p, k, again, &changed) < 0) {
            log_error("rescore: out of memory");
            p->failed = 1;
            return -1;
        }
    }
    double ms = (double)(clock_mono_ms() - t0);
    p->stats.rescores++;
    p->stats.last_rescore_customers = n;
    p->stats.last_rescore_changed = changed;
    p->stats.last_rescore_ms = ms;
    p->stats.rescore_ms_total += ms;
    char as_of[16];
    timefmt_date(p->bp.as_of, as_of, sizeof as_of);
    log_info("rescore (%s): %zu customers in %zu partition(s), %zu %s, breakpoints v%" PRIu64
             " as_of %s over %zu customers, %.0f ms",
             why, n, ntasks, changed, republish ? "published again" : "changed segment",
             p->bp.version, as_of, p->bp.customers, ms);
    return p->failed ? -1 : 0;
}

int pipeline_rescore(pipeline *p, const char *why) {
    if (p->failed)
        return -1;
    size_t ntasks = tasks_running(p->tasks);
    size_t n = tasks_customers(p->tasks);
    if (n == 0)
        return 0;
    /* The previous rescore's "old" segments refer to the state before it:
     * publish them before this one records its own. */
    if (pipeline_publish(p, SIZE_MAX) < 0)
        return -1;
    int64_t t0 = clock_mono_ms();
    const store **stores = malloc(ntasks * sizeof *stores);
    score_breakpoints bp;
    if (!stores) {
        log_error("rescore: out of memory");
        p->failed = 1;
        return -1;
    }
    tasks_stores(p->tasks, stores, ntasks);
    int rc = score_breakpoints_compute_set(&p->cfg->scoring, stores, ntasks, clock_wall_ms() / 1000,
                                           p->bp.version, &bp);
    free(stores);
    if (rc < 0) {
        log_error("rescore: out of memory computing breakpoints");
        p->failed = 1;
        return -1;
    }
    return pipeline_rescore_with(p, &bp, why, t0);
}

int pipeline_apply_breakpoints(pipeline *p, const score_breakpoints *bp, const char *why) {
    if (p->failed)
        return -1;
    if (pipeline_publish(p, SIZE_MAX) < 0)
        return -1;
    return pipeline_rescore_with(p, bp, why, clock_mono_ms());
}

/* pipeline_resegment for one store; *changed counts the changes published
 * (none when !publish: the segments change silently). 0 or -1 (fatal). */
static int pipeline_resegment_store(pipeline *p, store *s, int32_t partition,
                                    const segment_map *old, bool publish, long *changed) {
    const segment_map *map = &p->cfg->segments;
    for (size_t i = 0, n = store_count(s); i < n && !p->failed; i++) {
        store_customer *c = store_at(s, i);
        if (!c->r)
            continue; /* not scored yet: the first rescore will */
        uint8_t prev = c->segment;
        c->segment = segment_of(map, c->r, c->f);
        if (!publish)
            continue;
        /* Indices differ between maps; names are what events carry. */
        const char *was = prev ? segment_name(old, prev) : NULL;
        const char *now = c->segment ? segment_name(map, c->segment) : NULL;
        if (was == now || (was && now && !strcmp(was, now)))
            continue;
        (*changed)++;
        if (pipeline_emit_rescore(p, s, c, partition, was) < 0)
            return -1;
    }
    return p->failed ? -1 : 0;
}

long pipeline_resegment(pipeline *p, const segment_map *old) {
    if (p->failed)
        return -1;
    long changed = 0;
    size_t ti = 0;
    for (task *k; (k = tasks_next(p->tasks, &ti));) {
        if (k->state == TASK_RESTORING)
            continue;
        /* A suspended task is not ours to publish for now (tasks.h): its
         * segments follow the new rules silently, and if it stays here the
         * next rescore publishes its customers again. */
        bool publish = k->state == TASK_RUNNING;
        if (!publish)
            k->republish = true;
        if (pipeline_resegment_store(p, k->store, k->partition, old, publish, &changed) < 0)
            return -1;
    }
    p->stats.resegments++;
    return p->failed ? -1 : changed;
}
