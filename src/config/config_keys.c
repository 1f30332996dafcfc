/*
 * config_keys — the key tables of rfmd.yaml, one per section, each key with
 * the handler that checks its value and writes one field of the config
 * (every key is documented in conf/rfmd.yaml), and the segment rules.
 *
 * Segment rules are only remembered during the walk and compiled after it,
 * once scoring.bins is known, whatever the key order.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

/* "65536", "64KiB", "1MiB", "64k" into bytes; 0 or -1 (no message). */
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
    for (size_t i = 0; i < COUNT(units); i++)
        if (!strcmp(end, units[i].unit)) {
            if (n > LLONG_MAX / units[i].mult)
                return -1;
            *out = n * units[i].mult;
            return 0;
        }
    return -1;
}

/* kafka.consumer / kafka.producer: a mapping of librdkafka properties,
 * passed through as strings (librdkafka checks them), into arr[0..*cnt);
 * changelog.topic_config likewise, of Kafka topic configs (the broker
 * checks them when rfmd creates the topic). */
static int props(config_ctx *x, const yaml_node_t *n, const char *key, config_prop *arr,
                 size_t *cnt) {
    if (n->type == YAML_SCALAR_NODE && !*config_yaml_scalar(n))
        return 0; /* "consumer:" with nothing after it */
    if (n->type != YAML_MAPPING_NODE)
        return config_yaml_fail(x, n, key, "expected a mapping of %s properties, got %s",
                                strncmp(key, "kafka.", 6) ? "Kafka topic" : "librdkafka",
                                config_yaml_type_name(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        char full[256];
        const char *name = config_yaml_scalar(k), *val;
        if (!name || !*name)
            return config_yaml_fail(x, k, key, "property names must be plain strings");
        snprintf(full, sizeof full, "%s.%s", key, name);
        if (config_yaml_want_scalar(x, v, full, &val))
            return -1;
        if (config_prop_get(arr, *cnt, name))
            return config_yaml_fail(x, k, full, "duplicate property");
        if (*cnt == CONFIG_MAX_PROPS)
            return config_yaml_fail(x, k, full, "more than %d properties", CONFIG_MAX_PROPS);
        arr[*cnt].key = strdup(name);
        arr[*cnt].value = strdup(val);
        if (!arr[*cnt].key || !arr[*cnt].value) {
            free(arr[*cnt].key);
            free(arr[*cnt].value);
            return config_yaml_fail(x, k, full, "out of memory");
        }
        (*cnt)++;
    }
    return 0;
}

/* ---- the sections: each k_* is the config_handler of one key (contract in
 * config_internal.h), each *_keys table one section's keys ---- */

static int k_brokers(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_str(x, n, k, &x->c->kafka.brokers, true);
}
static int k_group(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_str(x, n, k, &x->c->kafka.group_id, true);
}
static int k_consumer(config_ctx *x, const yaml_node_t *n, const char *k) {
    return props(x, n, k, x->c->kafka.consumer, &x->c->kafka.nconsumer);
}
static int k_producer(config_ctx *x, const yaml_node_t *n, const char *k) {
    return props(x, n, k, x->c->kafka.producer, &x->c->kafka.nproducer);
}
static const config_keydef kafka_keys[] = {{"brokers", k_brokers},
                                           {"group_id", k_group},
                                           {"consumer", k_consumer},
                                           {"producer", k_producer}};

static int k_orders(config_ctx *x, const yaml_node_t *n, const char *k) {
    config *c = x->c;
    for (size_t i = 0; i < c->topics.norders; i++) {
        free(c->topics.orders[i]);
        c->topics.orders[i] = NULL;
    }
    c->topics.norders = 0;
    if (n->type == YAML_SCALAR_NODE)
        return config_yaml_set_str(x, n, k, &c->topics.orders[c->topics.norders++], true);
    if (n->type != YAML_SEQUENCE_NODE)
        return config_yaml_fail(x, n, k, "expected a topic name or a list of topic names");
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        if (c->topics.norders == CONFIG_MAX_TOPICS)
            return config_yaml_fail(x, n, k, "more than %d topics", CONFIG_MAX_TOPICS);
        if (config_yaml_set_str(x, yaml_document_get_node(x->doc, *i), k,
                                &c->topics.orders[c->topics.norders++], true))
            return -1;
    }
    if (!c->topics.norders)
        return config_yaml_fail(x, n, k, "at least one topic is needed");
    return 0;
}
static int k_segtopic(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_str(x, n, k, &x->c->topics.segments, true);
}
static int k_dlq(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_str(x, n, k, &x->c->topics.dead_letter, true);
}
static const config_keydef topic_keys[] = {
    {"orders", k_orders}, {"segments", k_segtopic}, {"dead_letter", k_dlq}};

