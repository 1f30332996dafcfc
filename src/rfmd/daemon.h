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
#include "consumer.h"
#include "embedded.h"
#include "http/http.h"
#include "pipeline.h"
#include "producer.h"
#include "saver.h"
#include "rfm/store.h"
#include "tracker.h"

/* Exit codes of rfmd (documented in --help). */
#define DAEMON_EXIT_OK       0
#define DAEMON_EXIT_CONFIG   1 /* usage, configuration, refused Kafka property */
#define DAEMON_EXIT_FATAL    2 /* fatal Kafka error, failed delivery, undelivered at exit */
#define DAEMON_EXIT_INTERNAL 3 /* out of memory, embedded cluster failed to start */
#define DAEMON_EXIT_STATE    4 /* snapshots exist and none is usable (see --start-empty) */

#define DAEMON_BATCH             500   /* messages per loop turn */
#define DAEMON_POLL_MS           100   /* longest wait for input */
#define DAEMON_PUBLISH_SLICE     1000  /* rescore events handed over per loop turn */
#define DAEMON_PUBLISH_QUEUE     4000  /* ... while the producer holds fewer than this */
#define DAEMON_PUBLISH_POLL_MS   2     /* input wait while rescore events are queued */
#define DAEMON_COMMIT_MS         1000  /* commit period */
#define DAEMON_PROGRESS_MS       10000 /* progress line period */
#define DAEMON_DRAIN_MS          5000  /* producer drain on revoke */
#define DAEMON_SHUTDOWN_FLUSH_MS 7000  /* the rest of the 10 s stop budget is close */
#define DAEMON_STOP_BUDGET_MS    9500  /* signal to exit, shutdown snapshot included */
#define DAEMON_SNAPSHOT_RETRY_MS 1000  /* next try after a failed one */
#define DAEMON_SNAPSHOT_WAIT_MS  50    /* next look when postponed for rescore events */
#define DAEMON_TRIM_EVENTS       50000 /* events delivered between malloc_trim calls */

typedef struct daemon_options {
    bool start_empty; /* snapshots exist but none is usable: start empty anyway */
} daemon_options;

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
    daemon_options opt;
    embedded *emb; /* NULL unless kafka.brokers is "embedded" */
    const char *brokers;
    store *store;
    tracker *trk;
    producer *prod;
    consumer *cons;
    saver *saver;
    pipeline pipe;
    score_breakpoints restored_bp; /* version 0 unless a snapshot was restored */
    http *http;                    /* NULL when http.listen is "" */
    int64_t started_ms;            /* monotonic */
    int64_t started_wall_ms;       /* epoch ms, for the start-time metric */
    int64_t first_msg_ms;          /* when the first input message arrived, 0 = none yet */
    int64_t last_msg_us;           /* monotonic time of the last input message */
    bool paused;
    bool backlog_done;  /* every assigned partition was caught up once */
    bool republish_due; /* partitions regained: republish everyone once caught up */
    bool ready;         /* start-up done and partitions assigned once (GET /readyz) */
    daemon_reload_stats reload_stats;
} daemon_ctx;

/* Run until a stop signal or a fatal error; returns a DAEMON_EXIT_* code.
 * cfg stays the caller's; SIGHUP updates its live keys in place. */
int daemon_run(config *cfg, const daemon_options *opt);

/* Ask for a snapshot now (SIGUSR1). Async-signal-safe. */
void daemon_request_snapshot(int sig);

/* Ask the loop to stop (what the signal handler does). Async-signal-safe. */
void daemon_request_stop(int sig);

#endif
