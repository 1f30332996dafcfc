/*
 * config — rfmd.yaml (SPEC §7), parsed with libyaml.
 *
 * Strict: unknown keys, wrong types, bad durations and out-of-range values are
 * errors naming file:line:column and the dotted key, and nothing is half
 * applied. conf/rfmd.yaml documents every key with its default.
 */
#ifndef RFM_CONFIG_H
#define RFM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/event.h"
#include "rfm/score.h"
#include "rfm/segment.h"

#define CONFIG_MAX_TOPICS     16
#define CONFIG_MAX_PROPS      64
#define CONFIG_MAX_FILE_BYTES (1024 * 1024)

/* input.partitioner: how producers map a customer to an input partition,
 * which rfmd checks every order against (docs/contract.md §3.1, §13.2). */
typedef enum config_partitioner {
    CONFIG_PARTITIONER_TRUST = 0,  /* no check: the default (see config.c) */
    CONFIG_PARTITIONER_MURMUR2,    /* murmur2_random: Java clients, rfm-replay */
    CONFIG_PARTITIONER_CONSISTENT, /* consistent_random: librdkafka's CRC32 */
} config_partitioner;

/* processing.guarantee (docs/contract.md §13.3b). */
typedef enum config_guarantee {
    CONFIG_AT_LEAST_ONCE = 0, /* the default: works with every cluster */
    CONFIG_EXACTLY_ONCE,      /* transactions (Kafka >= 2.5); needs the changelog */
} config_guarantee;

/* The input.partitioner spelling of p ("trust", "murmur2_random",
 * "consistent_random"), for logs and messages. */
const char *config_partitioner_name(config_partitioner p);

/* breakpoints.scope (docs/contract.md §9.2): whose customers the quintile
 * edges are computed over. */
typedef enum config_bp_scope {
    CONFIG_BP_AUTO = 0, /* group with changelog.enabled, else local (resolved after the walk) */
    CONFIG_BP_LOCAL,    /* this process's own partitions */
    CONFIG_BP_GROUP,    /* the whole consumer group, agreed in rounds through Kafka */
} config_bp_scope;

/* The processing.guarantee spelling of g, for logs and messages. */
const char *config_guarantee_name(config_guarantee g);

typedef struct config_prop {
    char *key, *value;
} config_prop;

typedef struct config {
    char *path; /* file it was read from, NULL for defaults */

    struct {
        char *brokers; /* "embedded" = in-process mock cluster */
        char *group_id;
        config_prop consumer[CONFIG_MAX_PROPS];
        size_t nconsumer;
        config_prop producer[CONFIG_MAX_PROPS];
        size_t nproducer;
    } kafka;

    struct {
        char *orders[CONFIG_MAX_TOPICS];
        size_t norders;
        char *segments;
        char *dead_letter;
    } topics;

    struct {
        config_partitioner partitioner;
        /* input.repartition: valid orders are re-produced keyed by customer
         * to `repartition_topic` (default "<kafka.group_id>-repartition", set
         * after the walk) and the state is built from that topic (contract
         * §3.1, §13.3). Needs a partitioner other than trust. */
        bool repartition;
        char *repartition_topic;
    } input;

    /* processing.*: what a crash or a moved partition may repeat (§8.4). */
    struct {
        config_guarantee guarantee;
    } processing;

    /* changelog.*: the compacted per-customer changelog topic (contract §9.1). */
    struct {
        bool enabled; /* default false: one rfmd alone restores from checkpoints */
        char *topic;  /* default "<kafka.group_id>-changelog", set after the walk */
        /* changelog.topic_config: Kafka topic configs for a changelog rfmd
         * creates (never applied to one that exists), over rfmd's own
         * defaults (changelog_topic.h); cleanup.policy is not among them:
         * it is always compact. */
        config_prop topic_config[CONFIG_MAX_PROPS];
        size_t ntopic_config;
    } changelog;

    /* breakpoints.*: one set of breakpoints for the whole group (§9.2). */
    struct {
        config_bp_scope scope; /* never AUTO after config_load */
        char *topic;           /* default "<kafka.group_id>-breakpoints" */
        char *control_topic;   /* default "<kafka.group_id>-control" */
        int64_t round_timeout_ms;
    } breakpoints;

    event_fields fields; /* strings owned by the config */
    size_t max_message_bytes;

    score_settings scoring;
    segment_map segments;

    struct {
        int64_t interval_ms;
    } rescore;

    struct {
        char *dir;
        int64_t interval_ms;
        int keep;
    } snapshot;

    struct {
        char *listen; /* "" = disabled */
    } http;

    struct {
        char *level;  /* debug|info|notice|warning|error */
        char *format; /* auto|journal|text */
    } log;
} config;

/* The topics whose partitions are the daemon's tasks (the stores, the
 * changelog's partitions, the checkpoints, the keying check): the
 * repartition topic with input.repartition, else topics.orders. *out points
 * into c; returns how many (1 with repartition). */
size_t config_state_topics(const config *c, char *const **out);

/* topic is one of config_state_topics'. */
bool config_is_state_topic(const config *c, const char *topic);

/* The value of property `key` in props[0..n) (kafka.consumer,
 * kafka.producer, changelog.topic_config), or NULL when it is not set. */
const char *config_prop_get(const config_prop *props, size_t n, const char *key);

/* Defaults of SPEC §7 (all strings allocated). */
int config_defaults(config *c);

/* Load a file over the defaults into *c, which is overwritten, not freed:
 * free a config loaded earlier yourself (a reload loads into a second struct
 * and swaps only on success). On error returns -1, leaves *c zeroed (safe to
 * config_free) and writes "file:line:col: key: problem" into err. */
int config_load(config *c, const char *path, char *err, size_t errlen);

/* Same from a buffer; `name` stands in for the file name in messages. */
int config_load_string(config *c, const char *name, const char *yaml, size_t len, char *err,
                       size_t errlen);

void config_free(config *c);

/* "500ms", "2s", "5m", "1h", "1d"; returns 0 or -1. */
int config_parse_duration(const char *s, int64_t *ms);

#endif
