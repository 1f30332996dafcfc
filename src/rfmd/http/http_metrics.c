/*
 * http_metrics — GET /metrics in the Prometheus text exposition format 0.0.4.
 *
 * Everything is read at scrape time from the counters the modules already
 * keep (pipeline_stats, producer_stats, saver_stats, handed over in the
 * request's http_status), so there is no second set of counters to keep in
 * step. The costly parts are bounded: per-segment gauges are one pass over
 * every store (as GET /segments), and consumer lag comes from the status's
 * lag callback (the daemon answers it from librdkafka's cached high
 * watermarks: no broker round trip), for the partitions assigned to this
 * process.
 *
 * Customers, memory and segments are summed over the owned partitions'
 * stores, with one rfmd_partition_customers sample per store.
 *
 * Values not known yet (no snapshot written, no breakpoints) are NaN, which
 * Prometheus stores as such, rather than a 0 that would read as "1970".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* Label values escape backslash, double quote and newline (0.0.4 grammar). */
static void sb_label(strbuf *b, const char *v) {
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            strbuf_putc(b, '\\');
            strbuf_putc(b, *v);
        } else if (*v == '\n') {
            strbuf_puts(b, "\\n");
        } else {
            strbuf_putc(b, *v);
        }
    }
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void sb_double(strbuf *b, double v) {
    if (isnan(v)) {
        strbuf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        strbuf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char s[40];
    snprintf(s, sizeof s, "%.15g", v);
    if (strtod(s, NULL) != v)
        snprintf(s, sizeof s, "%.17g", v);
    strbuf_puts(b, s);
}

static void family(strbuf *b, const char *name, const char *type, const char *help) {
    strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u(strbuf *b, const char *name, uint64_t v) {
    strbuf_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void sample_d(strbuf *b, const char *name, double v) {
    strbuf_printf(b, "%s ", name);
    sb_double(b, v);
    strbuf_putc(b, '\n');
}

static void metric_u(strbuf *b, const char *name, const char *type, const char *help, uint64_t v) {
    family(b, name, type, help);
    sample_u(b, name, v);
}

static void metric_d(strbuf *b, const char *name, const char *type, const char *help, double v) {
    family(b, name, type, help);
    sample_d(b, name, v);
}

static void labelled_u(strbuf *b, const char *name, const char *label, const char *value,
                       uint64_t v) {
    strbuf_printf(b, "%s{%s=\"", name, label);
    sb_label(b, value);
    strbuf_printf(b, "\"} %" PRIu64 "\n", v);
}

static void metrics_process(strbuf *b, const http_status *st) {
    family(b, "rfmd_build_info", "gauge", "Build of the running rfmd; the value is always 1.");
    strbuf_puts(b, "rfmd_build_info{version=\"");
    sb_label(b, RFM_VERSION);
    strbuf_puts(b, "\",librdkafka=\"");
    sb_label(b, st->kafka_version ? st->kafka_version : "unknown");
    strbuf_puts(b, "\"} 1\n");
    metric_d(b, "rfmd_start_time_seconds", "gauge", "Start time of the process, Unix seconds.",
             (double)st->started_wall_ms / 1000.0);
    metric_d(b, "rfmd_uptime_seconds", "gauge", "Seconds since the process started.",
             (double)(clock_mono_ms() - st->started_ms) / 1000.0);
    metric_u(b, "rfmd_ready", "gauge", "1 once started and partitions were assigned (/readyz).",
             st->ready);
    metric_u(b, "rfmd_caught_up", "gauge",
             "1 once every assigned partition was consumed to its end once.", st->caught_up);
    family(b, "rfmd_config_reloads_total", "counter", "SIGHUP configuration reloads by result.");
    labelled_u(b, "rfmd_config_reloads_total", "result", "ok", st->reloads_ok);
    labelled_u(b, "rfmd_config_reloads_total", "result", "error", st->reloads_failed);
    metric_d(b, "rfmd_config_last_reload_success_timestamp_seconds", "gauge",
             "When a reload last succeeded, Unix seconds; NaN if never.",
             st->last_reload_ok_ms ? (double)st->last_reload_ok_ms / 1000.0 : NAN);
}

static void metrics_orders(strbuf *b, const pipeline_stats *s) {
    metric_u(b, "rfmd_orders_consumed_total", "counter",
             "Input messages consumed from the orders topics, valid or not.", s->consumed);
    metric_u(b, "rfmd_orders_applied_total", "counter", "Orders applied to customer state.",
             s->applied);
    metric_u(b, "rfmd_refunds_applied_total", "counter",
             "Refunds (negative amounts) applied to customer state.", s->refunds);
    metric_u(b, "rfmd_orders_duplicate_total", "counter",
             "Orders ignored because their order_id was already applied.", s->duplicates);
    metric_u(b, "rfmd_refunds_unknown_customer_total", "counter",
             "Refunds ignored because the customer is unknown.", s->refund_unknown);
    family(b, "rfmd_orders_rejected_total", "counter",
           "Input messages rejected and sent to the dead-letter topic, by reason.");
    for (int r = 1; r < EVENT_REJECT_COUNT; r++)
        labelled_u(b, "rfmd_orders_rejected_total", "reason", event_reject_name((event_reject)r),
                   s->rejected_by[r]);
    labelled_u(b, "rfmd_orders_rejected_total", "reason", PIPELINE_REJECT_INVALID, s->invalid);
    labelled_u(b, "rfmd_orders_rejected_total", "reason", PIPELINE_REJECT_WRONG_PARTITION,
               s->wrong_partition);
    metric_u(b, "rfmd_dead_letter_refused_total", "counter",
             "Dead-letter copies the producer refused (larger than message.max.bytes).",
             s->dead_letter_refused);
    metric_u(b, "rfmd_repartition_read_total", "counter",
             "input.repartition: messages read from the orders topics (consumed_total counts "
             "the repartition topic's).",
             s->repartition_in);
    metric_u(b, "rfmd_repartitioned_total", "counter",
             "input.repartition: valid orders re-produced to the repartition topic.",
             s->repartitioned);
}

static int store_partition_cmp(const void *a, const void *b) {
    const http_store *x = a, *y = b;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* 0, -1 on allocation failure. */
static int metrics_customers(strbuf *b, const http_status *st) {
    segment_total tot[SEGMENT_MAX + 1];
    uint64_t unscored;
    http_store *v = st->nstores ? malloc(st->nstores * sizeof *v) : NULL;
    if ((st->nstores && !v) || http_segment_totals(st, tot, &unscored)) {
        free(v);
        return -1;
    }
    uint64_t memory = 0;
    for (size_t i = 0; i < st->nstores; i++)
        memory += store_memory(st->stores[i].store);
    metric_u(b, "rfmd_customers", "gauge",
             "Customers in the in-memory stores (every owned partition's).", http_customers(st));
    metric_u(b, "rfmd_store_memory_bytes", "gauge", "Bytes held by the customer stores.", memory);
    family(b, "rfmd_partition_customers", "gauge",
           "Customers per owned partition whose store is running; they add up to "
           "rfmd_customers.");
    if (st->nstores) {
        memcpy(v, st->stores, st->nstores * sizeof *v);
        qsort(v, st->nstores, sizeof *v, store_partition_cmp);
    }
    for (size_t i = 0; i < st->nstores; i++)
        strbuf_printf(b, "rfmd_partition_customers{partition=\"%" PRId32 "\"} %zu\n",
                      v[i].partition, store_count(v[i].store));
    free(v);
    const segment_map *map = st->segments;
    family(b, "rfmd_segment_customers", "gauge",
           "Customers per segment (unclassified: no rule matched; unscored: no breakpoints "
           "yet). The values add up to rfmd_customers.");
    for (int s = 1; s <= map->nsegments; s++)
        labelled_u(b, "rfmd_segment_customers", "segment", segment_name(map, (uint8_t)s),
                   tot[s].count);
    labelled_u(b, "rfmd_segment_customers", "segment", SEGMENT_UNMATCHED_NAME, tot[0].count);
    labelled_u(b, "rfmd_segment_customers", "segment", HTTP_UNSCORED_NAME, unscored);
    return 0;
}

static void metrics_scoring(strbuf *b, const http_status *st) {
    const pipeline_stats *s = st->pipeline;
    const score_breakpoints *bp = st->bp;
    family(b, "rfmd_rescore_duration_seconds", "summary",
           "Time to recompute breakpoints and rescore every customer.");
    sample_d(b, "rfmd_rescore_duration_seconds_sum", s->rescore_ms_total / 1000.0);
    sample_u(b, "rfmd_rescore_duration_seconds_count", s->rescores);
    metric_d(b, "rfmd_rescore_last_duration_seconds", "gauge",
             "Duration of the last rescore; NaN before the first.",
             s->rescores ? s->last_rescore_ms / 1000.0 : NAN);
    metric_u(b, "rfmd_rescore_last_changed_customers", "gauge",
             "Customers whose segment changed in the last rescore.", s->last_rescore_changed);
    metric_u(b, "rfmd_breakpoints_version", "gauge",
             "Version of the current breakpoints; 0 before the first rescore.", bp->version);
    metric_d(b, "rfmd_breakpoints_as_of_timestamp_seconds", "gauge",
             "as_of of the current breakpoints, Unix seconds; NaN before the first rescore.",
             bp->version ? (double)bp->as_of : NAN);
    family(b, "rfmd_events_published_total", "counter",
           "Segment-change events published, by cause.");
    labelled_u(b, "rfmd_events_published_total", "cause", "order", s->events_order);
    labelled_u(b, "rfmd_events_published_total", "cause", "rescore", s->events_rescore);
}

static void metrics_snapshot(strbuf *b, const saver_stats *s, double now) {
    bool have = s->last_ok_unix_ms > 0;
    metric_d(b, "rfmd_snapshot_last_success_timestamp_seconds", "gauge",
             "When the last snapshot was written, Unix seconds; NaN before the first.",
             have ? (double)s->last_ok_unix_ms / 1000.0 : NAN);
    metric_d(b, "rfmd_snapshot_age_seconds", "gauge",
             "Seconds since the last snapshot was written; NaN before the first.",
             have ? now - (double)s->last_ok_unix_ms / 1000.0 : NAN);
    metric_d(b, "rfmd_snapshot_last_duration_seconds", "gauge",
             "How long the last snapshot took (fork to written); NaN before the first.",
             have ? (double)s->last_write_ms / 1000.0 : NAN);
    metric_d(b, "rfmd_snapshot_last_pause_seconds", "gauge",
             "How long ingestion stopped for the last snapshot (delivery wait + fork).",
             have ? (double)s->last_pause_us / 1e6 : NAN);
    metric_u(b, "rfmd_snapshots_written_total", "counter", "Snapshots written.", s->written);
    metric_u(b, "rfmd_snapshot_failures_total", "counter", "Snapshots that failed.", s->failed);
}

static void metrics_producer(strbuf *b, const http_status *st) {
    metric_u(b, "rfmd_producer_queue_messages", "gauge",
             "Messages in the producer's queue, not yet delivered (rd_kafka_outq_len).",
             st->producer_queue);
    metric_u(b, "rfmd_producer_delivered_total", "counter",
             "Messages (events and dead letters) delivered to Kafka.", st->producer.delivered);
    metric_u(b, "rfmd_producer_queue_full_waits_total", "counter",
             "Times consumption paused because the producer queue was full.",
             st->producer.queue_full_waits);
    metric_u(b, "rfmd_txn_commits_total", "counter", "Exactly-once: transactions committed.",
             st->producer.txn_commits);
    metric_u(b, "rfmd_txn_aborts_total", "counter", "Exactly-once: transactions aborted.",
             st->producer.txn_aborts);
    metric_d(b, "rfmd_txn_commit_seconds_total", "counter",
             "Exactly-once: time spent committing transactions (send offsets + commit, which "
             "waits for every message of the transaction to be delivered).",
             (double)st->producer.txn_commit_us_total / 1e6);
    metric_d(b, "rfmd_txn_commit_max_seconds", "gauge",
             "Exactly-once: the longest transaction commit so far.",
             (double)st->producer.txn_commit_us_max / 1e6);
    metric_u(b, "rfmd_pending_deliveries", "gauge",
             "Produced messages whose delivery is awaited before offsets can be committed.",
             st->pending);
}

static void metrics_lag_one(void *ctx, const char *topic, int32_t partition, int64_t lag) {
    strbuf *b = ctx;
    strbuf_puts(b, "rfmd_consumer_lag_messages{topic=\"");
    sb_label(b, topic);
    strbuf_printf(b, "\",partition=\"%" PRId32 "\"} %" PRId64 "\n", partition, lag);
}

static void metrics_restoring_one(void *ctx, const http_partition *p) {
    uint64_t *n = ctx;
    if (p->state == HTTP_PARTITION_RESTORING)
        (*n)++;
}

static void metrics_consumer(strbuf *b, const http_status *st) {
    metric_u(b, "rfmd_consumer_assigned_partitions", "gauge",
             "Input partitions assigned to this process.",
             (uint64_t)(st->partitions > 0 ? st->partitions : 0));
    metric_u(b, "rfmd_consumer_paused", "gauge", "1 while consumption is paused (back-pressure).",
             st->paused);
    family(b, "rfmd_consumer_lag_messages", "gauge",
           "Messages between this process's position and the high watermark, per assigned "
           "partition (librdkafka's cached watermarks; absent while unknown).");
    if (st->lag)
        st->lag(st->lag_ctx, metrics_lag_one, b);
    uint64_t restoring = 0;
    if (st->owned)
        st->owned(st->owned_ctx, metrics_restoring_one, &restoring);
    metric_u(b, "rfmd_partitions_restoring", "gauge",
             "Assigned input partitions whose state is being restored (not consuming yet).",
             restoring);
}

/* The group's breakpoints round (breakpoints.scope: group only). */
static void metrics_round(strbuf *b, const http_round *g) {
    metric_u(b, "rfmd_breakpoints_group_version", "gauge",
             "Version of the group's breakpoints applied here; 0 before the first.", g->version);
    metric_u(b, "rfmd_round_coordinator", "gauge",
             "1 when this instance coordinates the rounds (owns input partition 0).",
             g->is_coordinator);
    metric_u(b, "rfmd_round_holding", "gauge", "1 while a round holds this instance's input.",
             g->holding);
    metric_u(b, "rfmd_rounds_total", "counter", "Rounds this instance coordinated to the end.",
             g->rounds);
    metric_u(b, "rfmd_round_attempts_total", "counter", "Round attempts this instance began.",
             g->attempts);
    metric_u(b, "rfmd_round_restarts_total", "counter",
             "Attempts given up (overlap, timeout, a failed check, the role lost).", g->restarted);
    metric_u(b, "rfmd_round_requests_total", "counter",
             "Refinement requests of the rounds this instance coordinated.", g->requests_total);
    metric_u(b, "rfmd_round_bytes_sent_total", "counter", "Control bytes this instance sent.",
             g->bytes_sent);
    metric_u(b, "rfmd_round_bytes_received_total", "counter",
             "Control bytes this instance read (every member's).", g->bytes_received);
    metric_u(b, "rfmd_round_applied_total", "counter", "Breakpoints records applied here.",
             g->applied);
    metric_d(b, "rfmd_round_last_duration_seconds", "gauge",
             "BEGIN to record of the last round this instance coordinated; NaN before one.",
             g->last_duration_ms >= 0 ? (double)g->last_duration_ms / 1000.0 : NAN);
    metric_d(b, "rfmd_round_hold_seconds_total", "counter",
             "Time this instance's input was held for rounds.", (double)g->hold_ms_total / 1000.0);
}

void http_metrics(const http_status *st, http_reply *r) {
    strbuf b = STRBUF_INIT;
    metrics_process(&b, st);
    metrics_orders(&b, st->pipeline);
    int rc = metrics_customers(&b, st);
    metrics_scoring(&b, st);
    metrics_snapshot(&b, st->snapshot, (double)clock_wall_ms() / 1000.0);
    metrics_producer(&b, st);
    metrics_consumer(&b, st);
    if (st->round)
        metrics_round(&b, st->round);
    size_t len;
    char *body = strbuf_finish(&b, &len);
    if (rc || !body) {
        free(body);
        http_reply_error(r, 500, "out of memory");
        return;
    }
    r->status = 200;
    r->content_type = HTTP_METRICS_TYPE;
    r->body = body;
    r->len = len;
}
