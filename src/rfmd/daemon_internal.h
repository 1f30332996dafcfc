/*
 * daemon_internal — the daemon's state, shared by its three files and no
 * one else:
 *
 *   daemon.c        lifecycle and the loop turn (wait, input, deliveries,
 *                   signals, shutdown)
 *   daemon_jobs.c   the periodic jobs, each one timer of the loop, and the
 *                   one rescore decision
 *   daemon_http.c   the HTTP server's place in the loop and the status its
 *                   handlers read
 *   daemon_tasks.c  the owned partitions' stores: built (checkpoint,
 *                   changelog) on assignment, dropped on revocation
 *   daemon_round.c  the group's breakpoints round (breakpoints.scope: group)
 *
 * Single-threaded: only the daemon thread touches it (librdkafka's
 * callbacks that reach it are served on that thread too).
 */
#ifndef RFM_DAEMON_INTERNAL_H
#define RFM_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changelog_log.h"
#include "consumer.h"
#include "control.h"
#include "daemon.h"
#include "embedded.h"
#include "http/http.h"
#include "loop.h"
#include "pipeline.h"
#include "producer.h"
#include "repartition.h"
#include "restore.h"
#include "rfm/config.h"
#include "rfm/store.h"
#include "round.h"
#include "saver.h"
#include "tasks.h"
#include "tracker.h"

/* SIGHUP reloads (reload.h), for logs and metrics. */
typedef struct daemon_reload_stats {
    uint64_t ok, failed;
    int64_t last_ok_ms; /* wall clock, epoch ms; 0 = never reloaded */
} daemon_reload_stats;

/* The loop's timers (ids from loop_add_timer; -1: not registered). */
typedef struct daemon_timers {
    int rescore, snapshot, commit, progress, status, watchdog;
} daemon_timers;

typedef struct daemon_ctx {
    /* Owned by daemon_run's caller. Its address never changes, so every
     * `const config *` held by the modules stays valid; a SIGHUP reload
     * rewrites only the live keys in place (see reload.h). */
    config *cfg;
    daemon_options opt;
    embedded *emb; /* NULL unless kafka.brokers is "embedded" */
    const char *brokers;
    tasks *tasks;     /* the owned partitions and their stores */
    restore *restore; /* reads the changelog back; NULL without changelog.enabled */
    tracker *trk;
    producer *prod;
    consumer *cons;
    saver *saver;
    pipeline pipe;
    repartition repart;         /* stage 1, used only with input.repartition */
    int32_t changelog_parts;    /* the changelog's partition count at start (0: not known) */
    changelog_log changelog;    /* written only with changelog.enabled */
    control *ctl;               /* the round's topics; NULL unless breakpoints.scope is group */
    round *round;               /* likewise */
    score_breakpoints round_bp; /* the group's newest, while round_pending */
    bool round_pending;         /* ... waiting for the previous rescore's events */
    loop *loop;
    daemon_timers timer;
    http *http;                     /* NULL when http.listen is "" or "off" */
    int http_watch;                 /* its descriptor's id in the loop, -1 = none */
    int64_t started_ms;             /* monotonic */
    int64_t started_wall_ms;        /* epoch ms, for the start-time metric */
    int64_t first_msg_ms;           /* when the first input message arrived, 0 = none yet */
    int64_t last_msg_us;            /* monotonic time of the last input message */
    bool full;                      /* the last turn took a whole batch: more is waiting */
    bool paused;                    /* producer back-pressure */
    bool round_held;                /* the group's round holds this member's stores */
    bool input_paused;              /* fetching paused for either (daemon_input_pause_sync) */
    bool backlog_done;              /* every assigned partition was caught up once */
    bool republish_due;             /* partitions regained: republish everyone once caught up */
    bool restored_due;              /* partitions restored from the changelog: republish theirs
                                       once caught up (tasks.h, `republish`) */
    bool ready;                     /* start-up done and partitions assigned once (GET /readyz) */
    bool rescore_interval_due;      /* the rescore timer fired; the rescore is still to run */
    bool snapshot_asked;            /* a SIGUSR1 snapshot is asked for (or postponed) */
    bool state_refused;             /* a partition's state cannot be had: exit DAEMON_EXIT_STATE */
    bool stopping;                  /* shutdown began: revocations drop every task */
    bool final_saved;               /* the shutdown snapshot is written: no more checkpoints */
    uint64_t restores_done;         /* partitions restored from the changelog */
    size_t restore_step_records;    /* records the last restore slice handed over */
    bool restore_full;              /* ... a whole slice: more is waiting */
    struct http_store *http_stores; /* daemon_http.c's view of the stores, reused */
    http_round http_round;          /* daemon_http.c's view of the round */
    size_t http_stores_cap;
    daemon_reload_stats reload_stats;
    uint64_t events_at_trim;    /* events published at the last malloc_trim */
    uint64_t progress_consumed; /* the progress line's previous count and time */
    int64_t progress_ms;
    uint64_t status_consumed; /* the STATUS= line's previous count and time (0: none) */
    int64_t status_ms;
} daemon_ctx;

/* The daemon cannot go on: the pipeline, the producer or the consumer
 * failed. */
bool daemon_fatal(const daemon_ctx *d);

/* Pause fetching while back-pressure or the group's round wants it,
 * resume when neither does (on every change of d->paused, d->round_held).
 * Polling goes on meanwhile: rebalances are served, so a round never waits
 * for a rebalance its own hold would stall. */
void daemon_input_pause_sync(daemon_ctx *d);

/* Every assigned partition is at its end (tracker_all_eof) and, with
 * input.repartition, every copy stage 1 made is delivered and, where this
 * process owns its repartition partition, consumed: the backlog line and
 * the first rescore wait for this. */