static int k_partitioner(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const names[] = {"murmur2_random", "consistent_random", "trust"};
    static const config_partitioner modes[] = {
        CONFIG_PARTITIONER_MURMUR2, CONFIG_PARTITIONER_CONSISTENT, CONFIG_PARTITIONER_TRUST};
    size_t i;
    if (config_yaml_choose(x, n, k, names, COUNT(names), &i))
        return -1;
    x->c->input.partitioner = modes[i];
    return 0;
}
static int k_repartition(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const names[] = {"true", "false"};
    size_t i;
    if (config_yaml_choose(x, n, k, names, COUNT(names), &i))
        return -1;
    x->c->input.repartition = i == 0;
    x->repartition_node = n;
    return 0;
}
static int k_repartition_topic(config_ctx *x, const yaml_node_t *n, const char *k) {
    x->repartition_topic_given = true;
    return config_yaml_set_str(x, n, k, &x->c->input.repartition_topic, true);
}
static const config_keydef input_keys[] = {{"partitioner", k_partitioner},
                                           {"repartition", k_repartition},
                                           {"repartition_topic", k_repartition_topic}};

static int k_guarantee(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const names[] = {"at_least_once", "exactly_once"};
    size_t i;
    if (config_yaml_choose(x, n, k, names, COUNT(names), &i))
        return -1;
    x->c->processing.guarantee = i == 0 ? CONFIG_AT_LEAST_ONCE : CONFIG_EXACTLY_ONCE;
    x->guarantee_node = n;
    return 0;
}
static const config_keydef processing_keys[] = {{"guarantee", k_guarantee}};

static int k_cl_enabled(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const names[] = {"true", "false"};
    size_t i;
    if (config_yaml_choose(x, n, k, names, COUNT(names), &i))
        return -1;
    x->c->changelog.enabled = i == 0;
    return 0;
}
static int k_cl_topic(config_ctx *x, const yaml_node_t *n, const char *k) {
    x->changelog_topic_given = true;
    return config_yaml_set_str(x, n, k, &x->c->changelog.topic, true);
}
static int k_cl_topic_config(config_ctx *x, const yaml_node_t *n, const char *k) {
    if (n->type == YAML_MAPPING_NODE)
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            const yaml_node_t *key = yaml_document_get_node(x->doc, p->key);
            const char *name = config_yaml_scalar(key);
            if (name && !strcmp(name, "cleanup.policy"))
                return config_yaml_fail(x, key, "changelog.topic_config.cleanup.policy",
                                        "not settable: a changelog is always compacted "
                                        "(cleanup.policy=compact)");
        }
    return props(x, n, k, x->c->changelog.topic_config, &x->c->changelog.ntopic_config);
}
static const config_keydef changelog_keys[] = {
    {"enabled", k_cl_enabled}, {"topic", k_cl_topic}, {"topic_config", k_cl_topic_config}};

