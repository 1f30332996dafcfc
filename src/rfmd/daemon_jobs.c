/*
 * daemon_jobs — the daemon's periodic jobs, each a named timer of its loop
 * (loop.h), and the one rescore decision. See daemon_internal.h.
 *
 *   rescore    rescore.interval    the interval rescore (see rescore_due)
 *   snapshot   snapshot.interval   fork the snapshot writer; postponed while
 *                                  rescore events are undelivered (look again
 *                                  in DAEMON_SNAPSHOT_WAIT_MS), retried in
 *                                  DAEMON_SNAPSHOT_RETRY_MS after a failure;
 *                                  SIGUSR1 fires it at once
 *   commit     DAEMON_COMMIT_MS    commit what the tracker says is committable;
 *              (DAEMON_TXN_MS)     exactly-once: commit the transaction
 *   progress   DAEMON_PROGRESS_MS  the progress log line
 *   status     NOTIFY_STATUS_MS    the STATUS= line (only under systemd)
 *   watchdog   WATCHDOG_USEC / 2   WATCHDOG=1 (only with a systemd watchdog)
 *
 * When are breakpoints first computed? Scoring against breakpoints built
 * from a handful of customers would publish a flood of meaningless changes
 * while a backlog is replayed, so the first recompute waits until every
 * assigned partition is caught up (partition EOF with nothing consumed
 * since) — or until the first rescore.interval, whichever comes first.
 * Then: every interval, and once more at shutdown (daemon.c), so the last
 * event of every customer reflects the final breakpoints. Partitions that
 * come back from another member add one more once caught up on them:
 * without a changelog every customer is published again over that
 * member's events; with one, the customers of each partition restored from
 * it are (its records hold each customer's segment as of its last order,
 * not necessarily the one last published).
 *
 * Snapshots (saver.h) are taken every snapshot.interval, on SIGUSR1 and at
 * a clean shutdown, each only when no rescore event is undelivered, so a
 * restored state never lacks an event it caused: one checkpoint file per
 * running partition, all from one fork (daemon_tasks.c).
 */
#include <malloc.h>
#include <stdio.h>

#include "daemon_internal.h"
#include "log.h"
#include "notify.h"
#include "util/clock.h"

/* ---- log lines ------------------------------------------------------------ */

/* Exactly-once: the transactions so far and what their commits took (the
 * loop waits in each one); nothing under at_least_once. */
void daemon_jobs_log_txn(daemon_ctx *d, const char *what) {
    if (!producer_transactional(d->prod))
        return;
    producer_stats ps;
    producer_get_stats(d->prod, &ps);
    log_info("%s: transactions %llu committed in %.3f s (%.1f ms each on average, %.1f ms at "
             "most), %llu aborted",
             what, (unsigned long long)ps.txn_commits, (double)ps.txn_commit_us_total / 1e6,
             ps.txn_commits ? (double)ps.txn_commit_us_total / 1000.0 / (double)ps.txn_commits
                            : 0.0,
             (double)ps.txn_commit_us_max / 1000.0, (unsigned long long)ps.txn_aborts);
}

void daemon_jobs_log_progress(daemon_ctx *d, uint64_t *last_consumed, int64_t *last_ms,
                              const char *what) {
    const pipeline_stats *s = &d->pipe.stats;
    int64_t now = clock_mono_ms();
    double secs = (double)(now - *last_ms) / 1000.0;
    double rate = secs > 0 ? (double)(s->consumed - *last_consumed) / secs : 0;
    producer_stats ps;
    producer_get_stats(d->prod, &ps);
    log_info("%s: consumed %llu (%.0f/s), applied %llu, refunds %llu, duplicates %llu, "
             "rejected %llu; customers %zu; events %llu order + %llu rescore, delivered %llu, "
             "pending %zu; partitions %d%s",
             what, (unsigned long long)s->consumed, rate, (unsigned long long)s->applied,
             (unsigned long long)s->refunds, (unsigned long long)s->duplicates,
             (unsigned long long)s->rejected, tasks_customers(d->tasks),
             (unsigned long long)s->events_order, (unsigned long long)s->events_rescore,
             (unsigned long long)ps.delivered, tracker_pending(d->trk), consumer_assigned(d->cons),
             d->paused ? " (paused)" : "");
    daemon_jobs_log_txn(d, what);
    *last_consumed = s->consumed;
    *last_ms = now;
}

