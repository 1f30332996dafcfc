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
 * (between its summary and the record), daemon_consume reads nothing, so
 * the stores the summary counted are the stores the answers read.
 *
 * The round's hooks: send and publish go to control.h; `parts` lists the
 * RUNNING tasks with the input position their state covers, or "not ready"
 * while a task restores or an eager rebalance suspends one; `apply`
 * rescores this member's customers against the agreed breakpoints
 * (pipeline_apply_breakpoints).
 */
#include <inttypes.h>
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
/* How long the start waits for the breakpoints topic's newest record. */
#define DAEMON_ROUND_READ_MS 15000

static int hook_send(void *ctx, const uint8_t *buf, size_t len) {
    daemon_ctx *d = ctx;
    return control_send(d->ctl, buf, len);
}

static int hook_publish(void *ctx, const uint8_t *buf, size_t len) {
    daemon_ctx *d = ctx;
    /* The role may have moved since the round began: a member that no
     * longer owns partition 0 does not publish (a zombie that has not seen
     * its revocation yet is not caught here: contract §9.2). */
    const task *k = tasks_get_const(d->tasks, 0);
    if (!k || k->state != TASK_RUNNING)
        return -1;
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

static int hook_apply(void *ctx, const round_record *rec) {
    daemon_ctx *d = ctx;
    char why[64];
    snprintf(why, sizeof why, "group breakpoints v%" PRIu64, rec->version);
    return pipeline_apply_breakpoints(&d->pipe, &rec->bp, why);
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
    return round_tick(d->round, clock_mono_ms());
}

bool daemon_round_holding(const daemon_ctx *d) {
    return d->round && round_holding(d->round);
}

void daemon_round_want(daemon_ctx *d, const char *why) {
    round_want(d->round, why, clock_mono_ms());
}
