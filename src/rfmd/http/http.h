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
 * values, the engine's stores and breakpoints, and the counters' own
 * Kafka-free structs. So the handlers can be tested with a status filled
 * by hand (tests/test_http_api.c, tests/test_http_group.c).
 *
 * State is one store per owned input partition that is running (a set, as
 * score.h's _set functions score it): /customers/{id} looks in the store of
 * the id's partition (or in all of them when the partition cannot be told),
 * /segments and /metrics sum over the set, and the bodies say which
 * partitions they cover, so a client of several instances of one group can
 * tell which one answers for a customer.
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

/* What an owned input partition is doing (GET /partitions "state"). */
typedef enum http_partition_state {
    HTTP_PARTITION_RUNNING = 0, /* consuming and applying orders; its store is in
                                   http_status.stores */
    HTTP_PARTITION_RESTORING,   /* its state is being rebuilt on assignment (the
                                   changelog restore): no store listed yet */
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
    int64_t customers;      /* customers in the partition's state; -1 unknown */
    /* HTTP_PARTITION_RESTORING only (ignored otherwise): the changelog
     * offsets, the next to read and the end to reach (-1 unknown), and the
     * records applied so far. */
    int64_t restore_position, restore_end;
    uint64_t restored_records;
} http_partition;

/* One owned partition for GET /partitions. */
typedef void (*http_partitions_emit_fn)(void *emit_ctx, const http_partition *p);
/* Calls emit for each owned input partition, in any order (the handler
 * sorts them). */
typedef void (*http_partitions_fn)(void *ctx, http_partitions_emit_fn emit, void *emit_ctx);

/* One owned input partition's store (running partitions only: a partition
 * still being restored is not listed here). */
typedef struct http_store {
    int32_t partition;
    store *store;
} http_store;

/* The group's breakpoints round (breakpoints.scope: group), for
 * /breakpoints and /metrics: the last applied record and this member's
 * counters. */
typedef struct http_round {
    uint64_t member;         /* this instance's member id */
    bool is_coordinator;     /* owns input partition 0 */
    bool holding;            /* input held for a round now */
    uint64_t active_version; /* the coordinator's round in progress, 0 none */
    uint32_t active_attempt;
    /* The last applied record (version 0: none yet). */
    uint64_t version;
    uint32_t attempt;
    uint64_t coordinator;
    int32_t partitions;
    const int64_t *offsets; /* [partitions] */
    unsigned members, requests;
    uint64_t bytes;
    int64_t duration_ms;
    int64_t begun_wall_ms;
    /* Counters of this instance. */
    uint64_t rounds, attempts, restarted, requests_total, bytes_sent, bytes_received, applied,
        summaries;
    int64_t last_duration_ms; /* -1: this instance finished none */
    int64_t hold_ms_total;
} http_round;

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
    /* State and scoring. The stores are not const: a lookup may migrate
     * index slots (store.h's incremental rehash). */
    const http_store *stores; /* owned partitions' stores, any order */
    size_t nstores;
    /* The input partition a customer id belongs to under input.partitioner,
     * with the partition count in *count; -1 when it cannot be told
     * (input.partitioner trust, or the count is not known). NULL: never. */
    int32_t (*home)(void *ctx, const char *id, size_t len, int32_t *count);
    void *home_ctx;
    const score_breakpoints *bp;   /* version 0 before the first rescore */
    const score_settings *scoring; /* the as_of before the first rescore */
    const segment_map *segments;
    const http_round *round; /* NULL: breakpoints.scope local */
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
