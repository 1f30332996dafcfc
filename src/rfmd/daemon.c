/*
 * daemon — see daemon.h; its state is daemon_internal.h.
 *
 * One thread does all of rfmd's work; librdkafka's own threads do the I/O.
 * The loop (loop.h) has one wait, on the consumer's wake-up descriptor, the
 * HTTP server's descriptor when it is on, and the nearest timer, so neither
 * Kafka input nor a request nor a job waits for another's timeout. A turn:
 *
 *   wait       at most DAEMON_POLL_MS; DAEMON_PUBLISH_POLL_MS while a
 *              rescore's events are queued; not at all when the last turn
 *              took a whole batch (more is waiting)
 *   http       serve the requests that are ready
 *   restore    a slice of the changelog restores in progress (a partition
 *              assigned is rebuilt before its input flows: daemon_tasks.c)
 *   input      up to DAEMON_BATCH messages, each through the pipeline
 *   deliver    delivery reports, then a slice of a rescore's events while
 *              the producer's queue is short
 *   signals    SIGHUP: reload, between two messages; SIGUSR1: snapshot now
 *   txn        exactly-once, caught up: the commit timer brought forward to
 *              when the open transaction is DAEMON_TXN_IDLE_MS old (with a
 *              backlog its period, DAEMON_TXN_MS, decides)
 *   progress   READY once partitions are assigned; the backlog-consumed line
 *   rescore    when rescore_due says so (daemon_jobs.c)
 *   timers     the periodic jobs that are due (daemon_jobs.c)
 *
 * Signals only set a flag (a signal also ends the wait early); the stop
 * handler is installed with SA_RESETHAND, so a second SIGTERM/SIGINT kills
 * a stuck shutdown the usual way.
 *
 * Under systemd (notify.h) the daemon also sends READY=1 once it is ready
 * (state restored, partitions assigned: the /readyz moment), RELOADING=1 /
 * READY=1 around a reload and STOPPING=1 when shutdown begins; its timers
 * send the STATUS= lines and WATCHDOG=1 pings. With the embedded cluster
 * no checkpoint is restored: its topics die with the process.
 */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog_topic.h"
#include "daemon_internal.h"
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
    }
    d->paused = on;
    daemon_input_pause_sync(d);
}

void daemon_input_pause_sync(daemon_ctx *d) {
    bool want = d->paused || d->round_held;
    if (want == d->input_paused)
        return;
    d->input_paused = want;
    if (want)
        consumer_pause(d->cons);
    else
        consumer_resume(d->cons);
}

static void daemon_drain(void *ctx) {
    daemon_ctx *d = ctx;
    if (producer_failed(d->prod))
        return; /* nothing more will be delivered; commits stay behind it */
    if (producer_transactional(d->prod)) {
        /* Exactly-once: the partitions' work goes with them, committed. */
        daemon_txn_commit(d, "rebalance");
        return;
    }
    int left = producer_flush(d->prod, DAEMON_DRAIN_MS);
    if (left)
        log_warning("rebalance: %d messages still undelivered; their offsets are not committed",
                    left);
}

/* The pipeline's keying question, answered by the consumer (it knows the
 * partition counts and the partitioner). */
static int32_t daemon_home(void *ctx, const char *topic, int32_t arrived, const void *customer,
                           size_t len, int32_t *count) {
    daemon_ctx *d = ctx;
    return consumer_customer_partition(d->cons, topic, arrived, customer, len, count);
}

/* The wake-up is a notification, not data: empty it right after the wait,
 * before the turn serves what it announced, so a later one is never lost. */
