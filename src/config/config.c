/*
 * config — rfmd.yaml (contract in include/rfm/config.h, every key documented
 * in conf/rfmd.yaml).
 *
 * The file is loaded as a libyaml document, so every node carries its mark;
 * the walk below is table-driven: each section is a list of keys with a
 * handler that checks type and range and writes one field. Loading goes into
 * a fresh config seeded with the defaults and replaces the caller's only when
 * the whole file was accepted, so a bad file never leaves a half-applied
 * configuration (this is what makes a SIGHUP reload safe). Segment rules are
 * compiled last, once scoring.bins is known, whatever the key order.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rfm/config.h"
#include "util/errbuf.h"

typedef struct ctx {
    const char *name;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    config *c;
    const yaml_node_t *segments; /* compiled after the walk */
    const yaml_node_t *bins_node;
} ctx;

static int fail(ctx *x, const yaml_node_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(ctx *x, const yaml_node_t *n, const char *key, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        errbuf_set(x->err, x->errlen, "%s:%zu:%zu: %s: %s", x->name, n->start_mark.line + 1,
                   n->start_mark.column + 1, key, msg);
    else
        errbuf_set(x->err, x->errlen, "%s: %s: %s", x->name, key, msg);
    return -1;
}

static const char *scalar(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *type_name(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

static int want_scalar(ctx *x, const yaml_node_t *n, const char *key, const char **out) {
    *out = scalar(n);
    if (!*out)
        return fail(x, n, key, "expected a single value, got %s", type_name(n));
    return 0;
}

static int set_str(ctx *x, const yaml_node_t *n, const char *key, char **dst, bool nonempty) {
    const char *v;
    if (want_scalar(x, n, key, &v))
        return -1;
    if (nonempty && !*v)
        return fail(x, n, key, "must not be empty");
    if (strlen(v) > 4096)
        return fail(x, n, key, "longer than 4096 bytes");
    char *d = strdup(v);
    if (!d)
        return fail(x, n, key, "out of memory");
    free(*dst);
    *dst = d;
    return 0;
}

static int parse_int(const char *v, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long r = strtoll(v, &end, 10);
    if (!*v || *end || errno || r < lo || r > hi)
        return -1;
    *out = r;
    return 0;
}

static int set_int(ctx *x, const yaml_node_t *n, const char *key, long long lo, long long hi,
                   long long *out) {
    const char *v;
    if (want_scalar(x, n, key, &v))
        return -1;
    if (parse_int(v, lo, hi, out))
        return fail(x, n, key, "must be an integer from %lld to %lld, got \"%s\"", lo, hi, v);
    return 0;
}

int config_parse_duration(const char *s, int64_t *ms) {
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    char *end;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit)) {
            if (v == 0 || v > (unsigned long long)(INT64_MAX / units[i].ms))
                return -1;
            *ms = (int64_t)v * units[i].ms;
            return 0;
        }
    return -1;
}

static int set_duration(ctx *x, const yaml_node_t *n, const char *key, int64_t *out) {
    const char *v;
    if (want_scalar(x, n, key, &v))
        return -1;
    if (config_parse_duration(v, out))
        return fail(x, n, key,
                    "\"%s\" is not a positive duration: a number with a unit, "
                    "e.g. 500ms, 2s, 5m, 1h, 1d",
                    v);
    return 0;
}

static int parse_size(const char *v, long long *out) {
    static const struct {
        const char *unit;
        long long mult;
    } units[] = {{"", 1},     {"B", 1},      {"KiB", 1024}, {"MiB", 1024 * 1024},
                 {"k", 1000}, {"M", 1000000}};
    char *end;
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit)) {
            if (n > LLONG_MAX / units[i].mult)
                return -1;
            *out = n * units[i].mult;
            return 0;
        }
    return -1;
}

/* ---- key tables ---------------------------------------------------------- */

typedef int (*handler)(ctx *x, const yaml_node_t *n, const char *key);

typedef struct keydef {
    const char *name;
    handler fn;
} keydef;

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
    if (la > 63 || lb > 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof cur);
    }
    return prev[lb];
}

