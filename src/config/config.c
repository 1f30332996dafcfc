/*
 * config — rfmd.yaml (contract in include/rfm/config.h, every key documented
 * in conf/rfmd.yaml): the defaults, loading a file, freeing.
 *
 * The file is loaded as a libyaml document, so every node carries its mark;
 * the walk over it is table-driven: config_yaml.c holds the walk and the
 * value helpers, config_keys.c the tables, one list of keys per section with
 * a handler that checks type and range and writes one field. Loading goes
 * into a fresh config seeded with the defaults and replaces the caller's
 * only when the whole file was accepted, so a bad file never leaves a
 * half-applied configuration (this is what makes a SIGHUP reload safe).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_internal.h"
#include "rfm/config.h"

/* strdup that clears *ok on failure, so the defaults check once at the end. */
static char *dup_or_fail(const char *s, bool *ok) {
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

const char *config_partitioner_name(config_partitioner p) {
    switch (p) {
    case CONFIG_PARTITIONER_MURMUR2:
        return "murmur2_random";
    case CONFIG_PARTITIONER_CONSISTENT:
        return "consistent_random";
    case CONFIG_PARTITIONER_TRUST:
    default:
        return "trust";
    }
}

const char *config_guarantee_name(config_guarantee g) {
    return g == CONFIG_EXACTLY_ONCE ? "exactly_once" : "at_least_once";
}

size_t config_state_topics(const config *c, char *const **out) {
    if (c->input.repartition) {
        *out = &c->input.repartition_topic;
        return 1;
    }
    *out = c->topics.orders;
    return c->topics.norders;
}

const char *config_prop_get(const config_prop *props, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(props[i].key, key))
            return props[i].value;
    return NULL;
}

bool config_is_state_topic(const config *c, const char *topic) {
    char *const *t;
    size_t n = config_state_topics(c, &t);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i], topic))
            return true;
    return false;
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
    /* No keying check by default: rfmd cannot know its producers'
     * partitioner, and either hash would dead-letter the correctly keyed
     * orders of the other (librdkafka/kcat producers use CRC32, Java ones and
     * rfm-replay murmur2), as well as unkeyed ones, for users who run one
     * rfmd, where keying does not matter. Several rfmd in a group set it. */
    c->input.partitioner = CONFIG_PARTITIONER_TRUST;
    /* Off: mis-keyed orders are dead-lettered (wrong_partition) unless the
     * user opts into the extra topic (and its produced bytes). */
    c->input.repartition = false;
    c->input.repartition_topic = dup_or_fail("rfmd-repartition", &ok);
    /* Off: nothing restores from the changelog yet, so writing it costs
     * produced bytes only a user who wants the topic should pay. The topic
     * follows the group (config_keys_apply derives it from the final
     * kafka.group_id unless changelog.topic is given). */
    c->changelog.enabled = false;
    c->changelog.topic = dup_or_fail("rfmd-changelog", &ok);
    c->breakpoints.scope = CONFIG_BP_AUTO;
    c->breakpoints.topic = dup_or_fail("rfmd-breakpoints", &ok);
    c->breakpoints.control_topic = dup_or_fail("rfmd-control", &ok);
    c->breakpoints.round_timeout_ms = 10000;
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
    for (size_t i = 0; i < c->changelog.ntopic_config; i++) {
        free(c->changelog.topic_config[i].key);
        free(c->changelog.topic_config[i].value);
    }
    for (size_t i = 0; i < c->topics.norders; i++)
        free(c->topics.orders[i]);
    free(c->topics.segments);
    free(c->topics.dead_letter);
    free(c->changelog.topic);
    free(c->breakpoints.topic);
    free(c->breakpoints.control_topic);
    free(c->input.repartition_topic);
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

/* libyaml's own problem and its mark as "file:line:col: YAML syntax error: ...". */
static void syntax_error(const char *name, const yaml_parser_t *p, char *err, size_t errlen) {
    snprintf(err, errlen, "%s:%zu:%zu: YAML syntax error: %s%s%s", name, p->problem_mark.line + 1,
             p->problem_mark.column + 1, p->problem ? p->problem : "unreadable",
             p->context ? " " : "", p->context ? p->context : "");
}

/* yaml_parser_load reads one document and would silently ignore the rest of
 * the file: a second "---" document is refused like any key we do not know. */
static int only_one_document(config_ctx *x, yaml_parser_t *p) {
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
    config_ctx x = {.name = name, .err = err, .errlen = errlen, .c = &fresh};
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
    else
        rc = config_keys_apply(&x, root);
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