static void daemon_wake(void *ctx, int fd) {
    (void)fd;
    daemon_ctx *d = ctx;
    consumer_wake_clear(d->cons);
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
    log_notice("rfmd %s starting: brokers %s%s, group %s, orders %s (keying: %s%s%s) -> segments "
               "%s, dead letters %s, changelog %s",
               RFM_VERSION, d->brokers, d->emb ? " (embedded)" : "", c->kafka.group_id, topics,
               config_partitioner_name(c->input.partitioner),
               c->input.repartition ? ", repartitioned through " : "",
               c->input.repartition ? c->input.repartition_topic : "", c->topics.segments,
               c->topics.dead_letter, c->changelog.enabled ? c->changelog.topic : "off");
    log_notice("scoring: %d bins, tie_break %s, clock %s (+%d days), %d segments; "
               "rescore every %lld ms; max message %zu bytes",
               c->scoring.bins,
               c->scoring.tie_break == SCORE_TIE_FIRST_ORDER ? "first_order" : "customer_id",
               c->scoring.clock == SCORE_CLOCK_WALL ? "wall" : "event",
               c->scoring.as_of_offset_days, c->segments.nsegments,
               (long long)c->rescore.interval_ms, c->max_message_bytes);
}

bool daemon_caught_up(daemon_ctx *d) {
    if (!tracker_all_eof(d->trk))
        return false;
    if (!d->cfg->input.repartition)
        return true;
    const char *rt = d->cfg->input.repartition_topic;
    for (size_t s = 0, n = tracker_count(d->trk); s < n; s++) {
        tracker_partition_info pi;
        tracker_info(d->trk, s, &pi);
        bool stage2 = !strcmp(pi.topic, rt);
        if (!stage2 && pi.in_flight > 0)
            return false; /* copies still on their way */
        if (!stage2 || !pi.assigned)
            continue;
        /* EOF was seen, but maybe before our last copies landed there. */
        int64_t mine = producer_delivered_next(d->prod, rt, pi.partition);
        if (mine >= 0 && (pi.applied == TRACKER_OFFSET_NONE || pi.applied < mine))
            return false;
    }
    return true;
}

bool daemon_fatal(const daemon_ctx *d) {
    return d->pipe.failed || d->state_refused || producer_failed(d->prod) ||
           consumer_failed(d->cons);
}

/* The daemon's own structures; state comes per partition on assignment
 * (daemon_tasks.c). */