void daemon_jobs_log_rejects(const daemon_ctx *d) {
    const pipeline_stats *s = &d->pipe.stats;
    char buf[1024];
    size_t n = 0;
    buf[0] = '\0';
    for (int r = 1; r < EVENT_REJECT_COUNT; r++) {
        if (!s->rejected_by[r])
            continue;
        int w = snprintf(buf + n, sizeof buf - n, " %s=%llu", event_reject_name((event_reject)r),
                         (unsigned long long)s->rejected_by[r]);
        if (w < 0 || (size_t)w >= sizeof buf - n)
            break;
        n += (size_t)w;
    }
    const struct {
        const char *name;
        uint64_t count;
    } more[] = {{PIPELINE_REJECT_INVALID, s->invalid},
                {PIPELINE_REJECT_WRONG_PARTITION, s->wrong_partition}};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        if (!more[i].count || n >= sizeof buf)
            continue;
        int w = snprintf(buf + n, sizeof buf - n, " %s=%llu", more[i].name,
                         (unsigned long long)more[i].count);
        if (w < 0 || (size_t)w >= sizeof buf - n)
            break;
        n += (size_t)w;
    }
    log_notice("rejected by reason:%s (duplicates %llu, refunds for unknown customers %llu)",
               buf[0] ? buf : " none", (unsigned long long)s->duplicates,
               (unsigned long long)s->refund_unknown);
}

/* ---- rescore -------------------------------------------------------------- */

typedef enum daemon_rescore_why {
    RESCORE_NONE,
    RESCORE_FIRST,    /* caught up, never scored: topics empty or backlog replayed */
    RESCORE_REGAINED, /* caught up on partitions another member held: republish */
    RESCORE_INTERVAL, /* rescore.interval elapsed */
} daemon_rescore_why;

static const char *const rescore_why_name[] = {
    [RESCORE_FIRST] = "caught up",
    [RESCORE_REGAINED] = "partitions regained",
    [RESCORE_INTERVAL] = "interval",
};

/* The one rescore decision: which trigger is due now, first come first:
 * the first scoring and the republish both wait until every assigned
 * partition is caught up and there is someone to score; the interval does
 * not wait. One rescore serves one trigger; another still due is served on
 * the next turn. */
static daemon_rescore_why rescore_due(daemon_ctx *d) {
    /* Without a changelog, a member that had a partition meanwhile built
     * its state from part of it only; with one, it had all of it, and a
     * restored task republishes its own customers (restored_due). */
    if (consumer_take_regained(d->cons) && !d->cfg->changelog.enabled)
        d->republish_due = true;
    /* An eager rebalance is between its revocation and its assignment:
     * the suspended partitions are nobody's to score (tasks.h). */
    if (tasks_suspended(d->tasks) > 0)
        return RESCORE_NONE;
    bool settled = daemon_caught_up(d) && tasks_customers(d->tasks) > 0;
    if (settled && d->pipe.bp.version == 0)
        return RESCORE_FIRST;
    if (settled && (d->republish_due || d->restored_due))
        return RESCORE_REGAINED;
    if (d->rescore_interval_due)
        return RESCORE_INTERVAL;
    return RESCORE_NONE;
}

int daemon_jobs_rescore(daemon_ctx *d) {
    daemon_rescore_why why = rescore_due(d);
    if (why == RESCORE_NONE)
        return 0;
    if (why == RESCORE_REGAINED) {
        /* Regained partitions: everyone (the other member's events came
         * from its partial state); restored ones: their tasks only. */
        d->pipe.republish = d->republish_due;
        d->republish_due = d->restored_due = false;
    }
    if (d->round) {
        /* Group scope: the coordinator runs a round (a member asks it
         * to); the records it publishes are applied as they are read. */
        daemon_round_want(d, rescore_why_name[why], why == RESCORE_INTERVAL);
    } else if (pipeline_rescore(&d->pipe, rescore_why_name[why]) < 0) {
        return -1;
    }
    if (why == RESCORE_INTERVAL) {
        /* The next one a whole interval after this one ended. */
        d->rescore_interval_due = false;
        loop_timer_rearm(d->loop, d->timer.rescore, d->cfg->rescore.interval_ms);
    }
    return 0;
}

static int job_rescore(void *ctx) {
    daemon_ctx *d = ctx;
    d->rescore_interval_due = true;
    return daemon_jobs_rescore(d);
}

/* ---- snapshot ------------------------------------------------------------- */

/* Events in flight need no wait (the snapshot records where to redo them
 * from); a rescore's do, as no input message can bring them back: the
 * snapshot then waits for a later look, without blocking. */
int daemon_jobs_snapshot(daemon_ctx *d, const char *why) {
    if (saver_busy(d->saver)) {
        log_info("snapshot (%s) skipped: the previous one is still being written", why);
        return 0;
    }
    if (tracker_global_pending(d->trk) > 0 || pipeline_unpublished(&d->pipe) > 0) {
        log_debug("snapshot (%s) postponed: %zu rescore events not delivered yet", why,
                  tracker_global_pending(d->trk) + pipeline_unpublished(&d->pipe));
        return -2;
    }
    /* Exactly-once: a checkpoint must hold committed state only. */
    if (daemon_txn_commit(d, "snapshot") < 0)
        return -1;
    return daemon_tasks_snapshot(d, why);
}