/* Walk a mapping against a key table: unknown and duplicate keys are errors. */
static int walk(ctx *x, const yaml_node_t *map, const char *prefix, const keydef *defs,
                size_t ndefs) {
    if (map->type != YAML_MAPPING_NODE)
        return fail(x, map, *prefix ? prefix : "(top level)", "expected a mapping of keys, got %s",
                    type_name(map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *name = scalar(k);
        if (!name)
            return fail(x, k, *prefix ? prefix : "(top level)", "keys must be plain names");
        char full[256];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", name);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *prev = scalar(yaml_document_get_node(x->doc, q->key));
            if (prev && !strcmp(prev, name))
                return fail(x, k, full, "duplicate key (first given at line %zu)",
                            yaml_document_get_node(x->doc, q->key)->start_mark.line + 1);
        }
        const keydef *d = NULL;
        for (size_t i = 0; i < ndefs && !d; i++)
            if (!strcmp(defs[i].name, name))
                d = &defs[i];
        if (!d) {
            const char *best = NULL;
            size_t bestd = 3;
            for (size_t i = 0; i < ndefs; i++) {
                size_t dist = edit_distance(name, defs[i].name);
                if (dist < bestd) {
                    bestd = dist;
                    best = defs[i].name;
                }
            }
            if (best)
                return fail(x, k, full, "unknown key (did you mean '%s'?)", best);
            return fail(x, k, full, "unknown key");
        }
        if (d->fn(x, v, full))
            return -1;
    }
    return 0;
}

static int props(ctx *x, const yaml_node_t *n, const char *key, config_prop *arr, size_t *cnt) {
    if (n->type == YAML_SCALAR_NODE && !*scalar(n))
        return 0; /* "consumer:" with nothing after it */
    if (n->type != YAML_MAPPING_NODE)
        return fail(x, n, key, "expected a mapping of librdkafka properties, got %s", type_name(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        char full[256];
        const char *name = scalar(k), *val;
        if (!name || !*name)
            return fail(x, k, key, "property names must be plain strings");
        snprintf(full, sizeof full, "%s.%s", key, name);
        if (want_scalar(x, v, full, &val))
            return -1;
        for (size_t i = 0; i < *cnt; i++)
            if (!strcmp(arr[i].key, name))
                return fail(x, k, full, "duplicate property");
        if (*cnt == CONFIG_MAX_PROPS)
            return fail(x, k, full, "more than %d properties", CONFIG_MAX_PROPS);
        arr[*cnt].key = strdup(name);
        arr[*cnt].value = strdup(val);
        if (!arr[*cnt].key || !arr[*cnt].value) {
            free(arr[*cnt].key);
            free(arr[*cnt].value);
            return fail(x, k, full, "out of memory");
        }
        (*cnt)++;
    }
    return 0;
}

static int k_brokers(ctx *x, const yaml_node_t *n, const char *k) {
    return set_str(x, n, k, &x->c->kafka.brokers, true);
}
static int k_group(ctx *x, const yaml_node_t *n, const char *k) {
    return set_str(x, n, k, &x->c->kafka.group_id, true);
}
static int k_consumer(ctx *x, const yaml_node_t *n, const char *k) {
    return props(x, n, k, x->c->kafka.consumer, &x->c->kafka.nconsumer);
}
static int k_producer(ctx *x, const yaml_node_t *n, const char *k) {
    return props(x, n, k, x->c->kafka.producer, &x->c->kafka.nproducer);
}
static const keydef kafka_keys[] = {{"brokers", k_brokers},
                                    {"group_id", k_group},
                                    {"consumer", k_consumer},
                                    {"producer", k_producer}};

static int k_orders(ctx *x, const yaml_node_t *n, const char *k) {
    config *c = x->c;
    for (size_t i = 0; i < c->topics.norders; i++) {
        free(c->topics.orders[i]);
        c->topics.orders[i] = NULL;
    }
    c->topics.norders = 0;
    if (n->type == YAML_SCALAR_NODE)
        return set_str(x, n, k, &c->topics.orders[c->topics.norders++], true);
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(x, n, k, "expected a topic name or a list of topic names");
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        if (c->topics.norders == CONFIG_MAX_TOPICS)
            return fail(x, n, k, "more than %d topics", CONFIG_MAX_TOPICS);
        if (set_str(x, yaml_document_get_node(x->doc, *i), k,
                    &c->topics.orders[c->topics.norders++], true))
            return -1;
    }
    if (!c->topics.norders)
        return fail(x, n, k, "at least one topic is needed");
    return 0;
}
static int k_segtopic(ctx *x, const yaml_node_t *n, const char *k) {
    return set_str(x, n, k, &x->c->topics.segments, true);
}
static int k_dlq(ctx *x, const yaml_node_t *n, const char *k) {
    return set_str(x, n, k, &x->c->topics.dead_letter, true);
}
static const keydef topic_keys[] = {
    {"orders", k_orders}, {"segments", k_segtopic}, {"dead_letter", k_dlq}};