static int daemon_start_state(daemon_ctx *d, char *err, size_t errlen) {
    d->trk = tracker_new();
    d->saver = saver_new(d->cfg);
    d->loop = loop_new(NULL, NULL);
    if (!d->trk || !d->saver || !d->loop) {
        errbuf_set(err, errlen, "out of memory");
        return DAEMON_EXIT_INTERNAL;
    }
    if (saver_prepare(d->saver, err, errlen))
        return d->emb ? DAEMON_EXIT_CONFIG : DAEMON_EXIT_STATE;
    if (d->emb)
        log_notice("embedded Kafka: its topics do not outlive rfmd, so no checkpoint is "
                   "restored (snapshots are still written to %s)",
                   d->cfg->snapshot.dir);
    return DAEMON_EXIT_OK;
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
    int rc = daemon_start_state(d, err, errlen);
    if (rc != DAEMON_EXIT_OK)
        return rc;
    /* The repartition topic first: with it, it is the changelog's input. */
    if (d->cfg->input.repartition) {
        int32_t count = 0;
        int cr = repartition_topic_ensure(d->cfg, d->brokers, &count, err, errlen);
        if (cr < 0)
            return cr == -1 ? DAEMON_EXIT_CONFIG : DAEMON_EXIT_FATAL;
        d->repart = (repartition){.topic = d->cfg->input.repartition_topic,
                                  .count = count,
                                  .partitioner = d->cfg->input.partitioner};
    }
    if (d->cfg->changelog.enabled) {
        int cr = changelog_topic_ensure(d->cfg, d->brokers, &d->changelog_parts, err, errlen);
        if (cr < 0)
            return cr == -1 ? DAEMON_EXIT_CONFIG : DAEMON_EXIT_FATAL;
    }
    char txn_id[512];
    bool eos = d->cfg->processing.guarantee == CONFIG_EXACTLY_ONCE;
    if (eos && daemon_txn_id(d->cfg, txn_id, sizeof txn_id) < 0) {
        errbuf_set(err, errlen, "kafka.group_id too long for a transactional.id");
        return DAEMON_EXIT_CONFIG;
    }
    d->prod = producer_new(d->cfg, d->brokers, eos ? txn_id : NULL, d->trk, err, errlen);
    if (!d->prod)
        return DAEMON_EXIT_CONFIG;
    d->cons = consumer_new(d->cfg, d->brokers, d->trk, err, errlen);
    if (!d->cons)
        return DAEMON_EXIT_CONFIG;
    producer_set_backpressure(d->prod, daemon_backpressure, d);
    consumer_set_drain(d->cons, daemon_drain, d);
    rc = daemon_tasks_start(d, err, errlen);
    if (rc == DAEMON_EXIT_OK)
        rc = daemon_txn_start(d, err, errlen);
    if (rc != DAEMON_EXIT_OK)
        return rc;
    if (eos)
        log_notice("exactly-once: transactional.id %s", txn_id);
    /* Partitions the state has not seen are read from their beginning: the
     * group's committed offset may be past orders no snapshot holds. */
    if (!d->emb)
        consumer_set_start_unknown(d->cons, RD_KAFKA_OFFSET_BEGINNING);
    pipeline_init(&d->pipe, d->cfg, d->tasks, d->prod, d->trk);
    changelog_log_init(&d->changelog, d->cfg->changelog.topic);
    if (d->cfg->changelog.enabled)
        pipeline_set_changelog(&d->pipe, &d->changelog);
    if (d->cfg->input.partitioner != CONFIG_PARTITIONER_TRUST)
        pipeline_set_home(&d->pipe, daemon_home, d);
    /* The loop's wait is where input is waited for: without the wake-up
     * descriptor, no message would end it. Before subscribing, so the
     * first one is not missed. */
    int wake = consumer_wake_fd(d->cons);
    if (wake < 0 || loop_add_fd(d->loop, "kafka", wake, daemon_wake, d) < 0) {
        errbuf_set(err, errlen, "cannot create the consumer's wake-up descriptor: %s",
                   strerror(errno));
        return DAEMON_EXIT_INTERNAL;
    }
    rc = daemon_round_start(d, err, errlen);
    if (rc != DAEMON_EXIT_OK)
        return rc;
    if (consumer_subscribe(d->cons, err, errlen) < 0)
        return DAEMON_EXIT_FATAL;
    if (!http_disabled(d->cfg->http.listen)) {
        if (daemon_http_start(d, d->cfg->http.listen, err, errlen) < 0)
            return DAEMON_EXIT_CONFIG;
        log_notice("http: listening on %s", http_address(d->http));
    }
    return DAEMON_EXIT_OK;
}

static void daemon_stop_all(daemon_ctx *d) {
    daemon_http_stop(d);
    daemon_round_stop(d);
    if (d->cons)
        consumer_free(d->cons);
    if (d->prod) {
        pipeline_free(&d->pipe);
        producer_free(d->prod);
    }
    changelog_log_free(&d->changelog);
    daemon_tasks_stop(d);
    free(d->http_stores);
    saver_free(d->saver);
    tracker_free(d->trk);
    loop_free(d->loop);
    embedded_stop(d->emb);
}

/* ---- the loop turn -------------------------------------------------------- */

/* How long this turn may wait for input (the loop shortens it to the
 * nearest timer, the HTTP server to its own timers). */
static int daemon_turn_wait(const daemon_ctx *d) {
    int wait = d->full || d->restore_full ? 0 : DAEMON_POLL_MS;
    if (wait && pipeline_unpublished(&d->pipe) > 0)
        wait = DAEMON_PUBLISH_POLL_MS;
    /* Records wake the wait (the restore's descriptor); a partition found
     * complete without any (nothing to read) is reported by the next poll. */
    if (wait > DAEMON_RESTORE_POLL_MS && daemon_tasks_restoring(d))
        wait = DAEMON_RESTORE_POLL_MS;
    return d->http ? http_wait_ms(d->http, wait) : wait;
}

