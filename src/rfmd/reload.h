/*
 * reload — SIGHUP: re-read the configuration file and apply what can change
 * while rfmd runs.
 *
 * The file is loaded into a fresh config; a file that does not load (YAML,
 * unknown key, bad value: the error names file:line:column and key) or whose
 * Kafka properties librdkafka refuses changes nothing. Otherwise:
 *
 *   applied live   segments           rules recompiled; every scored customer
 *                                     re-mapped, an event (cause "rescore")
 *                                     for each whose segment name changed
 *                  rescore.interval   next rescore one new interval from now
 *                  snapshot.interval  (the snapshot timer re-arms)
 *                  log.level          (replaces a -l override)
 *                  log.format         (unless RFMD_LOG_FORMAT is set)
 *                  http.listen        the daemon moves its server to the new
 *                                     address; if that fails it stays on the
 *                                     old one
 *   restart        every other key: logged by name ("kafka.brokers changed:
 *                                     needs a restart"), old value kept
 *
 * reload_run applies what needs nothing but the config and the pipeline
 * (log settings, intervals, segment rules) and returns what changed; the
 * daemon applies the rest (its timers' periods, the HTTP listener), then
 * reload_finish records the listener's outcome and logs the summary. So
 * reload knows nothing of the daemon, and the daemon decides nothing about
 * configuration keys.
 *
 * Ownership: the running config is the one struct the daemon owns, and
 * everything holds `const config *` to it; a reload never swaps that
 * struct, it copies the live values into it (strings moved over, the old
 * ones freed), between two input messages on the daemon thread. So no
 * pointer anyone holds dangles, and the running config always says what is
 * actually in force.
 */
#ifndef RFM_RELOAD_H
#define RFM_RELOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"
#include "rfm/config.h"

/* Live keys a reload changed (reload_result.changed). */
#define RELOAD_LOG_LEVEL         (1u << 0)
#define RELOAD_LOG_FORMAT        (1u << 1)
#define RELOAD_RESCORE_INTERVAL  (1u << 2) /* the rescore timer's new period */
#define RELOAD_SNAPSHOT_INTERVAL (1u << 3) /* the snapshot timer's new period */
#define RELOAD_SEGMENTS          (1u << 4)
#define RELOAD_HTTP_LISTEN       (1u << 5) /* for the daemon: move the listener */

/* What a reload changed, for the daemon to apply. */
typedef struct reload_result {
    bool refused;                 /* the file was refused: nothing changed */
    unsigned changed;             /* RELOAD_*: in force in the config, except
                                     RELOAD_HTTP_LISTEN (not yet: see http_listen) */
    int restart;                  /* changed keys that need a restart (each logged) */
    int64_t rescore_interval_ms;  /* with RELOAD_RESCORE_INTERVAL: the new period */
    int64_t snapshot_interval_ms; /* with RELOAD_SNAPSHOT_INTERVAL: the new period */
    char *http_listen;            /* with RELOAD_HTTP_LISTEN: the new address ("" or "off":
                                     no server), owned by the result */
} reload_result;

/* Re-read cfg->path. A refused file (or none to re-read) changes nothing:
 * -1, logged, *out empty. Otherwise applies log.*, the intervals and the
 * segment rules to cfg (pipe re-maps the customers and queues their events;
 * a fatal failure while publishing them shows in pipe->failed) and returns
 * 0 with *out saying what changed. Either way call reload_finish. */
int reload_run(config *cfg, pipeline *pipe, reload_result *out);

/* The daemon has applied *r: http_moved says the server now follows
 * r->http_listen (when RELOAD_HTTP_LISTEN), so cfg->http.listen takes the
 * new value; otherwise it keeps the one still in force. Logs the summary
 * line of a reload that was not refused and frees what *r holds. */
void reload_finish(config *cfg, reload_result *r, bool http_moved);

#endif
