/*
 * daemon_round — the daemon's side of the group's breakpoints round
 * (breakpoints.scope: group; round.h for the protocol, control.h for its
 * Kafka topics). See daemon_internal.h.
 *
 * At start the newest breakpoints record is read before the first
 * scoring, so a joining instance scores against the group's current
 * breakpoints, not its own. Every turn: the control messages and records
 * read are handed to the round, the coordinator role follows the
 * ownership of input partition 0 (Kafka's assignment is the election), and
 * the round's timers run. While the round holds this member's input
 * (between its summary and the record) fetching is paused and polling goes
 * on (rebalances are served: a round that needs one to cover every
 * partition must not stall it); a message that still gets through moves a
 * partition's offset, and the round then refuses to answer from the moved
 * store (round_member.c), so an answer always counts what the summary did.
 *
 * The round's hooks: send and publish go to control.h; `parts` lists the
 * RUNNING tasks with the input position their state covers, or "not ready"
 * while a task restores or an eager rebalance suspends one; `apply`
 * rescores this member's customers against the agreed breakpoints
 * (pipeline_apply_breakpoints).
 */
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "control.h"
#include "daemon_internal.h"
#include "log.h"
#include "round.h"
#include "util/clock.h"
#include "util/errbuf.h"

/* Messages read from the control topics per turn. */
#define DAEMON_ROUND_READS 256
/* The most the shutdown waits for the coordinator's last round. */
#define DAEMON_ROUND_FINAL_MS 5000
/* How long the start waits for the breakpoints topic's newest record. */
#define DAEMON_ROUND_READ_MS 15000

static int hook_send(void *ctx, const uint8_t *buf, size_t len) {
    daemon_ctx *d = ctx;
    return control_send(d->ctl, buf, len);
}

/* Exactly-once: the record goes out in this instance's transaction, which
 * is committed at once. A coordinator that lost partition 0 without
 * knowing yet is a zombie whose commit the group's generation fences (its
 * offsets are refused), so its record is never read (read_committed). */
static int publish_in_txn(daemon_ctx *d, const uint8_t *buf, size_t len) {
    tracker_ref *ref = tracker_ref_global(d->trk);
    if (!ref)
        return -1;
    producer_msg m = {.topic = d->cfg->breakpoints.topic,
                      .key = CONTROL_BREAKPOINTS_KEY,
                      .key_len = strlen(CONTROL_BREAKPOINTS_KEY),
                      .value = (void *)buf,
                      .len = len,
                      .partitioned = true,
                      .partition = 0};
    if (producer_send(d->prod, &m, ref) < 0)
        return -1;
    return daemon_txn_commit(d, "breakpoints") < 0 || daemon_fatal(d) ? -1 : 0;
}

static int hook_publish(void *ctx, const uint8_t *buf, size_t len) {
    daemon_ctx *d = ctx;
    /* The role may have moved since the round began: a member that no
     * longer owns partition 0 does not publish. */
    const task *k = tasks_get_const(d->tasks, 0);
    if (!k || k->state != TASK_RUNNING)
        return -1;
    if (producer_transactional(d->prod) && daemon_txn_can_fence(d))
        return publish_in_txn(d, buf, len);
    /* At least once (or exactly-once before this instance applied any
     * input: a transaction without offsets would be aborted, not fenced)
     * a zombie that has not seen its revocation yet is not caught
     * (contract §9.2). */
    return control_publish(d->ctl, buf, len);
}

static int hook_parts(void *ctx, round_part *parts, size_t cap) {
    daemon_ctx *d = ctx;
    if (tasks_suspended(d->tasks) > 0 || daemon_tasks_restoring(d))
        return -1;
    char *const *topics;
    config_state_topics(d->cfg, &topics); /* one with the changelog (config_keys.c) */
    size_t n = 0, i = 0;
    for (task *k; (k = tasks_next(d->tasks, &i)) && n < cap;) {
        if (k->state != TASK_RUNNING)
            continue;
        int slot = tracker_slot(d->trk, topics[0], k->partition);
        tracker_partition_info pi = {.applied = TRACKER_OFFSET_NONE};
        if (slot >= 0)
            tracker_info(d->trk, (size_t)slot, &pi);
        parts[n++] = (round_part){.partition = k->partition,
                                  .uid = k->uid,
                                  .offset = pi.applied,
                                  .caught_up = pi.eof,
                                  .store = k->store};
    }
    return (int)n;
}

/* The agreed breakpoints, applied once the previous rescore's events are
 * all handed to the producer (daemon_deliver does that a slice at a time,
 * as room allows): applying at once would first publish every one of them
 * in one go, behind a full producer queue, with the loop stopped — seen
 * for minutes at 10M customers (BENCHMARKS.md). A newer record replaces
 * one still waiting. */
static int apply_due(daemon_ctx *d) {
    if (!d->round_pending || pipeline_unpublished(&d->pipe) > 0)
        return 0;
    d->round_pending = false;
    char why[64];
    snprintf(why, sizeof why, "group breakpoints v%" PRIu64, d->round_bp.version);
    return pipeline_apply_breakpoints(&d->pipe, &d->round_bp, why);
}

static int hook_apply(void *ctx, const round_record *rec) {
    daemon_ctx *d = ctx;
    d->round_bp = rec->bp;
    d->round_pending = true;
    return apply_due(d);
}

static void daemon_round_wake(void *ctx, int fd) {
    (void)fd;
    daemon_ctx *d = ctx;
    control_wake_clear(d->ctl);
}