/* Up to DAEMON_BATCH input messages through the pipeline. 0, or -1 on a
 * fatal failure. */
static int daemon_consume(daemon_ctx *d) {
    int i;
    for (i = 0; i < DAEMON_BATCH && !daemon_stop_sig && !daemon_fatal(d); i++) {
        rd_kafka_message_t *m = consumer_poll(d->cons, 0);
        if (!m)
            break;
        const char *topic = rd_kafka_topic_name(m->rkt);
        bool stage1 = d->cfg->input.repartition && !config_is_state_topic(d->cfg, topic);
        const task *k = stage1 ? NULL : tasks_get(d->tasks, m->partition);
        if (!stage1 && (!k || k->state != TASK_RUNNING)) {
            /* Fetched before its partition was held for a restore (or
             * after it went, or while an eager rebalance suspends it): it
             * is read again once the state is there. */
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!d->first_msg_ms)
            d->first_msg_ms = clock_mono_ms();
        int64_t now_us = clock_mono_us();
        saver_note_input(d->saver, d->last_msg_us, now_us);
        d->last_msg_us = now_us;
        pipeline_input in = {
            .topic = topic,
            .partition = m->partition,
            .offset = m->offset,
            .key = m->key,
            .key_len = m->key_len,
            .payload = m->payload,
            .len = m->len,
        };
        int rc = stage1 ? repartition_process(&d->pipe, &d->repart, &in)
                        : pipeline_process(&d->pipe, &in);
        rd_kafka_message_destroy(m);
        if (rc < 0)
            return -1;
    }
    d->full = i == DAEMON_BATCH;
    return 0;
}

/* Delivery reports, then a slice of a rescore's events. 0 or -1 (fatal). */
static int daemon_deliver(daemon_ctx *d) {
    producer_poll(d->prod, 0);
    if (daemon_fatal(d))
        return -1;
    /* A rescore's events go out a slice at a time, only while the producer
     * has room: input keeps flowing between slices, and the queue never
     * fills (which would pause consumption). */
    if (pipeline_unpublished(&d->pipe) > 0 && producer_queue_len(d->prod) < DAEMON_PUBLISH_QUEUE &&
        pipeline_publish(&d->pipe, DAEMON_PUBLISH_SLICE) < 0)
        return -1;
    daemon_jobs_trim(d);
    return 0;
}

/* SIGHUP: reload_run changes the config, the daemon applies the rest (its
 * timers, its HTTP listener). */
static void daemon_reload(daemon_ctx *d) {
    /* Before READY=1 systemd is still starting us: nothing to tell. */
    if (d->ready)
        notify_reloading();
    reload_result r;
    int rc = reload_run(d->cfg, &d->pipe, &r);
    if (r.changed & RELOAD_RESCORE_INTERVAL)
        loop_timer_set_period(d->loop, d->timer.rescore, r.rescore_interval_ms);
    if (r.changed & RELOAD_SNAPSHOT_INTERVAL)
        loop_timer_set_period(d->loop, d->timer.snapshot, r.snapshot_interval_ms);
    bool moved = (r.changed & RELOAD_HTTP_LISTEN) && daemon_http_move(d, r.http_listen);
    reload_finish(d->cfg, &r, moved);
    if (rc < 0) {
        d->reload_stats.failed++;
    } else {
        d->reload_stats.ok++;
        d->reload_stats.last_ok_ms = clock_wall_ms();
    }
    if (d->ready)
        notify_ready(rc < 0 ? "reload refused (see the log); running configuration kept" : NULL);
}

/* The flags the signal handlers set. 0, or -1 when a reload hit a fatal
 * failure. */
static int daemon_take_signals(daemon_ctx *d) {
    if (daemon_reload_sig) {
        daemon_reload_sig = 0;
        daemon_reload(d);
        if (daemon_fatal(d))
            return -1;
    }
    if (daemon_snapshot_sig) {
        daemon_snapshot_sig = 0;
        d->snapshot_asked = true;
        loop_timer_fire_now(d->loop, d->timer.snapshot);
    }
    return 0;
}