static int k_bp_scope(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const names[] = {"auto", "local", "group"};
    static const config_bp_scope scopes[] = {CONFIG_BP_AUTO, CONFIG_BP_LOCAL, CONFIG_BP_GROUP};
    size_t i;
    if (config_yaml_choose(x, n, k, names, COUNT(names), &i))
        return -1;
    x->c->breakpoints.scope = scopes[i];
    x->bp_scope_node = n;
    return 0;
}
static int k_bp_topic(config_ctx *x, const yaml_node_t *n, const char *k) {
    x->bp_topic_given = true;
    return config_yaml_set_str(x, n, k, &x->c->breakpoints.topic, true);
}
static int k_bp_control_topic(config_ctx *x, const yaml_node_t *n, const char *k) {
    x->bp_control_topic_given = true;
    return config_yaml_set_str(x, n, k, &x->c->breakpoints.control_topic, true);
}
static int k_bp_round_timeout(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_duration(x, n, k, &x->c->breakpoints.round_timeout_ms);
}
static const config_keydef breakpoints_keys[] = {{"scope", k_bp_scope},
                                                 {"topic", k_bp_topic},
                                                 {"control_topic", k_bp_control_topic},
                                                 {"round_timeout", k_bp_round_timeout}};

/* fields.* are const char * in event_fields but owned here (see config_free). */
static int set_field(config_ctx *x, const yaml_node_t *n, const char *k, const char **dst) {
    char *v = NULL;
    if (config_yaml_set_str(x, n, k, &v, true))
        return -1;
    free((char *)*dst);
    *dst = v;
    return 0;
}
#define FIELD(nm)                                                                                  \
    static int k_f_##nm(config_ctx *x, const yaml_node_t *n, const char *k) {                      \
        return set_field(x, n, k, &x->c->fields.nm);                                               \
    }
FIELD(order_id)
FIELD(customer_id)
FIELD(ts)
FIELD(amount)
FIELD(currency)
FIELD(channel)
FIELD(categories)
static const config_keydef field_keys[] = {
    {"order_id", k_f_order_id},    {"customer_id", k_f_customer_id}, {"ts", k_f_ts},
    {"amount", k_f_amount},        {"currency", k_f_currency},       {"channel", k_f_channel},
    {"categories", k_f_categories}};

static int k_maxmsg(config_ctx *x, const yaml_node_t *n, const char *k) {
    const char *v;
    long long sz;
    if (config_yaml_want_scalar(x, n, k, &v))
        return -1;
    if (parse_size(v, &sz) || sz < 64 || sz > 64 * 1024 * 1024)
        return config_yaml_fail(x, n, k,
                                "must be a size from 64 bytes to 64MiB (e.g. 65536, 64KiB, 1MiB), "
                                "got \"%s\"",
                                v);
    x->c->max_message_bytes = (size_t)sz;
    return 0;
}
static const config_keydef limit_keys[] = {{"max_message_bytes", k_maxmsg}};

static int k_bins(config_ctx *x, const yaml_node_t *n, const char *k) {
    long long v = 0;
    if (config_yaml_set_int(x, n, k, 2, SCORE_BINS_MAX, &v))
        return -1;
    x->c->scoring.bins = (int)v;
    x->bins_node = n;
    return 0;
}
static int k_tie(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const names[] = {"customer_id", "first_order"};
    static const score_tie_break modes[] = {SCORE_TIE_CUSTOMER_ID, SCORE_TIE_FIRST_ORDER};
    size_t i;
    if (config_yaml_choose(x, n, k, names, COUNT(names), &i))
        return -1;
    x->c->scoring.tie_break = modes[i];
    return 0;
}
static int k_clock(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const names[] = {"event", "wall"};
    static const score_clock clocks[] = {SCORE_CLOCK_EVENT, SCORE_CLOCK_WALL};
    size_t i;
    if (config_yaml_choose(x, n, k, names, COUNT(names), &i))
        return -1;
    x->c->scoring.clock = clocks[i];
    return 0;
}
static int k_offset(config_ctx *x, const yaml_node_t *n, const char *k) {
    long long v = 0;
    if (config_yaml_set_int(x, n, k, 0, 3650, &v))
        return -1;
    x->c->scoring.as_of_offset_days = (int)v;
    return 0;
}
static const config_keydef scoring_keys[] = {
    {"bins", k_bins}, {"tie_break", k_tie}, {"clock", k_clock}, {"as_of_offset_days", k_offset}};

static int k_rescore_iv(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_duration(x, n, k, &x->c->rescore.interval_ms);
}
static const config_keydef rescore_keys[] = {{"interval", k_rescore_iv}};

