/*
 * loop — see loop.h.
 *
 * The tables are small fixed arrays (rfmd has six timers and two
 * descriptors), scanned linearly: finding the nearest deadline or the next
 * due timer among a dozen entries costs less than keeping a heap, and
 * nothing is allocated while the daemon runs.
 *
 * A job that re-arms its own timer (loop_timer_rearm and friends) while it
 * runs wins over the period: the loop notes the re-arm and keeps the
 * deadline the job chose instead of "period after it returned".
 *
 * The wait is poll(2): with two or three descriptors it is as cheap as
 * epoll and needs no descriptor of its own. A zero timeout still polls, so
 * the descriptors' handlers (emptying the consumer's wake-up socket) run on
 * every turn that has something to read.
 */
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util/clock.h"

#define LOOP_SLOW_MS 100 /* a job this long gets a debug line with its name */

typedef struct loop_timer {
    const char *name;
    int64_t period_ms;
    int64_t due_ms;
    loop_timer_fn fn;
    void *ctx;
    uint64_t pass; /* the loop_run_timers call it last ran in */
    bool running;  /* its job is running now */
    bool rearmed;  /* ... and re-armed it: keep the job's deadline */
} loop_timer;

typedef struct loop_fd {
    const char *name;
    int fd; /* -1: free slot */
    loop_fd_fn fn;
    void *ctx;
} loop_fd;

struct loop {
    loop_clock_fn clock;
    void *clock_ctx;
    loop_timer timers[LOOP_MAX_TIMERS];
    int ntimers;
    loop_fd fds[LOOP_MAX_FDS];
    uint64_t pass;
};

static int64_t loop_default_clock(void *ctx) {
    (void)ctx;
    return clock_mono_ms();
}

loop *loop_new(loop_clock_fn clock, void *clock_ctx) {
    loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->clock = clock ? clock : loop_default_clock;
    l->clock_ctx = clock_ctx;
    for (int i = 0; i < LOOP_MAX_FDS; i++)
        l->fds[i].fd = -1;
    return l;
}

void loop_free(loop *l) {
    free(l);
}

int64_t loop_now(const loop *l) {
    return l->clock(l->clock_ctx);
}

int loop_add_timer(loop *l, const char *name, int64_t period_ms, loop_timer_fn fn, void *ctx) {
    if (l->ntimers == LOOP_MAX_TIMERS || period_ms <= 0 || !fn)
        return -1;
    loop_timer *t = &l->timers[l->ntimers];
    *t = (loop_timer){.name = name, .period_ms = period_ms, .fn = fn, .ctx = ctx};
    t->due_ms = loop_now(l) + period_ms;
    return l->ntimers++;
}

static loop_timer *loop_timer_at(loop *l, int id) {
    return id >= 0 && id < l->ntimers ? &l->timers[id] : NULL;
}

/* The one way a deadline changes from outside the loop's own re-arm. */
static void loop_timer_set_due(loop *l, int id, int64_t due_ms) {
    loop_timer *t = loop_timer_at(l, id);
    if (!t)
        return;
    t->due_ms = due_ms;
    if (t->running)
        t->rearmed = true;
}

void loop_timer_rearm(loop *l, int id, int64_t delay_ms) {
    loop_timer_set_due(l, id, loop_now(l) + (delay_ms > 0 ? delay_ms : 0));
}

void loop_timer_set_period(loop *l, int id, int64_t period_ms) {
    loop_timer *t = loop_timer_at(l, id);
    if (!t || period_ms <= 0)
        return;
    t->period_ms = period_ms;
    loop_timer_set_due(l, id, loop_now(l) + period_ms);
}

void loop_timer_fire_now(loop *l, int id) {
    loop_timer_set_due(l, id, loop_now(l));
}

int64_t loop_timer_due(const loop *l, int id) {
    return id >= 0 && id < l->ntimers ? l->timers[id].due_ms : INT64_MAX;
}

int loop_add_fd(loop *l, const char *name, int fd, loop_fd_fn fn, void *ctx) {
    if (fd < 0)
        return -1;
    for (int i = 0; i < LOOP_MAX_FDS; i++)
        if (l->fds[i].fd < 0) {
            l->fds[i] = (loop_fd){.name = name, .fd = fd, .fn = fn, .ctx = ctx};
            return i;
        }
    return -1;
}

void loop_remove_fd(loop *l, int id) {
    if (id >= 0 && id < LOOP_MAX_FDS)
        l->fds[id].fd = -1;
}

/* Milliseconds until the nearest deadline, at most cap (< 0: none). */
static int loop_timeout(const loop *l, int cap) {
    int64_t now = loop_now(l);
    int64_t wait = cap;
    for (int i = 0; i < l->ntimers; i++) {
        int64_t left = l->timers[i].due_ms - now;
        if (left < 0)
            left = 0;
        if (wait < 0 || left < wait)
            wait = left;
    }
    return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

int loop_wait(loop *l, int max_ms) {
    struct pollfd p[LOOP_MAX_FDS];
    int slot[LOOP_MAX_FDS];
    nfds_t n = 0;
    for (int i = 0; i < LOOP_MAX_FDS; i++)
        if (l->fds[i].fd >= 0) {
            p[n] = (struct pollfd){.fd = l->fds[i].fd, .events = POLLIN};
            slot[n++] = i;
        }
    int timeout = loop_timeout(l, max_ms);
    int rc = poll(p, n, timeout);
    if (rc < 0) {
        /* EINTR is a signal: the caller looks at its flags. Anything else
         * (EINVAL, ENOMEM) must not turn the loop into a busy spin. */
        if (errno != EINTR)
            log_warning("loop: poll: %s", strerror(errno));
        return 0;
    }
    int ready = 0;
    for (nfds_t i = 0; i < n && rc > 0; i++) {
        if (!p[i].revents)
            continue;
        ready++;
        const loop_fd *f = &l->fds[slot[i]];
        /* A handler may have removed a later descriptor. */
        if (f->fd == p[i].fd && f->fn)
            f->fn(f->ctx, f->fd);
    }
    return ready;
}

/* The due timer with the earliest deadline not run in this pass, or -1. */
static int loop_next_due(const loop *l, int64_t now) {
    int best = -1;
    for (int i = 0; i < l->ntimers; i++) {
        const loop_timer *t = &l->timers[i];
        if (t->pass == l->pass || t->due_ms > now)
            continue;
        if (best < 0 || t->due_ms < l->timers[best].due_ms)
            best = i;
    }
    return best;
}

int loop_run_timers(loop *l) {
    l->pass++;
    /* "Due" is judged against the time the pass began: a job that runs
     * long does not make later deadlines due in the same pass. */
    int64_t now = loop_now(l);
    int id;
    while ((id = loop_next_due(l, now)) >= 0) {
        loop_timer *t = &l->timers[id];
        t->pass = l->pass;
        t->running = true;
        t->rearmed = false;
        int64_t t0 = loop_now(l);
        int rc = t->fn(t->ctx);
        int64_t t1 = loop_now(l);
        t->running = false;
        if (!t->rearmed)
            t->due_ms = t1 + t->period_ms;
        if (t1 - t0 >= LOOP_SLOW_MS)
            log_debug("loop: timer %s ran %lld ms", t->name, (long long)(t1 - t0));
        if (rc < 0)
            return -1;
    }
    return 0;
}
