/*
 * daemon — rfmd's lifecycle: start Kafka clients (or the embedded cluster),
 * run the consume/apply/publish loop with its timers (rescore, snapshot,
 * commit, progress, systemd status and watchdog), and shut down cleanly on
 * SIGTERM/SIGINT: stop consuming, final rescore, flush the producer,
 * commit, leave the group.
 *
 * This header is what main() needs: the exit codes, the loop's constants
 * (documented behaviour, kept in one place) and daemon_run. The daemon's
 * state is private to daemon*.c (daemon_internal.h); the HTTP side reads a
 * status the daemon fills in (http/http.h), and a SIGHUP reload returns what
 * changed for the daemon to apply (reload.h), so neither knows the daemon.
 */
#ifndef RFM_DAEMON_H
#define RFM_DAEMON_H

#include <stdbool.h>

#include "rfm/config.h"

/* Exit codes of rfmd (documented in --help). */
#define DAEMON_EXIT_OK       0
#define DAEMON_EXIT_CONFIG   1 /* usage, configuration, refused Kafka property */
#define DAEMON_EXIT_FATAL    2 /* fatal Kafka error, failed delivery, undelivered at exit */
#define DAEMON_EXIT_INTERNAL 3 /* out of memory, embedded cluster failed to start */
#define DAEMON_EXIT_STATE                                                                          \
    4 /* a partition's checkpoints exist and none is usable, with no                               \
         changelog (see --start-empty), or its restore failed */

#define DAEMON_BATCH             500   /* messages per loop turn */
#define DAEMON_POLL_MS           100   /* longest wait for input */
#define DAEMON_PUBLISH_SLICE     1000  /* rescore events handed over per loop turn */
#define DAEMON_PUBLISH_QUEUE     4000  /* ... while the producer holds fewer than this */
#define DAEMON_PUBLISH_POLL_MS   2     /* input wait while rescore events are queued */
#define DAEMON_COMMIT_MS         1000  /* commit period */
#define DAEMON_TXN_MS            100   /* exactly-once: transaction commit period */
#define DAEMON_TXN_IDLE_MS       5     /* ... once caught up: commit a transaction this old */
#define DAEMON_PROGRESS_MS       10000 /* progress line period */
#define DAEMON_DRAIN_MS          5000  /* producer drain on revoke */
#define DAEMON_SHUTDOWN_FLUSH_MS 7000  /* the rest of the 10 s stop budget is close */
#define DAEMON_STOP_BUDGET_MS    9500  /* signal to exit, shutdown snapshot included */
#define DAEMON_SNAPSHOT_RETRY_MS 1000  /* next try after a failed one */
#define DAEMON_SNAPSHOT_WAIT_MS  50    /* next look when postponed for rescore events */
#define DAEMON_TRIM_EVENTS       50000 /* events delivered between malloc_trim calls */
#define DAEMON_RESTORE_SLICE     20000 /* changelog records applied per loop turn */
#define DAEMON_RESTORE_POLL_MS   5     /* longest wait while a partition is restoring */
/* bench/guarantee.sh (RFM_BENCH_TXN_MS=N) builds trees with another commit period. */
#ifdef RFM_TXN_MS_OVERRIDE
#undef DAEMON_TXN_MS
#define DAEMON_TXN_MS RFM_TXN_MS_OVERRIDE
#endif

typedef struct daemon_options {
    bool start_empty; /* snapshots exist but none is usable: start empty anyway */
} daemon_options;

/* Run until a stop signal or a fatal error; returns a DAEMON_EXIT_* code.
 * cfg stays the caller's; SIGHUP updates its live keys in place. */
int daemon_run(config *cfg, const daemon_options *opt);

/* Ask for a snapshot now (SIGUSR1). Async-signal-safe. */
void daemon_request_snapshot(int sig);

/* Ask the loop to stop (what the signal handler does). Async-signal-safe. */
void daemon_request_stop(int sig);

#endif