int daemon_round_start(daemon_ctx *d, char *err, size_t errlen) {
    if (d->cfg->breakpoints.scope != CONFIG_BP_GROUP)
        return DAEMON_EXIT_OK;
    const config *c = d->cfg;
    int rc = control_topics_ensure(c, d->brokers, c->breakpoints.control_topic,
                                   c->breakpoints.topic, err, errlen);
    if (rc < 0)
        return rc == -1 ? DAEMON_EXIT_CONFIG : DAEMON_EXIT_FATAL;
    d->ctl = control_open(c, d->brokers, c->breakpoints.control_topic, c->breakpoints.topic, err,
                          errlen);
    if (!d->ctl)
        return DAEMON_EXIT_FATAL;
    uint64_t id = 0;
    while (!id)
        if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
            id = (uint64_t)clock_wall_ms() ^ ((uint64_t)getpid() << 40);
    round_hooks h = {.ctx = d,
                     .send = hook_send,
                     .publish = hook_publish,
                     .parts = hook_parts,
                     .apply = hook_apply};
    d->round = round_new(&c->scoring, d->changelog_parts, id, c->breakpoints.round_timeout_ms, &h);
    if (!d->round) {
        errbuf_set(err, errlen, "out of memory");
        return DAEMON_EXIT_INTERNAL;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (control_read_latest(d->ctl, DAEMON_ROUND_READ_MS, &buf, &len, err, errlen) < 0)
        return DAEMON_EXIT_FATAL;
    if (buf) {
        int ar = round_on_record(d->round, buf, len, clock_mono_ms());
        free(buf);
        if (ar < 0)
            return DAEMON_EXIT_FATAL;
        const round_record *last = round_last(d->round);
        if (ar == 0)
            log_notice("breakpoints: the group's v%" PRIu64 " read from %s (%zu customers)",
                       last->version, c->breakpoints.topic, last->bp.customers);
    } else {
        log_notice("breakpoints: %s holds none yet", c->breakpoints.topic);
    }
    int fd = control_wake_fd(d->ctl);
    if (fd < 0 || loop_add_fd(d->loop, "control", fd, daemon_round_wake, d) < 0) {
        errbuf_set(err, errlen, "cannot watch the control topic's wake-up descriptor");
        return DAEMON_EXIT_INTERNAL;
    }
    log_notice("breakpoints: scope group, member %016" PRIx64 ", rounds over %s, records on %s", id,
               c->breakpoints.control_topic, c->breakpoints.topic);
    return DAEMON_EXIT_OK;
}

void daemon_round_stop(daemon_ctx *d) {
    round_free(d->round);
    d->round = NULL;
    control_free(d->ctl);
    d->ctl = NULL;
}

static int on_control(void *ctx, const uint8_t *buf, size_t len) {
    daemon_ctx *d = ctx;
    return round_on_control(d->round, buf, len, clock_mono_ms());
}

static int on_record(void *ctx, const uint8_t *buf, size_t len) {
    daemon_ctx *d = ctx;
    return round_on_record(d->round, buf, len, clock_mono_ms()) < 0 ? -1 : 0;
}

int daemon_round_step(daemon_ctx *d) {
    if (!d->round)
        return 0;
    const task *k = tasks_get_const(d->tasks, 0);
    round_set_coordinator(d->round, !d->stopping && k && k->state == TASK_RUNNING);
    if (control_poll(d->ctl, on_control, on_record, d, DAEMON_ROUND_READS) < 0) {
        log_error("breakpoints: the control topics failed");
        d->pipe.failed = 1;
        return -1;
    }
    int rc = round_tick(d->round, clock_mono_ms());
    if (rc == 0)
        rc = apply_due(d);
    d->round_held = round_holding(d->round);
    daemon_input_pause_sync(d);
    return rc;
}

void daemon_round_final(daemon_ctx *d) {
    if (!d->round || !round_is_coordinator(d->round))
        return;
    int64_t budget = d->cfg->breakpoints.round_timeout_ms;
    if (budget > DAEMON_ROUND_FINAL_MS)
        budget = DAEMON_ROUND_FINAL_MS;
    int64_t t0 = clock_mono_ms();
    uint64_t before = round_last(d->round)->version;
    round_want(d->round, "shutdown", t0);
    struct pollfd pfd = {.fd = control_wake_fd(d->ctl), .events = POLLIN};
    while (round_last(d->round)->version == before && clock_mono_ms() - t0 < budget) {
        if (control_poll(d->ctl, on_control, on_record, d, DAEMON_ROUND_READS) < 0 ||
            round_tick(d->round, clock_mono_ms()) < 0 || daemon_fatal(d))
            return;
        producer_poll(d->prod, 0);
        if (poll(&pfd, 1, 10) > 0)
            control_wake_clear(d->ctl);
    }
    /* Shutdown publishes everything anyway: a record waiting goes now. */
    if (d->round_pending && pipeline_publish(&d->pipe, SIZE_MAX) == 0)
        apply_due(d);
    if (round_last(d->round)->version == before)
        log_warning("shutdown: the last round did not end within %lld ms; the group's "
                    "breakpoints stay v%llu",
                    (long long)budget, (unsigned long long)before);
}

void daemon_round_want(daemon_ctx *d, const char *why, bool periodic) {
    if (periodic && !round_is_coordinator(d->round))
        return;
    round_want(d->round, why, clock_mono_ms());
}