static int job_snapshot(void *ctx) {
    daemon_ctx *d = ctx;
    /* A postponed SIGUSR1 snapshot stays a SIGUSR1 one until it is taken,
     * also when an interval one is still being written. */
    bool asked = d->snapshot_asked;
    if (asked && saver_busy(d->saver)) {
        loop_timer_rearm(d->loop, d->timer.snapshot, DAEMON_SNAPSHOT_WAIT_MS);
        return 0;
    }
    int rc = daemon_jobs_snapshot(d, asked ? "SIGUSR1" : "interval");
    d->snapshot_asked = asked && rc == -2;
    if (rc == -2)
        loop_timer_rearm(d->loop, d->timer.snapshot, DAEMON_SNAPSHOT_WAIT_MS);
    else if (rc == -1)
        loop_timer_rearm(d->loop, d->timer.snapshot, DAEMON_SNAPSHOT_RETRY_MS);
    return daemon_fatal(d) ? -1 : 0;
}

/* ---- the rest ------------------------------------------------------------- */

static int job_commit(void *ctx) {
    daemon_ctx *d = ctx;
    if (producer_transactional(d->prod))
        return daemon_txn_commit(d, "interval");
    consumer_commit(d->cons, false);
    return 0;
}

static int job_progress(void *ctx) {
    daemon_ctx *d = ctx;
    daemon_jobs_log_progress(d, &d->progress_consumed, &d->progress_ms, "progress");
    return 0;
}

/* The STATUS= line of `systemctl status`: state size, input rate since the
 * previous line, total consumer lag. */
static int job_status(void *ctx) {
    daemon_ctx *d = ctx;
    int64_t now = clock_mono_ms();
    uint64_t consumed = d->pipe.stats.consumed;
    double secs = (double)(now - d->status_ms) / 1000.0;
    double rate = secs > 0 && d->status_ms ? (double)(consumed - d->status_consumed) / secs : 0;
    d->status_consumed = consumed;
    d->status_ms = now;
    int64_t lag = consumer_lag(d->cons, NULL, NULL);
    char lagbuf[32] = "unknown";
    if (lag >= 0)
        snprintf(lagbuf, sizeof lagbuf, "%lld", (long long)lag);
    if (!d->ready)
        notify_status("waiting for partition assignment; customers %zu", tasks_customers(d->tasks));
    else
        notify_status("customers %zu, %.0f orders/s, lag %s%s%s", tasks_customers(d->tasks), rate,
                      lagbuf, d->backlog_done ? "" : " (catching up)",
                      d->paused ? " (paused: producer queue full)" : "");
    return 0;
}

static int job_watchdog(void *ctx) {
    (void)ctx;
    notify_watchdog();
    return 0;
}

/* Once a burst of events (a rescore that moved many customers) is mostly
 * delivered, hand the freed memory back to the kernel: glibc keeps freed
 * heap pages, so RSS would otherwise stay at the burst's high-water mark
 * (seen in the soak run: +164 MB after one large rescore). Event-driven,
 * not periodic: it runs once per DAEMON_TRIM_EVENTS events, whenever. */
void daemon_jobs_trim(daemon_ctx *d) {
    uint64_t events = d->pipe.stats.events_order + d->pipe.stats.events_rescore;
    if (events - d->events_at_trim < DAEMON_TRIM_EVENTS || tracker_pending(d->trk) > 1000)
        return;
    d->events_at_trim = events;
    int64_t t0 = clock_mono_us();
    malloc_trim(0);
    log_debug("malloc_trim after %llu events: %lld us", (unsigned long long)DAEMON_TRIM_EVENTS,
              (long long)(clock_mono_us() - t0));
}

int daemon_jobs_start(daemon_ctx *d) {
    loop *l = d->loop;
    d->timer = (daemon_timers){-1, -1, -1, -1, -1, -1};
    d->timer.rescore = loop_add_timer(l, "rescore", d->cfg->rescore.interval_ms, job_rescore, d);
    d->timer.snapshot =
        loop_add_timer(l, "snapshot", d->cfg->snapshot.interval_ms, job_snapshot, d);
    d->timer.commit = loop_add_timer(
        l, "commit", producer_transactional(d->prod) ? DAEMON_TXN_MS : DAEMON_COMMIT_MS, job_commit,
        d);
    d->timer.progress = loop_add_timer(l, "progress", DAEMON_PROGRESS_MS, job_progress, d);
    if (d->timer.rescore < 0 || d->timer.snapshot < 0 || d->timer.commit < 0 ||
        d->timer.progress < 0)
        return -1;
    d->progress_ms = clock_mono_ms();
    if (notify_enabled()) {
        /* The first STATUS= line goes out on the first turn. */
        d->timer.status = loop_add_timer(l, "status", NOTIFY_STATUS_MS, job_status, d);
        if (d->timer.status < 0)
            return -1;
        loop_timer_fire_now(l, d->timer.status);
    }
    if (notify_watchdog_period_ms() > 0) {
        d->timer.watchdog =
            loop_add_timer(l, "watchdog", notify_watchdog_period_ms(), job_watchdog, d);
        if (d->timer.watchdog < 0)
            return -1;
    }
    return 0;
}