static int k_snapdir(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_str(x, n, k, &x->c->snapshot.dir, true);
}
static int k_snapiv(config_ctx *x, const yaml_node_t *n, const char *k) {
    return config_yaml_set_duration(x, n, k, &x->c->snapshot.interval_ms);
}
static int k_keep(config_ctx *x, const yaml_node_t *n, const char *k) {
    long long v = 0;
    if (config_yaml_set_int(x, n, k, 1, 100, &v))
        return -1;
    x->c->snapshot.keep = (int)v;
    return 0;
}
static const config_keydef snapshot_keys[] = {
    {"dir", k_snapdir}, {"interval", k_snapiv}, {"keep", k_keep}};

static int k_listen(config_ctx *x, const yaml_node_t *n, const char *k) {
    const char *v;
    if (config_yaml_want_scalar(x, n, k, &v))
        return -1;
    if (!strcmp(v, "off"))
        v = ""; /* the same as "" */
    if (*v) {
        const char *colon = strrchr(v, ':');
        long long port;
        if (!colon || colon == v || config_yaml_parse_int(colon + 1, 0, 65535, &port))
            return config_yaml_fail(
                x, n, k,
                "must be \"host:port\" (port 0-65535, 0: any free port) or \"\" / "
                "off to disable, got \"%s\"",
                v);
    }
    if (*v)
        return config_yaml_set_str(x, n, k, &x->c->http.listen, false);
    char *empty = strdup("");
    if (!empty)
        return config_yaml_fail(x, n, k, "out of memory");
    free(x->c->http.listen);
    x->c->http.listen = empty;
    return 0;
}
static const config_keydef http_keys[] = {{"listen", k_listen}};

static int k_level(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const levels[] = {"debug", "info", "notice", "warning", "error"};
    size_t i;
    if (config_yaml_choose(x, n, k, levels, COUNT(levels), &i))
        return -1;
    return config_yaml_set_str(x, n, k, &x->c->log.level, true);
}
static int k_format(config_ctx *x, const yaml_node_t *n, const char *k) {
    static const char *const formats[] = {"auto", "journal", "text"};
    size_t i;
    if (config_yaml_choose(x, n, k, formats, COUNT(formats), &i))
        return -1;
    return config_yaml_set_str(x, n, k, &x->c->log.format, true);
}
static const config_keydef log_keys[] = {{"level", k_level}, {"format", k_format}};

/* A section's own handler walks its table; "kafka:" with nothing after it
 * keeps the defaults. */
#define SECTION(nm, tbl)                                                                           \
    static int k_##nm(config_ctx *x, const yaml_node_t *n, const char *k) {                        \
        if (n->type == YAML_SCALAR_NODE && !*config_yaml_scalar(n))                                \
            return 0;                                                                              \
        return config_yaml_walk(x, n, k, tbl, COUNT(tbl));                                         \
    }
SECTION(kafka, kafka_keys)
SECTION(topics, topic_keys)
SECTION(input, input_keys)
SECTION(processing, processing_keys)
SECTION(changelog, changelog_keys)
SECTION(breakpoints, breakpoints_keys)
SECTION(fields, field_keys)
SECTION(limits, limit_keys)
SECTION(scoring, scoring_keys)
SECTION(rescore, rescore_keys)
SECTION(snapshot, snapshot_keys)
SECTION(http, http_keys)
SECTION(log, log_keys)

static int k_segments(config_ctx *x, const yaml_node_t *n, const char *k) {
    if (n->type != YAML_SEQUENCE_NODE)
        return config_yaml_fail(x, n, k, "expected a list of {pattern, name} rules, got %s",
                                config_yaml_type_name(n));
    x->segments = n;
    return 0;
}

static const config_keydef top_keys[] = {{"kafka", k_kafka},
                                         {"topics", k_topics},
                                         {"input", k_input},
                                         {"processing", k_processing},
                                         {"changelog", k_changelog},
                                         {"breakpoints", k_breakpoints},
                                         {"fields", k_fields},
                                         {"limits", k_limits},
                                         {"scoring", k_scoring},
                                         {"rescore", k_rescore},
                                         {"snapshot", k_snapshot},
                                         {"http", k_http},
                                         {"log", k_log},
                                         {"segments", k_segments}};