/* Ready once partitions are assigned; the backlog line once caught up. */
static void daemon_note_progress(daemon_ctx *d) {
    if (!d->ready && consumer_assigned(d->cons) > 0 && !daemon_tasks_restoring(d)) {
        d->ready = true;
        notify_ready("ready: partitions assigned and restored");
        d->status_ms = 0; /* the next STATUS= line starts its rate afresh */
    }
    if (d->backlog_done || !daemon_caught_up(d))
        return;
    d->backlog_done = true;
    int64_t now = clock_mono_ms();
    double since_first = (double)(now - d->first_msg_ms) / 1000.0;
    log_notice("backlog consumed: %llu messages in %.1f s (%.3f s and %.0f/s from the first "
               "message)",
               (unsigned long long)d->pipe.stats.consumed, (double)(now - d->started_ms) / 1000.0,
               d->first_msg_ms ? since_first : 0,
               d->first_msg_ms && since_first > 0 ? (double)d->pipe.stats.consumed / since_first
                                                  : 0);
    daemon_jobs_log_txn(d, "backlog end");
}

/* The loop proper; returns when asked to stop or on a fatal error. */
static void daemon_loop(daemon_ctx *d) {
    while (!daemon_stop_sig && !daemon_fatal(d)) {
        loop_wait(d->loop, daemon_turn_wait(d));
        daemon_http_run(d);
        if (daemon_tasks_restore_step(d) < 0 || daemon_round_step(d) < 0 || daemon_consume(d) < 0 ||
            daemon_deliver(d) < 0 || daemon_take_signals(d) < 0)
            return;
        daemon_txn_pace(d);
        daemon_note_progress(d);
        if (daemon_jobs_rescore(d) < 0)
            return;
        saver_poll(d->saver);
        if (loop_run_timers(d->loop) < 0)
            return;
    }
}

/* ---- shutdown ------------------------------------------------------------- */

/* The shutdown snapshot, within what is left of the stop budget. */
static void daemon_final_snapshot(daemon_ctx *d, int64_t stop_ms) {
    int64_t left = stop_ms + DAEMON_STOP_BUDGET_MS - clock_mono_ms();
    if (saver_busy(d->saver))
        saver_wait(d->saver, (int)(left > 0 ? left : 0));
    left = stop_ms + DAEMON_STOP_BUDGET_MS - clock_mono_ms();
    if (tasks_restored(d->tasks) == 0)
        return; /* nothing owned: nothing to write */
    if (saver_busy(d->saver) || left <= 0) {
        log_warning("no time left for a shutdown snapshot; the previous one stays");
        return;
    }
    int rc = daemon_jobs_snapshot(d, "shutdown");
    if (rc == -2) {
        log_warning("no shutdown snapshot: rescore events still undelivered; the previous one "
                    "stays");
    } else if (rc == 0) {
        int done = saver_wait(d->saver, (int)left);
        if (done == 0)
            log_warning("shutdown snapshot not finished within the stop budget; the previous "
                        "one stays");
        /* Written: leaving the group checkpoints nothing more. */
        d->final_saved = done == 1;
    }
}