/* fields.* are const char * in event_fields but owned here (see config_free). */
static int set_field(ctx *x, const yaml_node_t *n, const char *k, const char **dst) {
    char *v = NULL;
    if (set_str(x, n, k, &v, true))
        return -1;
    free((char *)*dst);
    *dst = v;
    return 0;
}
#define FIELD(nm)                                                                                  \
    static int k_f_##nm(ctx *x, const yaml_node_t *n, const char *k) {                             \
        return set_field(x, n, k, &x->c->fields.nm);                                               \
    }
FIELD(order_id)
FIELD(customer_id)
FIELD(ts)
FIELD(amount)
FIELD(currency)
FIELD(channel)
FIELD(categories)
static const keydef field_keys[] = {
    {"order_id", k_f_order_id},    {"customer_id", k_f_customer_id}, {"ts", k_f_ts},
    {"amount", k_f_amount},        {"currency", k_f_currency},       {"channel", k_f_channel},
    {"categories", k_f_categories}};

static int k_maxmsg(ctx *x, const yaml_node_t *n, const char *k) {
    const char *v;
    long long sz;
    if (want_scalar(x, n, k, &v))
        return -1;
    if (parse_size(v, &sz) || sz < 64 || sz > 64 * 1024 * 1024)
        return fail(x, n, k,
                    "must be a size from 64 bytes to 64MiB (e.g. 65536, 64KiB, 1MiB), "
                    "got \"%s\"",
                    v);
    x->c->max_message_bytes = (size_t)sz;
    return 0;
}
static const keydef limit_keys[] = {{"max_message_bytes", k_maxmsg}};

static int k_bins(ctx *x, const yaml_node_t *n, const char *k) {
    long long v = 0;
    if (set_int(x, n, k, 2, SCORE_BINS_MAX, &v))
        return -1;
    x->c->scoring.bins = (int)v;
    x->bins_node = n;
    return 0;
}
static int k_tie(ctx *x, const yaml_node_t *n, const char *k) {
    const char *v;
    if (want_scalar(x, n, k, &v))
        return -1;
    if (!strcmp(v, "customer_id"))
        x->c->scoring.tie_break = SCORE_TIE_CUSTOMER_ID;
    else if (!strcmp(v, "first_order"))
        x->c->scoring.tie_break = SCORE_TIE_FIRST_ORDER;
    else
        return fail(x, n, k, "must be customer_id or first_order, got \"%s\"", v);
    return 0;
}
static int k_clock(ctx *x, const yaml_node_t *n, const char *k) {
    const char *v;
    if (want_scalar(x, n, k, &v))
        return -1;
    if (!strcmp(v, "event"))
        x->c->scoring.clock = SCORE_CLOCK_EVENT;
    else if (!strcmp(v, "wall"))
        x->c->scoring.clock = SCORE_CLOCK_WALL;
    else
        return fail(x, n, k, "must be event or wall, got \"%s\"", v);
    return 0;
}
static int k_offset(ctx *x, const yaml_node_t *n, const char *k) {
    long long v = 0;
    if (set_int(x, n, k, 0, 3650, &v))
        return -1;
    x->c->scoring.as_of_offset_days = (int)v;
    return 0;
}
static const keydef scoring_keys[] = {
    {"bins", k_bins}, {"tie_break", k_tie}, {"clock", k_clock}, {"as_of_offset_days", k_offset}};