/* The segment rules remembered by k_segments, or the default map, compiled
 * for the final scoring.bins. */
static int compile_segments(config_ctx *x) {
    segment_map *m = &x->c->segments;
    int bins = x->c->scoring.bins;
    if (!x->segments) {
        segment_map_default(m, bins);
        if (bins != 5)
            return config_yaml_fail(x, x->bins_node, "scoring.bins",
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
            return config_yaml_fail(x, r, key, "expected {pattern: ..., name: ...}, got %s",
                                    config_yaml_type_name(r));
        const char *pattern = NULL, *name = NULL;
        const yaml_node_t *pnode = r;
        for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top;
             p++) {
            const yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
            const yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
            const char *kname = config_yaml_scalar(kn);
            char full[96];
            snprintf(full, sizeof full, "%s.%s", key, kname ? kname : "?");
            const char **dst = kname && !strcmp(kname, "pattern") ? &pattern
                               : kname && !strcmp(kname, "name")  ? &name
                                                                  : NULL;
            if (!dst)
                return config_yaml_fail(x, kn, full,
                                        "unknown key (a rule has 'pattern' and 'name')");
            if (*dst)
                return config_yaml_fail(x, kn, full, "duplicate key");
            if (config_yaml_want_scalar(x, vn, full, dst))
                return -1;
            if (dst == &pattern)
                pnode = vn;
        }
        if (!pattern || !name)
            return config_yaml_fail(x, r, key, "a rule needs both 'pattern' and 'name'");
        if (!*name || strlen(name) > SEGMENT_NAME_MAX)
            return config_yaml_fail(x, r, key, "name must be 1..%d characters", SEGMENT_NAME_MAX);
        char why[256];
        if (segment_map_add(m, pattern, name, why, sizeof why))
            return config_yaml_fail(x, pnode, key, "%s", why);
    }
    if (!m->nrules)
        return config_yaml_fail(x, seq, "segments", "at least one rule is needed");
    return 0;
}

/* A topic name not given: "<kafka.group_id><suffix>" into *dst, once the
 * group is final whatever the key order. */
static int default_group_topic(config_ctx *x, bool given, const char *key, const char *suffix,
                               char **dst) {
    config *c = x->c;
    if (given)
        return 0;
    size_t len = strlen(c->kafka.group_id) + strlen(suffix) + 1;
    char *t = malloc(len);
    if (!t)
        return config_yaml_fail(x, NULL, key, "out of memory");
    snprintf(t, len, "%s%s", c->kafka.group_id, suffix);
    free(*dst);
    *dst = t;
    return 0;
}

/* input.repartition's requirements (contract §13.3). */
static int check_repartition(config_ctx *x) {
    const config *c = x->c;
    if (!c->input.repartition)
        return 0;
    if (c->input.partitioner == CONFIG_PARTITIONER_TRUST)
        return config_yaml_fail(x, x->repartition_node, "input.repartition",
                                "needs input.partitioner murmur2_random or consistent_random (the "
                                "partitioner that places orders on the repartition topic)");
    for (size_t i = 0; i < c->topics.norders; i++)
        if (!strcmp(c->topics.orders[i], c->input.repartition_topic))
            return config_yaml_fail(x, x->repartition_node, "input.repartition_topic",
                                    "%s is also a topics.orders topic", c->topics.orders[i]);
    const char *others[] = {c->topics.segments, c->topics.dead_letter,
                            c->changelog.enabled ? c->changelog.topic : NULL};
    for (size_t i = 0; i < COUNT(others); i++)
        if (others[i] && !strcmp(others[i], c->input.repartition_topic))
            return config_yaml_fail(x, x->repartition_node, "input.repartition_topic",
                                    "%s is already another topic of rfmd's", others[i]);
    return 0;
}

