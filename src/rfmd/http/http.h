/*
 * http — rfmd's read-only status endpoint on http.listen (libmicrohttpd).
 *
 *   GET /healthz          liveness: 200 while the loop runs, with "ready"
 *   GET /readyz           readiness: 200 once started and partitions were
 *                         assigned, 503 before
 *   GET /metrics          Prometheus text format 0.0.4
 *   GET /customers/{id}   one customer's state (id URL-decoded)
 *   GET /segments         per segment: customers and mean R, F, M
 *   GET /breakpoints      current breakpoints; 503 before the first rescore
 *   GET /partitions       the input partitions this instance owns: state,
 *                         offsets, lag (docs/contract.md §12)
 *
 * GET and HEAD only (405 with Allow otherwise); every error is a JSON
 * {"error": "..."} with its 4xx/5xx status.
 *
 * What the handlers show comes from one place: an http_status the daemon
 * fills in when a request arrives (http_status_fn). The HTTP layer knows
 * nothing of the daemon, Kafka or the modules behind those values: plain
 * values, the engine's store and breakpoints, and the counters' own
 * Kafka-free structs. So the handlers can be tested with a status filled
 * by hand (tests/test_http_api.c).
 *
 * rfmd is single-threaded by design (the store is not thread-safe), so the
 * server has no thread of its own: the daemon's loop (loop.h) waits on
 * http_fd together with everything else, and calls http_run, which serves
 * every request that is ready. Handlers therefore run between two input
 * messages and read the store with no locks; they do not block.
 */
#ifndef RFM_HTTP_H
#define RFM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"
#include "rfmd/pipeline_stats.h"
#include "rfmd/producer_stats.h"
#include "rfmd/saver_stats.h"

/* One assigned partition's consumer lag (for /metrics). */
typedef void (*http_lag_emit_fn)(void *emit_ctx, const char *topic, int32_t partition, int64_t lag);
/* Calls emit for each assigned partition whose lag is known. */
typedef void (*http_lag_fn)(void *ctx, http_lag_emit_fn emit, void *emit_ctx);

/* What an owned input partition is doing (GET /partitions "state"). Only
 * RUNNING exists in this version; a partition whose state is being restored
 * on assignment (issue 12's changelog restore) will be RESTORING, with its
 * progress in fields added to http_partition then. */
typedef enum http_partition_state {
    HTTP_PARTITION_RUNNING = 0, /* consuming and applying orders */
} http_partition_state;

/* One owned input partition (GET /partitions). Offsets are "next offset"
 * form (last offset + 1); -1 where unknown (shown as null). */
typedef struct http_partition {
    const char *topic; /* borrowed for the emit call only: copied if kept */
    int32_t partition;
    http_partition_state state;
    int64_t next_offset;    /* the next offset to apply: every message below it
                               is in the state */
    int64_t committed;      /* committed to the group by this instance */
    int64_t high_watermark; /* cached, as of the consumer's last fetch */
    int64_t lag;            /* as rfmd_consumer_lag_messages */
    bool caught_up;         /* reached its end once since it was assigned */
} http_partition;

/* One owned partition for GET /partitions. */
typedef void (*http_partitions_emit_fn)(void *emit_ctx, const http_partition *p);
/* Calls emit for each owned input partition, in any order (the handler
 * sorts them). */
typedef void (*http_partitions_fn)(void *ctx, http_partitions_emit_fn emit, void *emit_ctx);

/* Everything the endpoints show. Pointers are borrowed for one request. */
typedef struct http_status {
    /* The process. */
    const char *kafka_version; /* librdkafka's, for rfmd_build_info; NULL: "unknown" */
    int64_t started_ms;        /* monotonic, for the uptime */
    int64_t started_wall_ms;   /* epoch ms, for the start-time metric */
    bool ready;                /* started and partitions assigned once (/readyz) */
    bool caught_up;            /* every assigned partition was consumed to its end once */
    bool paused;               /* consumption paused by producer back-pressure */
    int partitions;            /* input partitions assigned now */
    const char *group_id;      /* kafka.group_id (/partitions); NULL: omitted */
    /* SIGHUP reloads. */
    uint64_t reloads_ok, reloads_failed;
    int64_t last_reload_ok_ms; /* epoch ms, 0 = never */
    /* State and scoring. The store is not const: a lookup may migrate index
     * slots (store.h's incremental rehash). */
    store *store;
    const score_breakpoints *bp;   /* version 0 before the first rescore */
    const score_settings *scoring; /* the as_of before the first rescore */
    const segment_map *segments;
    /* Counters. */
    const pipeline_stats *pipeline;
    const saver_stats *snapshot;
    producer_stats producer;
    size_t producer_queue; /* messages in the producer's queue, not yet delivered */
    size_t pending;        /* deliveries awaited before offsets can be committed */
    http_lag_fn lag;       /* NULL: no lag samples */
    void *lag_ctx;
    http_partitions_fn owned; /* NULL: /partitions lists none */
    void *owned_ctx;
} http_status;

/* Fill *st (zeroed by the caller) with the current values. */
typedef void (*http_status_fn)(void *ctx, http_status *st);

typedef struct http http;

/* Is this http.listen value "disabled" ("" or "off")? */
bool http_disabled(const char *listen);

/* Listen on "host:port" (IPv4, IPv6 as "[::1]:port", or a name; port 0 picks
 * a free port). NULL with a message in err when the address cannot be
 * bound. status(ctx, ...) is called for every request; ctx must outlive the
 * server. */
http *http_start(const char *listen, http_status_fn status, void *ctx, char *err, size_t errlen);
/* Close the listener and every connection (NULL: no-op). */
void http_stop(http *h);

/* The address actually bound, e.g. "127.0.0.1:9464". */
const char *http_address(const http *h);

/* The descriptor that turns readable when a connection needs service (the
 * server's epoll descriptor): the caller's wait includes it. */
int http_fd(const http *h);

/* How long the caller may wait (at most max_ms) before http_run is due for
 * the server's own timers (idle connections). */
int http_wait_ms(const http *h, int max_ms);

/* Serve every request that is ready; never blocks. */
void http_run(http *h);

#endif