bool daemon_caught_up(daemon_ctx *d);

/* ---- daemon_jobs.c ---- */

/* Register the periodic jobs as timers of d->loop (status and watchdog only
 * under systemd). 0, or -1 when the loop's table is full. */
int daemon_jobs_start(daemon_ctx *d);

/* The rescore, if rescore_due says one is due now (every turn, and the
 * rescore timer's job). 0, or -1 on a fatal failure. */
int daemon_jobs_rescore(daemon_ctx *d);

/* Hand freed heap back to the kernel after a burst of events (every turn;
 * cheap unless DAEMON_TRIM_EVENTS events went out since the last time). */
void daemon_jobs_trim(daemon_ctx *d);

/* Fork the snapshot writer now. 0 started (or one still running), -2
 * postponed (rescore events not delivered yet), -1 failed. */
int daemon_jobs_snapshot(daemon_ctx *d, const char *why);

/* The progress line ("progress", "final"): counts since *last_consumed at
 * *last_ms, which are updated. */
void daemon_jobs_log_txn(daemon_ctx *d, const char *what);
void daemon_jobs_log_progress(daemon_ctx *d, uint64_t *last_consumed, int64_t *last_ms,
                              const char *what);

/* The shutdown line of rejected input by reason. */
void daemon_jobs_log_rejects(const daemon_ctx *d);

/* ---- daemon_tasks.c ---- */

/* The task table, the restore reader (with a changelog) and the consumer's
 * rebalance hooks. After producer and consumer exist, before subscribing.
 * DAEMON_EXIT_OK, or an exit code with err. */
int daemon_tasks_start(daemon_ctx *d, char *err, size_t errlen);
void daemon_tasks_stop(daemon_ctx *d);

/* A slice of the changelog restores in progress (every turn). 0, or -1
 * when a restore failed (d->state_refused is set). */
int daemon_tasks_restore_step(daemon_ctx *d);

/* A partition is being restored. */
bool daemon_tasks_restoring(const daemon_ctx *d);

/* Fork the snapshot writer over every RUNNING or SUSPENDED task (saver_start). */
int daemon_tasks_snapshot(daemon_ctx *d, const char *why);

/* Rebuild every owned partition from its checkpoint and the changelog,
 * held paused meanwhile (an aborted transaction threw away what the
 * in-memory state holds beyond the last commit). 0, or -1 fatal. */
int daemon_tasks_rewind(daemon_ctx *d);

/* ---- daemon_round.c (breakpoints.scope: group) ---- */

/* The round's topics checked (created when absent), its clients opened,
 * the group's newest breakpoints read and applied, its descriptor in the
 * loop; no-op in local scope. After the pipeline and the changelog check,
 * before subscribing. DAEMON_EXIT_OK, or an exit code with err. */
int daemon_round_start(daemon_ctx *d, char *err, size_t errlen);
void daemon_round_stop(daemon_ctx *d);

/* Control messages and records read, the coordinator role, the round's
 * timers (every turn; no-op in local scope). 0, or -1 fatal. */
int daemon_round_step(daemon_ctx *d);

/* At shutdown, the coordinator's last round: begun, and waited for (the
 * record read back and applied) for at most DAEMON_ROUND_FINAL_MS or the
 * round timeout, whichever is shorter; members that stop at the same time
 * cost that wait. No-op unless this instance coordinates. */
void daemon_round_final(daemon_ctx *d);

/* A rescore trigger fired in group scope: ask for a round (round_want).
 * The interval (periodic) is the coordinator's alone: every member asking
 * on its own timer would add a round per member per interval. */
void daemon_round_want(daemon_ctx *d, const char *why, bool periodic);

/* ---- daemon_txn.c (processing.guarantee: exactly_once) ---- */

/* The transactional.id of this instance into out. 0, or -1 (too long). */
int daemon_txn_id(const config *cfg, char *out, size_t len);

/* init_transactions and the consumer's offsets handed to the transactions;
 * no-op unless the producer is transactional. DAEMON_EXIT_OK or a code. */
int daemon_txn_start(daemon_ctx *d, char *err, size_t errlen);

/* Commit the open transaction with the applied input offsets of every
 * running partition; an abort rewinds (daemon_tasks_rewind). No-op at
 * least once. 0, or -1 fatal. */
int daemon_txn_commit(daemon_ctx *d, const char *why);

/* A commit now would carry input offsets (some running partition has a
 * known position), so the group's generation fences it. Without any, a
 * transaction is aborted instead (daemon_txn_commit). */
bool daemon_txn_can_fence(daemon_ctx *d);

/* Abort the open transaction (a lost assignment); no-op when none. */
void daemon_txn_abort(daemon_ctx *d, const char *why);

/* Caught up (this turn drained the input) with a transaction open: bring
 * the commit timer forward to when the transaction is DAEMON_TXN_IDLE_MS
 * old — the events of a caught-up daemon wait for a commit, not for the
 * period. No-op at least once, with a backlog, or with nothing open. */
void daemon_txn_pace(daemon_ctx *d);

/* ---- daemon_http.c ---- */

/* Start the server on listen and wait on it in the loop. 0, or -1 with err. */
int daemon_http_start(daemon_ctx *d, const char *listen, char *err, size_t errlen);

/* Stop the server (no-op when off): requests are refused from here on. */
void daemon_http_stop(daemon_ctx *d);

/* Serve what the server has ready (every turn; no-op when off). */
void daemon_http_run(daemon_ctx *d);

/* Follow a reloaded http.listen: the old server goes, the new address is
 * bound, and when it cannot be, the old one again. True when the new
 * address (or "off") is in force. */
bool daemon_http_move(daemon_ctx *d, const char *listen);

#endif
