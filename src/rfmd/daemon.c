/*
 * daemon — see daemon.h.
 *
 * One thread does all of rfmd's work; librdkafka's own threads do the I/O.
 * Each loop turn takes up to DAEMON_BATCH messages (waiting at most
 * DAEMON_POLL_MS for the first), serves delivery reports, then runs whatever
 * timer is due. Signals only set a flag; the handler is installed with
 * SA_RESETHAND, so a second SIGTERM/SIGINT kills a stuck shutdown the usual
 * way.
 *
 * When are breakpoints first computed? Scoring against breakpoints built
 * from a handful of customers would publish a flood of meaningless changes
 * while a backlog is replayed, so the first recompute waits until every
 * assigned partition is caught up (partition EOF with nothing consumed since)
 * — or until the first rescore.interval, whichever comes first. Then: every interval, and
 * once more at shutdown, so the last event of every customer reflects the
 * final breakpoints.
 *
 * Snapshots (saver.h) are taken every snapshot.interval, on SIGUSR1 and at
 * a clean shutdown, each after every produced event has been delivered, so
 * a restored state never lacks an event it caused. With the embedded
 * cluster nothing is restored: its topics die with the process.
 *
 * With the HTTP server on, the turn's wait happens in http_serve, on the
 * server's descriptor and the consumer's wake-up descriptor together, so
 * neither Kafka input nor a request waits for the other's timeout. SIGHUP
 * sets a flag the loop turns into reload_run between two messages.
 *
 * Under systemd (notify.h) the loop also sends READY=1 once the daemon is
 * ready (state restored, partitions assigned: the /readyz moment), a STATUS=
 * line every few seconds, WATCHDOG=1 pings, RELOADING=1 / READY=1 around a
 * reload and STOPPING=1 when shutdown begins.
 */
#include "daemon.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "reload.h"
#include "util/clock.h"
#include "util/errbuf.h"

static volatile sig_atomic_t daemon_stop_sig;
static volatile sig_atomic_t daemon_snapshot_sig;
static volatile sig_atomic_t daemon_reload_sig;

static void daemon_request_reload(int sig) {
    (void)sig;
    daemon_reload_sig = 1;
}

void daemon_request_stop(int sig) {
    daemon_stop_sig = sig ? sig : SIGTERM;
}

void daemon_request_snapshot(int sig) {
    (void)sig;
    daemon_snapshot_sig = 1;
}

static void daemon_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = daemon_request_stop;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = daemon_request_snapshot;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = daemon_request_reload;
    sa.sa_flags = 0; /* every SIGHUP reloads */
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit fails the write; it must not kill rfmd */
}

static void daemon_backpressure(void *ctx, bool on) {
    static log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 1);
    daemon_ctx *d = ctx;
    if (on) {
        log_rl(&rl, LOG_LEVEL_NOTICE,
               "producer queue full: consumption paused until deliveries catch up");
        consumer_pause(d->cons);
    } else {
        consumer_resume(d->cons);
    }
    d->paused = on;
}

static void daemon_drain(void *ctx) {
    daemon_ctx *d = ctx;
    if (producer_failed(d->prod))
        return; /* nothing more will be delivered; commits stay behind it */
    int left = producer_flush(d->prod, DAEMON_DRAIN_MS);
    if (left)
        log_warning("rebalance: %d messages still undelivered; their offsets are not committed",
                    left);
}

