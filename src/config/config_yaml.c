/*
 * config_yaml — the YAML side of config loading: node helpers that check one
 * value's type and range and store it, and the table-driven walk of a
 * mapping (the tables themselves, one per section, are config_keys.c).
 *
 * Every error goes through config_yaml_fail, so each message has the one
 * form "file:line:column: dotted.key: problem" that config.h promises; the
 * helpers return -1 after it and the walk stops at the first.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "util/errbuf.h"

int config_yaml_fail(config_ctx *x, const yaml_node_t *n, const char *key, const char *fmt, ...) {
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

const char *config_yaml_scalar(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

const char *config_yaml_type_name(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

int config_yaml_want_scalar(config_ctx *x, const yaml_node_t *n, const char *key,
                            const char **out) {
    *out = config_yaml_scalar(n);
    if (!*out)
        return config_yaml_fail(x, n, key, "expected a single value, got %s",
                                config_yaml_type_name(n));
    return 0;
}

int config_yaml_set_str(config_ctx *x, const yaml_node_t *n, const char *key, char **dst,
                        bool nonempty) {
    const char *v;
    if (config_yaml_want_scalar(x, n, key, &v))
        return -1;
    if (nonempty && !*v)
        return config_yaml_fail(x, n, key, "must not be empty");
    if (strlen(v) > 4096)
        return config_yaml_fail(x, n, key, "longer than 4096 bytes");
    char *d = strdup(v);
    if (!d)
        return config_yaml_fail(x, n, key, "out of memory");
    free(*dst);
    *dst = d;
    return 0;
}

int config_yaml_parse_int(const char *v, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long r = strtoll(v, &end, 10);
    if (!*v || *end || errno || r < lo || r > hi)
        return -1;
    *out = r;
    return 0;
}

int config_yaml_set_int(config_ctx *x, const yaml_node_t *n, const char *key, long long lo,
                        long long hi, long long *out) {
    const char *v;
    if (config_yaml_want_scalar(x, n, key, &v))
        return -1;
    if (config_yaml_parse_int(v, lo, hi, out))
        return config_yaml_fail(x, n, key, "must be an integer from %lld to %lld, got \"%s\"", lo,
                                hi, v);
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

int config_yaml_set_duration(config_ctx *x, const yaml_node_t *n, const char *key, int64_t *out) {
    const char *v;
    if (config_yaml_want_scalar(x, n, key, &v))
        return -1;
    if (config_parse_duration(v, out))
        return config_yaml_fail(x, n, key,
                                "\"%s\" is not a positive duration: a number with a unit, "
                                "e.g. 500ms, 2s, 5m, 1h, 1d",
                                v);
    return 0;
}

/* Levenshtein distance, for "did you mean"; 99 for names too long to care. */
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

/* Keys are matched by a linear scan: tables have at most a dozen keys. */
int config_yaml_walk(config_ctx *x, const yaml_node_t *map, const char *prefix,
                     const config_keydef *defs, size_t ndefs) {
    if (map->type != YAML_MAPPING_NODE)
        return config_yaml_fail(x, map, *prefix ? prefix : "(top level)",
                                "expected a mapping of keys, got %s", config_yaml_type_name(map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *name = config_yaml_scalar(k);
        if (!name)
            return config_yaml_fail(x, k, *prefix ? prefix : "(top level)",
                                    "keys must be plain names");
        char full[256];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", name);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *prev = config_yaml_scalar(yaml_document_get_node(x->doc, q->key));
            if (prev && !strcmp(prev, name))
                return config_yaml_fail(x, k, full, "duplicate key (first given at line %zu)",
                                        yaml_document_get_node(x->doc, q->key)->start_mark.line +
                                            1);
        }
        const config_keydef *d = NULL;
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
                return config_yaml_fail(x, k, full, "unknown key (did you mean '%s'?)", best);
            return config_yaml_fail(x, k, full, "unknown key");
        }
        if (d->fn(x, v, full))
            return -1;
    }
    return 0;
}

int config_yaml_choose(config_ctx *x, const yaml_node_t *n, const char *key,
                       const char *const *names, size_t count, size_t *idx) {
    const char *v;
    if (config_yaml_want_scalar(x, n, key, &v))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (!strcmp(v, names[i])) {
            *idx = i;
            return 0;
        }
    /* "a, b or c", from the table itself so the message cannot drift. */
    char list[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < count && len < sizeof list; i++) {
        const char *sep = i == 0 ? "" : i + 1 < count ? ", " : " or ";
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", sep, names[i]);
    }
    return config_yaml_fail(x, n, key, "must be %s, got \"%s\"", list, v);
}
