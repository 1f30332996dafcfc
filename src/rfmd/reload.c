/*
 * reload — see reload.h.
 *
 * Which keys are live is a table: a key missing from it would silently be
 * "neither applied nor reported", so every config field appears once, either
 * in restart_keys (compared, reported) or in reload_run's live part.
 *
 * The fresh config lives only inside reload_run; what outlives it (the new
 * http.listen, until the daemon has moved its server) is moved into the
 * result, which reload_finish frees.
 */
#include "reload.h"

#include <stdlib.h>
#include <string.h>

#include "kconf.h"
#include "log.h"

static bool str_eq(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool props_eq(const config_prop *a, size_t na, const config_prop *b, size_t nb) {
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        bool found = false;
        for (size_t j = 0; j < nb && !found; j++)
            found = !strcmp(a[i].key, b[j].key) && !strcmp(a[i].value, b[j].value);
        if (!found)
            return false;
    }
    return true;
}

static bool orders_eq(const config *a, const config *b) {
    if (a->topics.norders != b->topics.norders)
        return false;
    for (size_t i = 0; i < a->topics.norders; i++)
        if (strcmp(a->topics.orders[i], b->topics.orders[i]))
            return false;
    return true;
}

/* Keys that only take effect at start-up, and whether they differ. */
typedef struct restart_key {
    const char *name;
    bool (*same)(const config *a, const config *b);
} restart_key;

#define SAME_STR(fn, field)                                                                        \
    static bool fn(const config *a, const config *b) {                                             \
        return str_eq(a->field, b->field);                                                         \
    }
#define SAME_VAL(fn, field)                                                                        \
    static bool fn(const config *a, const config *b) {                                             \
        return a->field == b->field;                                                               \
    }
SAME_STR(same_brokers, kafka.brokers)
SAME_STR(same_group, kafka.group_id)
SAME_STR(same_segtopic, topics.segments)
SAME_STR(same_dlq, topics.dead_letter)
SAME_STR(same_cltopic, changelog.topic)
SAME_STR(same_f_order_id, fields.order_id)
SAME_STR(same_f_customer_id, fields.customer_id)
SAME_STR(same_f_ts, fields.ts)
SAME_STR(same_f_amount, fields.amount)
SAME_STR(same_f_currency, fields.currency)
SAME_STR(same_f_channel, fields.channel)
SAME_STR(same_f_categories, fields.categories)
SAME_STR(same_snapdir, snapshot.dir)
SAME_VAL(same_maxmsg, max_message_bytes)
SAME_VAL(same_bins, scoring.bins)
SAME_VAL(same_tie, scoring.tie_break)
SAME_VAL(same_clock, scoring.clock)
SAME_VAL(same_offset, scoring.as_of_offset_days)
SAME_VAL(same_keep, snapshot.keep)
SAME_VAL(same_partitioner, input.partitioner)
SAME_VAL(same_repartition, input.repartition)
SAME_STR(same_reptopic, input.repartition_topic)
SAME_VAL(same_clenabled, changelog.enabled)
SAME_VAL(same_guarantee, processing.guarantee)
SAME_VAL(same_bpscope, breakpoints.scope)
SAME_STR(same_bptopic, breakpoints.topic)
SAME_STR(same_bpcontrol, breakpoints.control_topic)
SAME_VAL(same_bptimeout, breakpoints.round_timeout_ms)

static bool same_consumer(const config *a, const config *b) {
    return props_eq(a->kafka.consumer, a->kafka.nconsumer, b->kafka.consumer, b->kafka.nconsumer);
}
static bool same_producer(const config *a, const config *b) {
    return props_eq(a->kafka.producer, a->kafka.nproducer, b->kafka.producer, b->kafka.nproducer);
}

static bool same_cltopic_config(const config *a, const config *b) {
    return props_eq(a->changelog.topic_config, a->changelog.ntopic_config,
                    b->changelog.topic_config, b->changelog.ntopic_config);
}

static const restart_key restart_keys[] = {
    {"kafka.brokers", same_brokers},
    {"kafka.group_id", same_group},
    {"kafka.consumer", same_consumer},
    {"kafka.producer", same_producer},
    {"topics.orders", orders_eq},
    {"topics.segments", same_segtopic},
    {"topics.dead_letter", same_dlq},
    /* Which partition an order must arrive on is a property of the
     * producers, decided once with the deployment, not a knob to turn under
     * a running stream. */
    {"input.partitioner", same_partitioner},
    /* Which topic the state is built from. */
    {"input.repartition", same_repartition},
    {"input.repartition_topic", same_reptopic},
    /* The topic is checked (or created) at start-up only. */
    {"changelog.enabled", same_clenabled},
    {"processing.guarantee", same_guarantee},
    {"changelog.topic", same_cltopic},
    {"changelog.topic_config", same_cltopic_config},
    /* The round's topics are opened at start-up; its timeout is the
     * round's, which lives as long as the process. */
    {"breakpoints.scope", same_bpscope},
    {"breakpoints.topic", same_bptopic},
    {"breakpoints.control_topic", same_bpcontrol},
    {"breakpoints.round_timeout", same_bptimeout},
    {"fields.order_id", same_f_order_id},
    {"fields.customer_id", same_f_customer_id},
    {"fields.ts", same_f_ts},
    {"fields.amount", same_f_amount},
    {"fields.currency", same_f_currency},
    {"fields.channel", same_f_channel},
    {"fields.categories", same_f_categories},
    {"limits.max_message_bytes", same_maxmsg},
    {"scoring.bins", same_bins},
    {"scoring.tie_break", same_tie},
    {"scoring.clock", same_clock},
    {"scoring.as_of_offset_days", same_offset},
    {"snapshot.dir", same_snapdir},
    {"snapshot.keep", same_keep},
};

