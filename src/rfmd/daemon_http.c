/*
 * daemon_http — the HTTP server's place in the daemon: its descriptor in the
 * loop's one wait, its turn to serve, the status its handlers read, and
 * following a reloaded http.listen. See daemon_internal.h.
 *
 * The status is filled when a request arrives, from the modules' own
 * counters and state (no copy kept in step), so the HTTP layer sees plain
 * values and Kafka-free structs only, never the daemon or librdkafka.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "log.h"

/* Per-partition lag for /metrics: the consumer's own walk over its
 * assignment (librdkafka's cached watermarks, no broker round trip). */
static void daemon_http_lag(void *ctx, http_lag_emit_fn emit, void *emit_ctx) {
    daemon_ctx *d = ctx;
    consumer_lag(d->cons, emit, emit_ctx);
}

typedef struct daemon_http_owned {
    daemon_ctx *d;
    http_partitions_emit_fn emit;
    void *emit_ctx;
} daemon_http_owned;

/* A consumer_partition as the HTTP layer's plain struct, with its task's
 * state and restore progress. */
static void daemon_http_owned_one(void *ctx, const consumer_partition *p) {
    const daemon_http_owned *o = ctx;
    /* A stage-1 partition (input.repartition) has no task: -1 customers. */
    const task *k = config_is_state_topic(o->d->cfg, p->topic)
                        ? tasks_get_const(o->d->tasks, p->partition)
                        : NULL;
    http_partition hp = {
        .topic = p->topic,
        .partition = p->partition,
        .state =
            k && k->state == TASK_RESTORING ? HTTP_PARTITION_RESTORING : HTTP_PARTITION_RUNNING,
        .next_offset = p->applied,
        .committed = p->committed,
        .high_watermark = p->high,
        .lag = p->lag,
        .caught_up = p->reached_end,
        .restore_position = -1,
        .restore_end = -1,
        .customers = k ? (int64_t)store_count(k->store) : -1,
    };
    restore_progress pr;
    if (hp.state == HTTP_PARTITION_RESTORING && o->d->restore &&
        restore_get_progress(o->d->restore, p->partition, &pr)) {
        hp.restore_position = pr.position;
        hp.restore_end = pr.end;
        hp.restored_records = pr.records;
        hp.next_offset = -1; /* not known before the restore ends */
        hp.caught_up = false;
    }
    o->emit(o->emit_ctx, &hp);
}

/* The owned partitions for /partitions: the same walk as the lag above. */
static void daemon_http_owned_all(void *ctx, http_partitions_emit_fn emit, void *emit_ctx) {
    daemon_ctx *d = ctx;
    daemon_http_owned o = {.d = d, .emit = emit, .emit_ctx = emit_ctx};
    consumer_partitions(d->cons, daemon_http_owned_one, &o);
}

/* The customer's partition under input.partitioner (GET /customers). */
static int32_t daemon_http_home(void *ctx, const char *id, size_t len, int32_t *count) {
    daemon_ctx *d = ctx;
    char *const *topics;
    config_state_topics(d->cfg, &topics);
    return consumer_customer_partition(d->cons, topics[0], 0, id, len, count);
}

/* The running tasks' stores, in a buffer kept for the next request. */
static size_t daemon_http_stores(daemon_ctx *d) {
    size_t n = tasks_running(d->tasks);
    if (n > d->http_stores_cap) {
        http_store *ns = realloc(d->http_stores, n * sizeof *ns);
        if (!ns)
            return 0; /* shown as owning nothing; the next request tries again */
        d->http_stores = ns;
        d->http_stores_cap = n;
    }
    size_t i = 0, j = 0;
    for (task *k; (k = tasks_next(d->tasks, &i));)
        if (k->state == TASK_RUNNING && j < n)
            d->http_stores[j++] = (http_store){.partition = k->partition, .store = k->store};
    return j;
}