static int k_rescore_iv(ctx *x, const yaml_node_t *n, const char *k) {
    return set_duration(x, n, k, &x->c->rescore.interval_ms);
}
static const keydef rescore_keys[] = {{"interval", k_rescore_iv}};

static int k_snapdir(ctx *x, const yaml_node_t *n, const char *k) {
    return set_str(x, n, k, &x->c->snapshot.dir, true);
}
static int k_snapiv(ctx *x, const yaml_node_t *n, const char *k) {
    return set_duration(x, n, k, &x->c->snapshot.interval_ms);
}
static int k_keep(ctx *x, const yaml_node_t *n, const char *k) {
    long long v = 0;
    if (set_int(x, n, k, 1, 100, &v))
        return -1;
    x->c->snapshot.keep = (int)v;
    return 0;
}
static const keydef snapshot_keys[] = {
    {"dir", k_snapdir}, {"interval", k_snapiv}, {"keep", k_keep}};

static int k_listen(ctx *x, const yaml_node_t *n, const char *k) {
    const char *v;
    if (want_scalar(x, n, k, &v))
        return -1;
    if (!strcmp(v, "off"))
        v = ""; /* the same as "" */
    if (*v) {
        const char *colon = strrchr(v, ':');
        long long port;
        if (!colon || colon == v || parse_int(colon + 1, 0, 65535, &port))
            return fail(x, n, k,
                        "must be \"host:port\" (port 0-65535, 0: any free port) or \"\" / "
                        "off to disable, got \"%s\"",
                        v);
    }
    if (*v)
        return set_str(x, n, k, &x->c->http.listen, false);
    char *empty = strdup("");
    if (!empty)
        return fail(x, n, k, "out of memory");
    free(x->c->http.listen);
    x->c->http.listen = empty;
    return 0;
}
static const keydef http_keys[] = {{"listen", k_listen}};

static int k_level(ctx *x, const yaml_node_t *n, const char *k) {
    static const char *levels[] = {"debug", "info", "notice", "warning", "error"};
    const char *v;
    if (want_scalar(x, n, k, &v))
        return -1;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (!strcmp(v, levels[i]))
            return set_str(x, n, k, &x->c->log.level, true);
    return fail(x, n, k, "must be debug, info, notice, warning or error, got \"%s\"", v);
}
static int k_format(ctx *x, const yaml_node_t *n, const char *k) {
    static const char *formats[] = {"auto", "journal", "text"};
    const char *v;
    if (want_scalar(x, n, k, &v))
        return -1;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(v, formats[i]))
            return set_str(x, n, k, &x->c->log.format, true);
    return fail(x, n, k, "must be auto, journal or text, got \"%s\"", v);
}
static const keydef log_keys[] = {{"level", k_level}, {"format", k_format}};

#define SECTION(nm, tbl)                                                                           \
    static int k_##nm(ctx *x, const yaml_node_t *n, const char *k) {                               \
        if (n->type == YAML_SCALAR_NODE && !*scalar(n))                                            \
            return 0;                                                                              \
        return walk(x, n, k, tbl, sizeof tbl / sizeof tbl[0]);                                     \
    }
SECTION(kafka, kafka_keys)
SECTION(topics, topic_keys)
SECTION(fields, field_keys)
SECTION(limits, limit_keys)
SECTION(scoring, scoring_keys)
SECTION(rescore, rescore_keys)
SECTION(snapshot, snapshot_keys)
SECTION(http, http_keys)
SECTION(log, log_keys)

static int k_segments(ctx *x, const yaml_node_t *n, const char *k) {
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(x, n, k, "expected a list of {pattern, name} rules, got %s", type_name(n));
    x->segments = n;
    return 0;
}