/* breakpoints.scope resolved, and its needs (contract §9.2). */
static int check_breakpoints(config_ctx *x) {
    config *c = x->c;
    if (c->breakpoints.scope == CONFIG_BP_AUTO)
        c->breakpoints.scope = c->changelog.enabled ? CONFIG_BP_GROUP : CONFIG_BP_LOCAL;
    if (c->breakpoints.scope != CONFIG_BP_GROUP)
        return 0;
    /* Without the changelog a moved partition's state is partial: rounds
     * over it would be exact about the wrong customers. */
    if (!c->changelog.enabled)
        return config_yaml_fail(x, x->bp_scope_node, "breakpoints.scope",
                                "group needs changelog.enabled: true");
    if (!strcmp(c->breakpoints.topic, c->breakpoints.control_topic))
        return config_yaml_fail(x, NULL, "breakpoints.topic",
                                "%s is also breakpoints.control_topic", c->breakpoints.topic);
    const char *bp[] = {c->breakpoints.topic, c->breakpoints.control_topic};
    const char *others[] = {c->topics.segments, c->topics.dead_letter, c->changelog.topic,
                            c->input.repartition ? c->input.repartition_topic : NULL};
    for (size_t i = 0; i < COUNT(bp); i++) {
        for (size_t j = 0; j < COUNT(others); j++)
            if (others[j] && !strcmp(others[j], bp[i]))
                return config_yaml_fail(x, NULL,
                                        i ? "breakpoints.control_topic" : "breakpoints.topic",
                                        "%s is already another topic of rfmd's", bp[i]);
        for (size_t j = 0; j < c->topics.norders; j++)
            if (!strcmp(c->topics.orders[j], bp[i]))
                return config_yaml_fail(x, NULL,
                                        i ? "breakpoints.control_topic" : "breakpoints.topic",
                                        "%s is also a topics.orders topic", bp[i]);
    }
    if (c->breakpoints.round_timeout_ms < 100)
        return config_yaml_fail(x, NULL, "breakpoints.round_timeout", "must be at least 100ms");
    return 0;
}

int config_keys_apply(config_ctx *x, const yaml_node_t *root) {
    /* No document or an empty one: all defaults. */
    if (root && !(root->type == YAML_SCALAR_NODE && !*config_yaml_scalar(root)) &&
        config_yaml_walk(x, root, "", top_keys, COUNT(top_keys)))
        return -1;
    if (default_group_topic(x, x->changelog_topic_given, "changelog.topic", "-changelog",
                            &x->c->changelog.topic) ||
        default_group_topic(x, x->repartition_topic_given, "input.repartition_topic",
                            "-repartition", &x->c->input.repartition_topic) ||
        default_group_topic(x, x->bp_topic_given, "breakpoints.topic", "-breakpoints",
                            &x->c->breakpoints.topic) ||
        default_group_topic(x, x->bp_control_topic_given, "breakpoints.control_topic", "-control",
                            &x->c->breakpoints.control_topic) ||
        check_repartition(x) || check_breakpoints(x))
        return -1;
    /* A changelog record carries its input offset, not its topic: a restore
     * can tell the position of one orders topic only. With input.repartition
     * the state's input is the repartition topic alone, whatever feeds it. */
    if (x->c->changelog.enabled && !x->c->input.repartition && x->c->topics.norders != 1)
        return config_yaml_fail(x, NULL, "changelog.enabled",
                                "needs exactly one topics.orders topic (%zu given)",
                                x->c->topics.norders);
    /* Exactly-once state across a crash is the changelog's committed
     * records: without them a restart would redo orders a committed
     * transaction already published. */
    if (x->c->processing.guarantee == CONFIG_EXACTLY_ONCE && !x->c->changelog.enabled)
        return config_yaml_fail(x, x->guarantee_node, "processing.guarantee",
                                "exactly_once needs changelog.enabled: true");
    if (x->c->processing.guarantee == CONFIG_EXACTLY_ONCE &&
        !strcmp(x->c->kafka.brokers, "embedded"))
        return config_yaml_fail(x, x->guarantee_node, "processing.guarantee",
                                "exactly_once needs a real Kafka cluster (2.5 or later): the "
                                "embedded one has no transactions; use at_least_once");
    return compile_segments(x);
}
