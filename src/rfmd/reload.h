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
 *                  http.listen        the server restarts on the new address;
 *                                     if that fails it stays on the old one
 *   restart        every other key: logged by name ("kafka.brokers changed:
 *                                     needs a restart"), old value kept
 *
 * Ownership: the running config is the one struct daemon_ctx.cfg points to,
 * and everything holds `const config *` to it; a reload never swaps that
 * struct, it copies the live values into it (strings moved over, the old
 * ones freed with the fresh struct), between two input messages on the
 * daemon thread. So no pointer anyone holds dangles, and the running config
 * always says what is actually in force.
 */
#ifndef RFM_RELOAD_H
#define RFM_RELOAD_H

#include "daemon.h"

/* What the loop must re-arm after a reload. */
#define RELOAD_RESCORE_TIMER  1
#define RELOAD_SNAPSHOT_TIMER 2

/* Reload d->cfg->path. Returns a mask of RELOAD_* (0: nothing to re-arm),
 * or -1 when the file was refused and the running config kept. A fatal
 * failure while publishing re-mapped segments shows in d->pipe.failed. */
int reload_run(daemon_ctx *d);

#endif