static const keydef top_keys[] = {
    {"kafka", k_kafka},     {"topics", k_topics},    {"fields", k_fields},     {"limits", k_limits},
    {"scoring", k_scoring}, {"rescore", k_rescore},  {"snapshot", k_snapshot}, {"http", k_http},
    {"log", k_log},         {"segments", k_segments}};

static int compile_segments(ctx *x) {
    segment_map *m = &x->c->segments;
    int bins = x->c->scoring.bins;
    if (!x->segments) {
        segment_map_default(m, bins);
        if (bins != 5)
            return fail(x, x->bins_node, "scoring.bins",
                        "the default segment map is for 5 bins; with %d bins give "
                        "'segments:' rules",
                        bins);
        return 0;
    }
    segment_map_init(m, bins);
    const yaml_node_t *seq = x->segments;
    int idx = 0;
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
         i++, idx++) {
        const yaml_node_t *r = yaml_document_get_node(x->doc, *i);
        char key[64];
        snprintf(key, sizeof key, "segments[%d]", idx);
        if (r->type != YAML_MAPPING_NODE)
            return fail(x, r, key, "expected {pattern: ..., name: ...}, got %s", type_name(r));
        const char *pattern = NULL, *name = NULL;
        const yaml_node_t *pnode = r;
        for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top;
             p++) {
            const yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
            const yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
            const char *kname = scalar(kn);
            char full[96];
            snprintf(full, sizeof full, "%s.%s", key, kname ? kname : "?");
            const char **dst = kname && !strcmp(kname, "pattern") ? &pattern
                               : kname && !strcmp(kname, "name")  ? &name
                                                                  : NULL;
            if (!dst)
                return fail(x, kn, full, "unknown key (a rule has 'pattern' and 'name')");
            if (*dst)
                return fail(x, kn, full, "duplicate key");
            if (want_scalar(x, vn, full, dst))
                return -1;
            if (dst == &pattern)
                pnode = vn;
        }
        if (!pattern || !name)
            return fail(x, r, key, "a rule needs both 'pattern' and 'name'");
        if (!*name || strlen(name) > SEGMENT_NAME_MAX)
            return fail(x, r, key, "name must be 1..%d characters", SEGMENT_NAME_MAX);
        char why[256];
        if (segment_map_add(m, pattern, name, why, sizeof why))
            return fail(x, pnode, key, "%s", why);
    }
    if (!m->nrules)
        return fail(x, seq, "segments", "at least one rule is needed");
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static char *dup_or_fail(const char *s, bool *ok) {
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

int config_defaults(config *c) {
    memset(c, 0, sizeof *c);
    bool ok = true;
    c->kafka.brokers = dup_or_fail("127.0.0.1:9092", &ok);
    c->kafka.group_id = dup_or_fail("rfmd", &ok);
    c->topics.orders[0] = dup_or_fail("orders", &ok);
    c->topics.norders = 1;
    c->topics.segments = dup_or_fail("rfm.segments", &ok);
    c->topics.dead_letter = dup_or_fail("rfm.orders.dlq", &ok);
    event_fields f;
    event_fields_default(&f);
    c->fields.order_id = dup_or_fail(f.order_id, &ok);
    c->fields.customer_id = dup_or_fail(f.customer_id, &ok);
    c->fields.ts = dup_or_fail(f.ts, &ok);
    c->fields.amount = dup_or_fail(f.amount, &ok);
    c->fields.currency = dup_or_fail(f.currency, &ok);
    c->fields.channel = dup_or_fail(f.channel, &ok);
    c->fields.categories = dup_or_fail(f.categories, &ok);
    c->max_message_bytes = EVENT_MAX_BYTES;
    score_settings_default(&c->scoring);
    segment_map_default(&c->segments, c->scoring.bins);
    c->rescore.interval_ms = 60 * 1000;
    c->snapshot.dir = dup_or_fail("/var/lib/rfmd", &ok);
    c->snapshot.interval_ms = 5 * 60 * 1000;
    c->snapshot.keep = 3;
    c->http.listen = dup_or_fail("127.0.0.1:9464", &ok);
    c->log.level = dup_or_fail("info", &ok);
    c->log.format = dup_or_fail("auto", &ok);
    if (!ok) {
        config_free(c);
        return -1;
    }
    return 0;
}

void config_free(config *c) {
    free(c->path);
    free(c->kafka.brokers);
    free(c->kafka.group_id);
    for (size_t i = 0; i < c->kafka.nconsumer; i++) {
        free(c->kafka.consumer[i].key);
        free(c->kafka.consumer[i].value);
    }
    for (size_t i = 0; i < c->kafka.nproducer; i++) {
        free(c->kafka.producer[i].key);
        free(c->kafka.producer[i].value);
    }
    for (size_t i = 0; i < c->topics.norders; i++)
        free(c->topics.orders[i]);
    free(c->topics.segments);
    free(c->topics.dead_letter);
    free((char *)c->fields.order_id);
    free((char *)c->fields.customer_id);
    free((char *)c->fields.ts);
    free((char *)c->fields.amount);
    free((char *)c->fields.currency);
    free((char *)c->fields.channel);
    free((char *)c->fields.categories);
    free(c->snapshot.dir);
    free(c->http.listen);
    free(c->log.level);
    free(c->log.format);
    memset(c, 0, sizeof *c);
}

static void syntax_error(const char *name, const yaml_parser_t *p, char *err, size_t errlen) {
    snprintf(err, errlen, "%s:%zu:%zu: YAML syntax error: %s%s%s", name, p->problem_mark.line + 1,
             p->problem_mark.column + 1, p->problem ? p->problem : "unreadable",
             p->context ? " " : "", p->context ? p->context : "");
}

/* yaml_parser_load reads one document and would silently ignore the rest of
 * the file: a second "---" document is refused like any key we do not know. */
static int only_one_document(ctx *x, yaml_parser_t *p) {
    yaml_document_t next;
    if (!yaml_parser_load(p, &next)) {
        syntax_error(x->name, p, x->err, x->errlen);
        return -1;
    }
    int rc = 0;
    if (yaml_document_get_root_node(&next)) {
        snprintf(x->err, x->errlen,
                 "%s:%zu:%zu: (top level): a second YAML document; the file must hold one", x->name,
                 next.start_mark.line + 1, next.start_mark.column + 1);
        rc = -1;
    }
    yaml_document_delete(&next);
    return rc;
}

int config_load_string(config *c, const char *name, const char *yaml, size_t len, char *err,
                       size_t errlen) {
    config fresh;
    if (config_defaults(&fresh)) {
        snprintf(err, errlen, "%s: out of memory", name);
        memset(c, 0, sizeof *c);
        return -1;
    }
    ctx x = {.name = name, .err = err, .errlen = errlen, .c = &fresh};
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto out_fresh;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(name, &parser, err, errlen);
        yaml_parser_delete(&parser);
        goto out_fresh;
    }
    x.doc = &doc;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && only_one_document(&x, &parser))
        rc = -1;
    else if (!root || (root->type == YAML_SCALAR_NODE && !*scalar(root)))
        rc = compile_segments(&x); /* an empty file: all defaults */
    else if (!walk(&x, root, "", top_keys, sizeof top_keys / sizeof top_keys[0]))
        rc = compile_segments(&x);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc == 0) {
        fresh.path = strdup(name);
        *c = fresh;
        return 0;
    }
out_fresh:
    config_free(&fresh);
    memset(c, 0, sizeof *c);
    return -1;
}

int config_load(config *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        memset(c, 0, sizeof *c);
        return -1;
    }
    char *buf = malloc(CONFIG_MAX_FILE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_MAX_FILE_BYTES + 1, f) : 0;
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        snprintf(err, errlen, "%s: cannot read: %s", path, buf ? strerror(errno) : "out of memory");
        free(buf);
        memset(c, 0, sizeof *c);
        return -1;
    }
    if (n > CONFIG_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes; is this the right file?", path,
                 CONFIG_MAX_FILE_BYTES);
        free(buf);
        memset(c, 0, sizeof *c);
        return -1;
    }
    int rc = config_load_string(c, path, buf, n, err, errlen);
    free(buf);
    return rc;
}