/* The round's part of the status (group scope). */
static void daemon_http_round(daemon_ctx *d, http_round *g) {
    const round_record *rec = round_last(d->round);
    round_stats rs;
    round_get_stats(d->round, &rs);
    uint32_t attempt = 0;
    uint64_t active = round_active_version(d->round, &attempt);
    *g = (http_round){.member = round_member_id(d->round),
                      .is_coordinator = round_is_coordinator(d->round),
                      .holding = round_holding(d->round),
                      .active_version = active,
                      .active_attempt = attempt,
                      .version = rec->version,
                      .attempt = rec->attempt,
                      .coordinator = rec->coordinator,
                      .partitions = rec->partitions,
                      .offsets = rec->offsets,
                      .members = rec->members,
                      .requests = rec->requests,
                      .bytes = rec->bytes,
                      .duration_ms = rec->duration_ms,
                      .begun_wall_ms = rec->begun_wall_ms,
                      .rounds = rs.rounds,
                      .attempts = rs.attempts,
                      .restarted = rs.restarted,
                      .requests_total = rs.requests,
                      .bytes_sent = rs.bytes_sent,
                      .bytes_received = rs.bytes_received,
                      .applied = rs.applied,
                      .summaries = rs.summaries,
                      .last_duration_ms = rs.last_duration_ms,
                      .hold_ms_total = rs.hold_ms_total};
}

static void daemon_http_status(void *ctx, http_status *st) {
    daemon_ctx *d = ctx;
    size_t nstores = daemon_http_stores(d);
    *st = (http_status){
        .kafka_version = rd_kafka_version_str(),
        .started_ms = d->started_ms,
        .started_wall_ms = d->started_wall_ms,
        .ready = d->ready,
        .caught_up = d->backlog_done,
        .paused = d->paused,
        .partitions = consumer_assigned(d->cons),
        .group_id = d->cfg->kafka.group_id,
        .reloads_ok = d->reload_stats.ok,
        .reloads_failed = d->reload_stats.failed,
        .last_reload_ok_ms = d->reload_stats.last_ok_ms,
        .stores = d->http_stores,
        .nstores = nstores,
        .home = d->cfg->input.partitioner == CONFIG_PARTITIONER_TRUST ? NULL : daemon_http_home,
        .home_ctx = d,
        .bp = &d->pipe.bp,
        .scoring = &d->cfg->scoring,
        .segments = &d->cfg->segments,
        .pipeline = &d->pipe.stats,
        .snapshot = saver_get_stats(d->saver),
        .producer_queue = producer_queue_len(d->prod),
        .pending = tracker_pending(d->trk),
        .lag = daemon_http_lag,
        .lag_ctx = d,
        .owned = daemon_http_owned_all,
        .owned_ctx = d,
    };
    producer_get_stats(d->prod, &st->producer);
    if (d->round) {
        daemon_http_round(d, &d->http_round);
        st->round = &d->http_round;
    }
}

int daemon_http_start(daemon_ctx *d, const char *listen, char *err, size_t errlen) {
    d->http = http_start(listen, daemon_http_status, d, err, errlen);
    if (!d->http)
        return -1;
    /* A request ends the loop's wait as input does. */
    d->http_watch = loop_add_fd(d->loop, "http", http_fd(d->http), NULL, NULL);
    return 0;
}

void daemon_http_stop(daemon_ctx *d) {
    if (!d->http)
        return;
    loop_remove_fd(d->loop, d->http_watch);
    d->http_watch = -1;
    http_stop(d->http);
    d->http = NULL;
}

void daemon_http_run(daemon_ctx *d) {
    /* Every turn, not only when its descriptor woke the wait: the server
     * also has timers of its own (idle connections). */
    if (d->http)
        http_run(d->http);
}

bool daemon_http_move(daemon_ctx *d, const char *listen) {
    const char *old = d->cfg->http.listen;
    char err[512];
    /* The old server goes first: the new address may be the same port on
     * another interface, which the old socket would block. */
    daemon_http_stop(d);
    if (http_disabled(listen)) {
        log_notice("reload: http.listen applied: HTTP server off");
        return true;
    }
    if (daemon_http_start(d, listen, err, sizeof err) == 0) {
        log_notice("reload: http.listen applied: listening on %s", http_address(d->http));
        return true;
    }
    log_error("reload: http.listen: %s; staying on \"%s\"", err, old);
    if (http_disabled(old))
        return false;
    if (daemon_http_start(d, old, err, sizeof err) < 0)
        log_error("reload: http: cannot return to the old address either: %s; HTTP is off until "
                  "the next reload",
                  err);
    else
        log_notice("http: listening on %s", http_address(d->http));
    return false;
}
