/*
 * Shared by the three files of the config loader: config.c (defaults,
 * loading a file, freeing), config_yaml.c (the YAML node helpers and the
 * table walk) and config_keys.c (the key tables of each section).
 *
 * Handlers all have the config_handler shape so that a section is a plain
 * table of {name, handler}; each reports its own error through
 * config_yaml_fail and returns -1, and the walk stops at the first.
 */
#ifndef RFM_CONFIG_INTERNAL_H
#define RFM_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "rfm/config.h"

/* One load in progress: where messages go and what is being filled. */
typedef struct config_ctx {
    const char *name; /* the file name for messages */
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    config *c;                   /* the fresh config being filled */
    const yaml_node_t *segments; /* compiled after the walk */
    const yaml_node_t *bins_node;
    bool bp_topic_given, bp_control_topic_given; /* likewise */
    bool changelog_topic_given;          /* else derived from kafka.group_id after the walk */
    bool repartition_topic_given;        /* same, input.repartition_topic */
    const yaml_node_t *repartition_node; /* input.repartition, for a later check's line */
    const yaml_node_t *guarantee_node;   /* processing.guarantee, for a later check's line */
    const yaml_node_t *bp_scope_node;    /* breakpoints.scope, likewise */
} config_ctx;

/* Check the value n of the dotted key `key` and write it into x->c.
 * Returns 0, or -1 with the error written. */
typedef int (*config_handler)(config_ctx *x, const yaml_node_t *n, const char *key);

/* One key of a section's table. */
typedef struct config_keydef {
    const char *name;
    config_handler fn;
} config_keydef;

/* ---- config_yaml.c ---- */

/* Write "file:line:column: key: message" (the mark of n; without it when n
 * is NULL) into x->err. Returns -1, for `return config_yaml_fail(...)`. */
int config_yaml_fail(config_ctx *x, const yaml_node_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The text of a scalar node, or NULL for a mapping or a list. */
const char *config_yaml_scalar(const yaml_node_t *n);

/* "a mapping", "a list" or "a scalar", for messages. */
const char *config_yaml_type_name(const yaml_node_t *n);

/* The scalar text of n into *out, or an error when n is not a scalar. */
int config_yaml_want_scalar(config_ctx *x, const yaml_node_t *n, const char *key, const char **out);

/* A string value (at most 4096 bytes; not empty if nonempty) copied into
 * *dst, whose old value is freed. */
int config_yaml_set_str(config_ctx *x, const yaml_node_t *n, const char *key, char **dst,
                        bool nonempty);

/* A whole decimal string in [lo, hi] into *out; 0 or -1. No message. */
int config_yaml_parse_int(const char *v, long long lo, long long hi, long long *out);

/* An integer value in [lo, hi] into *out. */
int config_yaml_set_int(config_ctx *x, const yaml_node_t *n, const char *key, long long lo,
                        long long hi, long long *out);

/* A positive duration ("500ms", "2s", ...; see config_parse_duration). */
int config_yaml_set_duration(config_ctx *x, const yaml_node_t *n, const char *key, int64_t *out);

/* A value that must be one of names[0..count): its index into *idx, or the
 * error "must be a, b or c, got "v"". */
int config_yaml_choose(config_ctx *x, const yaml_node_t *n, const char *key,
                       const char *const *names, size_t count, size_t *idx);

/* Walk the mapping `map` (the section `prefix`, "" for the top level)
 * against a key table, calling each key's handler with the dotted key.
 * Unknown keys (with a did-you-mean for a near miss), duplicate keys and a
 * map that is not a mapping are errors. */
int config_yaml_walk(config_ctx *x, const yaml_node_t *map, const char *prefix,
                     const config_keydef *defs, size_t ndefs);

/* ---- config_keys.c ---- */

/* Apply a document's root (NULL or an empty scalar: nothing, all defaults)
 * to x->c through the top-level table, then compile the segment rules. */
int config_keys_apply(config_ctx *x, const yaml_node_t *root);

#endif