static void daemon_log_start(const daemon_ctx *d) {
    const config *c = d->cfg;
    char topics[512] = "";
    size_t n = 0;
    for (size_t i = 0; i < c->topics.norders && n < sizeof topics; i++) {
        int w = snprintf(topics + n, sizeof topics - n, "%s%s", i ? "," : "", c->topics.orders[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    log_notice("rfmd %s starting: brokers %s%s, group %s, orders %s -> segments %s, "
               "dead letters %s",
               RFM_VERSION, d->brokers, d->emb ? " (embedded)" : "", c->kafka.group_id, topics,
               c->topics.segments, c->topics.dead_letter);
    log_notice("scoring: %d bins, tie_break %s, clock %s (+%d days), %d segments; "
               "rescore every %lld ms; max message %zu bytes",
               c->scoring.bins,
               c->scoring.tie_break == SCORE_TIE_FIRST_ORDER ? "first_order" : "customer_id",
               c->scoring.clock == SCORE_CLOCK_WALL ? "wall" : "event",
               c->scoring.as_of_offset_days, c->segments.nsegments,
               (long long)c->rescore.interval_ms, c->max_message_bytes);
}

static void daemon_log_progress(daemon_ctx *d, uint64_t *last_consumed, int64_t *last_ms,
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
             (unsigned long long)s->rejected, store_count(d->store),
             (unsigned long long)s->events_order, (unsigned long long)s->events_rescore,
             (unsigned long long)ps.delivered, tracker_pending(d->trk), consumer_assigned(d->cons),
             d->paused ? " (paused)" : "");
    *last_consumed = s->consumed;
    *last_ms = now;
}

static void daemon_log_rejects(const daemon_ctx *d) {
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
    if (s->invalid && n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, " %s=%llu", PIPELINE_REJECT_INVALID,
                 (unsigned long long)s->invalid);
    log_notice("rejected by reason:%s (duplicates %llu, refunds for unknown customers %llu)",
               buf[0] ? buf : " none", (unsigned long long)s->duplicates,
               (unsigned long long)s->refund_unknown);
}

static bool daemon_fatal(const daemon_ctx *d) {
    return d->pipe.failed || producer_failed(d->prod) || consumer_failed(d->cons);
}

static int daemon_start(daemon_ctx *d, char *err, size_t errlen) {
    if (embedded_wanted(d->cfg)) {
        d->emb = embedded_start(d->cfg, err, errlen);
        if (!d->emb)
            return DAEMON_EXIT_INTERNAL;
        d->brokers = embedded_bootstraps(d->emb);
        printf("rfmd: embedded Kafka at %s\n", d->brokers);
        fflush(stdout);
    } else {
        d->brokers = d->cfg->kafka.brokers;
    }
    d->store = store_new();
    d->trk = tracker_new();
    d->saver = saver_new(d->cfg);
    if (!d->store || !d->trk || !d->saver) {
        errbuf_set(err, errlen, "out of memory");
        return DAEMON_EXIT_INTERNAL;
    }
    if (d->emb) {
        if (saver_prepare(d->saver, err, errlen))
            return DAEMON_EXIT_CONFIG;
        log_notice("embedded Kafka: its topics do not outlive rfmd, so no snapshot is restored "
                   "(snapshots are still written to %s)",
                   d->cfg->snapshot.dir);
    } else {
        store *restored = NULL;
        int r = saver_restore(d->saver, d->opt.start_empty, &restored, &d->restored_bp, d->trk, err,
                              errlen);
        if (r < 0)
            return DAEMON_EXIT_STATE;
        if (r == 1) {
            store_free(d->store);
            d->store = restored;
        }
    }
    d->prod = producer_new(d->cfg, d->brokers, d->trk, err, errlen);
    if (!d->prod)
        return DAEMON_EXIT_CONFIG;
    d->cons = consumer_new(d->cfg, d->brokers, d->trk, err, errlen);
    if (!d->cons)
        return DAEMON_EXIT_CONFIG;
    producer_set_backpressure(d->prod, daemon_backpressure, d);
    consumer_set_drain(d->cons, daemon_drain, d);
    /* Partitions the state has not seen are read from their beginning: the
     * group's committed offset may be past orders no snapshot holds. */
    if (!d->emb)
        consumer_set_start_unknown(d->cons, RD_KAFKA_OFFSET_BEGINNING);
    pipeline_init(&d->pipe, d->cfg, d->store, d->prod, d->trk);
    d->pipe.bp = d->restored_bp;
    if (consumer_subscribe(d->cons, err, errlen) < 0)
        return DAEMON_EXIT_FATAL;
    if (!http_disabled(d->cfg->http.listen)) {
        d->http = http_start(d->cfg->http.listen, d, err, errlen);
        if (!d->http)
            return DAEMON_EXIT_CONFIG;
        log_notice("http: listening on %s", http_address(d->http));
    }
    return DAEMON_EXIT_OK;
}

static void daemon_stop_all(daemon_ctx *d) {
    http_stop(d->http);
    d->http = NULL;
    if (d->cons)
        consumer_free(d->cons);
    if (d->prod) {
        pipeline_free(&d->pipe);
        producer_free(d->prod);
    }
    saver_free(d->saver);
    tracker_free(d->trk);
    store_free(d->store);
    embedded_stop(d->emb);
}

/* Once a burst of events (a rescore that moved many customers) is mostly
 * delivered, hand the freed memory back to the kernel: glibc keeps freed
 * heap pages, so RSS would otherwise stay at the burst's high-water mark
 * (seen in the soak run: +164 MB after one large rescore). */
static void daemon_maybe_trim(daemon_ctx *d, uint64_t *events_at_trim) {
    uint64_t events = d->pipe.stats.events_order + d->pipe.stats.events_rescore;
    if (events - *events_at_trim < DAEMON_TRIM_EVENTS || tracker_pending(d->trk) > 1000)
        return;
    *events_at_trim = events;
    int64_t t0 = clock_mono_us();
    malloc_trim(0);
    log_debug("malloc_trim after %llu events: %lld us", (unsigned long long)DAEMON_TRIM_EVENTS,
              (long long)(clock_mono_us() - t0));
}

/* Fork the snapshot writer. Events in flight need no wait (the snapshot
 * records where to redo them from); a rescore's do, as no input message can
 * bring them back: the snapshot then waits for a later turn, without
 * blocking. Returns 0 started, -2 postponed, -1 failed. */
static int daemon_snapshot(daemon_ctx *d, const char *why) {
    if (saver_busy(d->saver)) {
        log_info("snapshot (%s) skipped: the previous one is still being written", why);
        return 0;
    }
    if (tracker_global_pending(d->trk) > 0 || pipeline_unpublished(&d->pipe) > 0) {
        log_debug("snapshot (%s) postponed: %zu rescore events not delivered yet", why,
                  tracker_global_pending(d->trk) + pipeline_unpublished(&d->pipe));
        return -2;
    }
    return saver_start(d->saver, d->store, &d->pipe.bp, d->trk, why);
}

/* The STATUS= line of `systemctl status`: state size, input rate since the
 * previous line, total consumer lag. */
static void daemon_notify_status(daemon_ctx *d, int64_t now, uint64_t *last_consumed,
                                 int64_t *last_ms) {
    uint64_t consumed = d->pipe.stats.consumed;
    double secs = (double)(now - *last_ms) / 1000.0;
    double rate = secs > 0 && *last_ms ? (double)(consumed - *last_consumed) / secs : 0;
    *last_consumed = consumed;
    *last_ms = now;
    int64_t lag = consumer_lag(d->cons, NULL, NULL);
    char lagbuf[32] = "unknown";
    if (lag >= 0)
        snprintf(lagbuf, sizeof lagbuf, "%lld", (long long)lag);
    if (!d->ready)
        notify_status("waiting for partition assignment; customers %zu", store_count(d->store));
    else
        notify_status("customers %zu, %.0f orders/s, lag %s%s%s", store_count(d->store), rate,
                      lagbuf, d->backlog_done ? "" : " (catching up)",
                      d->paused ? " (paused: producer queue full)" : "");
}

/* The loop proper; returns when asked to stop or on a fatal error. */
static void daemon_loop(daemon_ctx *d) {
    int64_t now = clock_mono_ms();
    int64_t next_rescore = now + d->cfg->rescore.interval_ms;
    int64_t next_commit = now + DAEMON_COMMIT_MS;
    int64_t next_progress = now + DAEMON_PROGRESS_MS;
    int64_t next_snapshot = now + d->cfg->snapshot.interval_ms;
    uint64_t events_at_trim = 0;
    bool snapshot_asked = false; /* a SIGUSR1 snapshot is postponed */
    uint64_t last_consumed = 0;
    int64_t last_progress = now;
    uint64_t status_consumed = 0;
    int64_t status_ms = 0;

    bool full = false; /* the last turn took a whole batch: more is waiting */
    while (!daemon_stop_sig && !daemon_fatal(d)) {
        int wait = full ? 0 : DAEMON_POLL_MS;
        if (wait && pipeline_unpublished(&d->pipe) > 0)
            wait = DAEMON_PUBLISH_POLL_MS;
        if (d->http) {
            http_serve(d->http, consumer_wake_fd(d->cons), wait);
            wait = 0;
        }
        int i;
        for (i = 0; i < DAEMON_BATCH && !daemon_stop_sig; i++) {
            rd_kafka_message_t *m = consumer_poll(d->cons, i == 0 ? wait : 0);
            if (!m)
                break;
            if (!d->first_msg_ms)
                d->first_msg_ms = clock_mono_ms();
            int64_t now_us = clock_mono_us();
            saver_note_input(d->saver, d->last_msg_us, now_us);
            d->last_msg_us = now_us;
            pipeline_input in = {
                .topic = rd_kafka_topic_name(m->rkt),
                .partition = m->partition,
                .offset = m->offset,
                .key = m->key,
                .key_len = m->key_len,
                .payload = m->payload,
                .len = m->len,
            };
            int rc = pipeline_process(&d->pipe, &in);
            rd_kafka_message_destroy(m);
            if (rc < 0)
                return;
        }
        full = i == DAEMON_BATCH;
        producer_poll(d->prod, 0);
        if (daemon_fatal(d))
            return;
        /* A rescore's events go out a slice at a time, only while the
         * producer has room: input keeps flowing between slices, and the
         * queue never fills (which would pause consumption). */
        if (pipeline_unpublished(&d->pipe) > 0 &&
            producer_queue_len(d->prod) < DAEMON_PUBLISH_QUEUE &&
            pipeline_publish(&d->pipe, DAEMON_PUBLISH_SLICE) < 0)
            return;

        now = clock_mono_ms();
        if (daemon_reload_sig) {
            daemon_reload_sig = 0;
            /* Before READY=1 systemd is still starting us: nothing to tell. */
            if (d->ready)
                notify_reloading();
            int rearm = reload_run(d);
            if (daemon_fatal(d))
                return;
            if (d->ready)
                notify_ready(rearm < 0 ? "reload refused (see the log); running configuration "
                                         "kept"
                                       : NULL);
            if (rearm > 0 && (rearm & RELOAD_RESCORE_TIMER))
                next_rescore = now + d->cfg->rescore.interval_ms;
            if (rearm > 0 && (rearm & RELOAD_SNAPSHOT_TIMER))
                next_snapshot = now + d->cfg->snapshot.interval_ms;
        }
        if (!d->ready && consumer_assigned(d->cons) > 0) {
            d->ready = true;
            notify_ready("ready: partitions assigned");
            status_ms = 0;
        }
        bool caught_up = tracker_all_eof(d->trk);
        if (caught_up && !d->backlog_done) {
            d->backlog_done = true;
            double since_first = (double)(now - d->first_msg_ms) / 1000.0;
            log_notice("backlog consumed: %llu messages in %.1f s (%.3f s and %.0f/s from the "
                       "first message)",
                       (unsigned long long)d->pipe.stats.consumed,
                       (double)(now - d->started_ms) / 1000.0, d->first_msg_ms ? since_first : 0,
                       d->first_msg_ms && since_first > 0
                           ? (double)d->pipe.stats.consumed / since_first
                           : 0);
        }
        /* Topics that were empty at start-up: score as soon as the orders
         * that arrived since have been consumed. */
        if (caught_up && d->pipe.bp.version == 0 && store_count(d->store) > 0 &&
            pipeline_rescore(&d->pipe, "caught up") < 0)
            return;
        /* Partitions came back from another member: once caught up on them,
         * publish every customer again over that member's events. */
        if (consumer_take_regained(d->cons))
            d->republish_due = true;
        if (d->republish_due && caught_up && store_count(d->store) > 0) {
            d->republish_due = false;
            d->pipe.republish = true;
            if (pipeline_rescore(&d->pipe, "partitions regained") < 0)
                return;
        }
        if (now >= next_rescore) {
            if (pipeline_rescore(&d->pipe, "interval") < 0)
                return;
            now = clock_mono_ms();
            next_rescore = now + d->cfg->rescore.interval_ms;
        }
        saver_poll(d->saver);
        daemon_maybe_trim(d, &events_at_trim);
        if (daemon_snapshot_sig || now >= next_snapshot) {
            bool asked = daemon_snapshot_sig || snapshot_asked;
            daemon_snapshot_sig = 0;
            int rc = daemon_snapshot(d, asked ? "SIGUSR1" : "interval");
            if (daemon_fatal(d))
                return;
            snapshot_asked = asked && rc == -2;
            now = clock_mono_ms();
            next_snapshot = now + (rc == -2   ? DAEMON_SNAPSHOT_WAIT_MS
                                   : rc == -1 ? DAEMON_SNAPSHOT_RETRY_MS
                                              : d->cfg->snapshot.interval_ms);
        }
        if (now >= next_commit) {
            consumer_commit(d->cons, false);
            next_commit = now + DAEMON_COMMIT_MS;
        }
        if (now >= next_progress) {
            daemon_log_progress(d, &last_consumed, &last_progress, "progress");
            next_progress = now + DAEMON_PROGRESS_MS;
        }
        now = clock_mono_ms();
        notify_watchdog(now);
        if (notify_status_due(now))
            daemon_notify_status(d, now, &status_consumed, &status_ms);
    }
}

/* The shutdown snapshot, within what is left of the stop budget. */
static void daemon_final_snapshot(daemon_ctx *d, int64_t stop_ms) {
    int64_t left = stop_ms + DAEMON_STOP_BUDGET_MS - clock_mono_ms();
    if (saver_busy(d->saver))
        saver_wait(d->saver, (int)(left > 0 ? left : 0));
    left = stop_ms + DAEMON_STOP_BUDGET_MS - clock_mono_ms();
    if (saver_busy(d->saver) || left <= 0) {
        log_warning("no time left for a shutdown snapshot; the previous one stays");
        return;
    }
    int rc = daemon_snapshot(d, "shutdown");
    if (rc == -2)
        log_warning("no shutdown snapshot: rescore events still undelivered; the previous one "
                    "stays");
    else if (rc == 0 && saver_wait(d->saver, (int)left) == 0)
        log_warning("shutdown snapshot not finished within the stop budget; the previous one "
                    "stays");
}

int daemon_run(config *cfg, const daemon_options *opt) {
    daemon_ctx d;
    memset(&d, 0, sizeof d);
    d.cfg = cfg;
    if (opt)
        d.opt = *opt;
    d.started_ms = clock_mono_ms();
    d.started_wall_ms = clock_wall_ms();
    daemon_install_signals();
    notify_init();
    notify_status("starting: restoring state, connecting to Kafka");

    char err[1024] = "";
    int rc = daemon_start(&d, err, sizeof err);
    if (rc != DAEMON_EXIT_OK) {
        log_error("cannot start: %s", err);
        notify_status("cannot start: %s", err);
        fprintf(stderr, "rfmd: %s\n", err);
        daemon_stop_all(&d);
        return rc;
    }
    daemon_log_start(&d);
    notify_watchdog(clock_mono_ms());

    daemon_loop(&d);
    int64_t stop_ms = clock_mono_ms();
    notify_stopping(daemon_fatal(&d) ? "fatal error: stopping (see the log)"
                                     : "stopping: final rescore, flush, commit, snapshot");
    /* Refuse requests from here on rather than leave them hanging through
     * the final rescore and flush. */
    http_stop(d.http);
    d.http = NULL;

    if (!daemon_fatal(&d)) {
        log_notice("stopping (signal %d): final rescore, flush, commit", (int)daemon_stop_sig);
        if (pipeline_rescore(&d.pipe, "shutdown") == 0)
            pipeline_publish(&d.pipe, SIZE_MAX);
    }
    int left = producer_flush(d.prod, daemon_fatal(&d) ? 2000 : DAEMON_SHUTDOWN_FLUSH_MS);
    if (!consumer_failed(d.cons)) {
        consumer_commit(d.cons, true);
        consumer_close(d.cons);
    }
    if (!daemon_fatal(&d) && left == 0)
        daemon_final_snapshot(&d, stop_ms);
    uint64_t consumed = 0;
    int64_t since = d.started_ms;
    daemon_log_progress(&d, &consumed, &since, "final");
    daemon_log_rejects(&d);

    rc = DAEMON_EXIT_OK;
    if (daemon_fatal(&d)) {
        const char *why = producer_failed(d.prod)   ? producer_error(d.prod)
                          : consumer_failed(d.cons) ? consumer_error(d.cons)
                                                    : "see the errors above";
        log_error("fatal: %s; exiting (offsets committed only up to fully delivered input)", why);
        notify_status("fatal: %s", why);
        rc = d.pipe.failed && !producer_failed(d.prod) && !consumer_failed(d.cons)
                 ? DAEMON_EXIT_INTERNAL
                 : DAEMON_EXIT_FATAL;
    } else if (left > 0) {
        log_error("%d messages could not be delivered before the stop deadline; their input "
                  "offsets are not committed",
                  left);
        rc = DAEMON_EXIT_FATAL;
    } else {
        log_notice("stopped cleanly after %.1f s",
                   (double)(clock_mono_ms() - d.started_ms) / 1000.0);
    }
    daemon_stop_all(&d);
    return rc;
}