/* Final rescore, flush, commit, leave the group, snapshot; the exit code. */
static int daemon_shutdown(daemon_ctx *d) {
    int64_t stop_ms = clock_mono_ms();
    notify_stopping(daemon_fatal(d) ? "fatal error: stopping (see the log)"
                                    : "stopping: final rescore, flush, commit, snapshot");
    /* Refuse requests from here on rather than leave them hanging through
     * the final rescore and flush. */
    daemon_http_stop(d);

    if (!daemon_fatal(d)) {
        log_notice("stopping (signal %d): final rescore, flush, commit", (int)daemon_stop_sig);
        /* Partitions restored and not yet republished stay so: whoever
         * owns them next restores and republishes them; publishing every
         * customer now could take far longer than the stop budget. */
        size_t ti = 0;
        for (task *k; (k = tasks_next(d->tasks, &ti));)
            k->republish = false;
        /* In group scope the breakpoints are the group's: the coordinator
         * runs one last round (bounded), a member's own would not be them. */
        if (d->round)
            daemon_round_final(d);
        else
            pipeline_rescore(&d->pipe, "shutdown");
        if (!daemon_fatal(d))
            pipeline_publish(&d->pipe, SIZE_MAX);
    }
    if (!daemon_fatal(d))
        daemon_txn_commit(d, "shutdown");
    int left = producer_flush(d->prod, daemon_fatal(d) ? 2000 : DAEMON_SHUTDOWN_FLUSH_MS);
    d->stopping = true;
    if (!consumer_failed(d->cons))
        consumer_commit(d->cons, true);
    /* Before leaving the group: leaving drops every partition's store. */
    if (!daemon_fatal(d) && left == 0)
        daemon_final_snapshot(d, stop_ms);
    /* Before leaving the group frees the stores it counts. */
    uint64_t consumed = 0;
    int64_t since = d->started_ms;
    daemon_jobs_log_progress(d, &consumed, &since, "final");
    if (!consumer_failed(d->cons))
        consumer_close(d->cons);
    daemon_jobs_log_rejects(d);
    if (d->cfg->input.repartition)
        log_notice("repartition: %llu of %llu orders-topic messages re-produced to %s",
                   (unsigned long long)d->pipe.stats.repartitioned,
                   (unsigned long long)d->pipe.stats.repartition_in,
                   d->cfg->input.repartition_topic);
    if (d->cfg->changelog.enabled)
        log_notice("changelog: %llu records written to %s%s",
                   (unsigned long long)d->changelog.records, d->cfg->changelog.topic,
                   d->changelog.refused ? " (some customers refused, see above)" : "");

    if (daemon_fatal(d)) {
        const char *why = producer_failed(d->prod)   ? producer_error(d->prod)
                          : consumer_failed(d->cons) ? consumer_error(d->cons)
                                                     : "see the errors above";
        log_error("fatal: %s; exiting (offsets committed only up to fully delivered input)", why);
        notify_status("fatal: %s", why);
        if (d->state_refused)
            return DAEMON_EXIT_STATE;
        return d->pipe.failed && !producer_failed(d->prod) && !consumer_failed(d->cons)
                   ? DAEMON_EXIT_INTERNAL
                   : DAEMON_EXIT_FATAL;
    }
    if (left > 0) {
        log_error("%d messages could not be delivered before the stop deadline; their input "
                  "offsets are not committed",
                  left);
        return DAEMON_EXIT_FATAL;
    }
    log_notice("stopped cleanly after %.1f s", (double)(clock_mono_ms() - d->started_ms) / 1000.0);
    return DAEMON_EXIT_OK;
}

int daemon_run(config *cfg, const daemon_options *opt) {
    daemon_ctx d;
    memset(&d, 0, sizeof d);
    d.cfg = cfg;
    if (opt)
        d.opt = *opt;
    d.http_watch = -1;
    d.started_ms = clock_mono_ms();
    d.started_wall_ms = clock_wall_ms();
    daemon_install_signals();
    notify_init();
    notify_status("starting: restoring state, connecting to Kafka");

    char err[1024] = "";
    int rc = daemon_start(&d, err, sizeof err);
    if (rc == DAEMON_EXIT_OK && daemon_jobs_start(&d) < 0) {
        errbuf_set(err, sizeof err, "out of loop timers");
        rc = DAEMON_EXIT_INTERNAL;
    }
    if (rc != DAEMON_EXIT_OK) {
        log_error("cannot start: %s", err);
        notify_status("cannot start: %s", err);
        fprintf(stderr, "rfmd: %s\n", err);
        daemon_stop_all(&d);
        return rc;
    }
    daemon_log_start(&d);
    notify_watchdog();

    daemon_loop(&d);
    rc = daemon_shutdown(&d);
    daemon_stop_all(&d);
    return rc;
}