/* Same rules in the same order (names compared, not indices). */
static bool segments_eq(const segment_map *a, const segment_map *b) {
    if (a->bins != b->bins || a->nrules != b->nrules)
        return false;
    for (int i = 0; i < a->nrules; i++)
        if (strcmp(a->rules[i].pattern, b->rules[i].pattern) ||
            strcmp(segment_name(a, a->rules[i].segment), segment_name(b, b->rules[i].segment)))
            return false;
    return true;
}

/* Move the string *from into *to; the old one ends up in *from (freed with
 * the fresh config). */
static void swap_str(char **to, char **from) {
    char *t = *to;
    *to = *from;
    *from = t;
}

/* True when the new rules are in force. */
static bool reload_segments(config *cfg, pipeline *pipe, config *fresh) {
    if (cfg->scoring.bins != fresh->scoring.bins) {
        log_warning("reload: segments changed but not applied: the new rules are for "
                    "scoring.bins %d, rfmd runs with %d bins (needs a restart)",
                    fresh->scoring.bins, cfg->scoring.bins);
        return false;
    }
    segment_map *old = malloc(sizeof *old);
    if (!old) {
        log_error("reload: segments: out of memory; old rules kept");
        return false;
    }
    *old = cfg->segments;
    cfg->segments = fresh->segments;
    long changed = pipeline_resegment(pipe, old);
    free(old);
    if (changed < 0)
        log_error("reload: segments: publishing the re-mapped segments failed");
    else
        log_notice("reload: segments applied: %d rules, %d segments; %ld customers changed "
                   "segment (events with cause \"rescore\")",
                   cfg->segments.nrules, cfg->segments.nsegments, changed);
    return true;
}

int reload_run(config *cfg, pipeline *pipe, reload_result *out) {
    memset(out, 0, sizeof *out);
    out->refused = true;
    if (!cfg->path) {
        log_error("reload: rfmd runs on built-in defaults, there is no file to re-read");
        return -1;
    }
    log_notice("reload: re-reading %s (SIGHUP)", cfg->path);
    config fresh;
    char err[1024];
    if (config_load(&fresh, cfg->path, err, sizeof err) < 0 ||
        kconf_check(&fresh, err, sizeof err) < 0) {
        log_error("reload: %s; keeping the running configuration", err);
        config_free(&fresh);
        return -1;
    }
    out->refused = false;

    for (size_t i = 0; i < sizeof restart_keys / sizeof restart_keys[0]; i++)
        if (!restart_keys[i].same(cfg, &fresh)) {
            log_warning("reload: %s changed: needs a restart (running with the old value)",
                        restart_keys[i].name);
            out->restart++;
        }

    if (!str_eq(cfg->log.level, fresh.log.level)) {
        log_set_level(log_level_parse(fresh.log.level));
        log_notice("reload: log.level applied: %s", fresh.log.level);
        swap_str(&cfg->log.level, &fresh.log.level);
        out->changed |= RELOAD_LOG_LEVEL;
    }
    if (!str_eq(cfg->log.format, fresh.log.format)) {
        const char *env = getenv("RFMD_LOG_FORMAT");
        if (env && *env) {
            log_notice("reload: log.format is %s in the file, but RFMD_LOG_FORMAT=%s decides",
                       fresh.log.format, env);
        } else {
            log_set_format(log_format_parse(fresh.log.format));
            log_notice("reload: log.format applied: %s", fresh.log.format);
        }
        swap_str(&cfg->log.format, &fresh.log.format);
        out->changed |= RELOAD_LOG_FORMAT;
    }
    if (cfg->rescore.interval_ms != fresh.rescore.interval_ms) {
        cfg->rescore.interval_ms = fresh.rescore.interval_ms;
        log_notice("reload: rescore.interval applied: %lld ms, next rescore one interval from now",
                   (long long)cfg->rescore.interval_ms);
        out->rescore_interval_ms = cfg->rescore.interval_ms;
        out->changed |= RELOAD_RESCORE_INTERVAL;
    }
    if (cfg->snapshot.interval_ms != fresh.snapshot.interval_ms) {
        cfg->snapshot.interval_ms = fresh.snapshot.interval_ms;
        log_notice("reload: snapshot.interval applied: %lld ms",
                   (long long)cfg->snapshot.interval_ms);
        out->snapshot_interval_ms = cfg->snapshot.interval_ms;
        out->changed |= RELOAD_SNAPSHOT_INTERVAL;
    }
    if (!str_eq(cfg->http.listen, fresh.http.listen)) {
        swap_str(&out->http_listen, &fresh.http.listen);
        out->changed |= RELOAD_HTTP_LISTEN;
    }
    if (!segments_eq(&cfg->segments, &fresh.segments) && reload_segments(cfg, pipe, &fresh))
        out->changed |= RELOAD_SEGMENTS;
    config_free(&fresh);
    return 0;
}

void reload_finish(config *cfg, reload_result *r, bool http_moved) {
    if (r->changed & RELOAD_HTTP_LISTEN) {
        if (http_moved)
            swap_str(&cfg->http.listen, &r->http_listen);
        else
            r->changed &= ~RELOAD_HTTP_LISTEN;
    }
    free(r->http_listen);
    r->http_listen = NULL;
    if (r->refused)
        return;
    int changed = __builtin_popcount(r->changed);
    log_notice("reload: done: %d live change%s applied, %d key%s waiting for a restart", changed,
               changed == 1 ? "" : "s", r->restart, r->restart == 1 ? "" : "s");
}
