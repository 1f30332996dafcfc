/*
 * daemon — rfmd's lifecycle: start Kafka clients (or the embedded cluster),
 * run the consume/apply/publish loop with its timers (rescore, commit,
 * progress), and shut down cleanly on SIGTERM/SIGINT: stop consuming, final
 * rescore, flush the producer, commit, leave the group.
 *
 * The daemon struct is public so later subsystems (snapshots, HTTP metrics)
 * can reach the store, the tracker's per-partition offsets and the counters.
 *
 * SIGHUP re-reads the configuration file (reload.h); the HTTP server
 * (http.h) is served from this same loop, so its handlers read the store
 * without locks.
 */
#ifndef RFM_DAEMON_H
#define RFM_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "rfm/config.h"
#include "rfm/consumer.h"
#include "rfm/embedded.h"
#include "rfm/http.h"
#include "rfm/pipeline.h"
#include "rfm/producer.h"
#include "rfm/store.h"
#include "rfm/tracker.h"

/* Exit codes of rfmd (documented in --help). */
#define DAEMON_EXIT_OK       0
#define DAEMON_EXIT_CONFIG   1 /* usage, configuration, refused Kafka property */
#define DAEMON_EXIT_FATAL    2 /* fatal Kafka error, failed delivery, undelivered at exit */
#define DAEMON_EXIT_INTERNAL 3 /* out of memory, embedded cluster failed to start */

#define DAEMON_BATCH             500   /* messages per loop turn */
#define DAEMON_POLL_MS           100   /* longest wait for input */
#define DAEMON_COMMIT_MS         1000  /* commit period */
#define DAEMON_PROGRESS_MS       10000 /* progress line period */
#define DAEMON_DRAIN_MS          5000  /* producer drain on revoke */
#define DAEMON_SHUTDOWN_FLUSH_MS 7000  /* the rest of the 10 s stop budget is close */

/* What the snapshot subsystem reports for metrics (GET /metrics). Zero until
 * it fills them: last_ok_ms 0 means "no snapshot written yet". */
typedef struct daemon_snap_stats {
    int64_t last_ok_ms;      /* wall clock, epoch ms, of the last good snapshot */
    double last_duration_ms; /* how long that snapshot took */
    uint64_t written;        /* snapshots written */
    uint64_t failures;       /* snapshots that failed */
} daemon_snap_stats;

/* SIGHUP reloads (src/rfmd/reload.c), for logs and metrics. */
typedef struct daemon_reload_stats {
    uint64_t ok, failed;
    int64_t last_ok_ms; /* wall clock, epoch ms; 0 = never reloaded */
} daemon_reload_stats;

typedef struct daemon_ctx {
    /* Owned by daemon_run's caller. Its address never changes, so every
     * `const config *` held by the modules stays valid; a SIGHUP reload
     * rewrites only the live keys in place (see reload.h). */
    config *cfg;
    embedded *emb; /* NULL unless kafka.brokers is "embedded" */
    const char *brokers;
    store *store;
    tracker *trk;
    producer *prod;
    consumer *cons;
    pipeline pipe;
    http *http;              /* NULL when http.listen is "" */
    int64_t started_ms;      /* monotonic */
    int64_t started_wall_ms; /* epoch ms, for the start-time metric */
    bool paused;
    bool backlog_done; /* every assigned partition was caught up once */
    bool ready;        /* start-up done and partitions assigned once (GET /readyz) */
    daemon_snap_stats snap_stats;
    daemon_reload_stats reload_stats;
} daemon_ctx;

/* Run until a stop signal or a fatal error; returns a DAEMON_EXIT_* code.
 * cfg stays the caller's; SIGHUP updates its live keys in place. */
int daemon_run(config *cfg);

/* Ask the loop to stop (what the signal handler does). Async-signal-safe. */
void daemon_request_stop(int sig);

#endif
