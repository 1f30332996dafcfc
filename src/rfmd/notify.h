/*
 * notify — rfmd's side of the systemd service protocol (sd_notify(3)).
 *
 * Under a Type=notify unit systemd passes NOTIFY_SOCKET (and, with
 * WatchdogSec=, WATCHDOG_USEC); rfmd tells it:
 *
 *   READY=1         state restored and the first partitions assigned (the
 *                   same moment GET /readyz turns 200), and again after a
 *                   SIGHUP reload
 *   RELOADING=1     a SIGHUP reload begins (with MONOTONIC_USEC=)
 *   STOPPING=1      shutdown begins (final rescore, flush, commit, snapshot)
 *   STATUS=...      one line for `systemctl status`, refreshed every
 *                   NOTIFY_STATUS_MS by a timer of the daemon loop
 *   WATCHDOG=1      from a timer of the daemon loop, every half of
 *                   WATCHDOG_USEC, so a loop that hangs gets rfmd restarted
 *
 * Without NOTIFY_SOCKET every call is a no-op (nothing is formatted or
 * sent). Single-threaded: only the daemon's main thread calls these.
 */
#ifndef RFM_NOTIFY_H
#define RFM_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#define NOTIFY_STATUS_MS 2000 /* STATUS= refresh period */

/* Read NOTIFY_SOCKET and the watchdog settings from the environment. Safe to
 * call again (tests). */
void notify_init(void);

/* True when NOTIFY_SOCKET is set: there is someone to tell. */
bool notify_enabled(void);

/* The watchdog ping period (half of WATCHDOG_USEC) in ms; 0 when the
 * watchdog is off. */
int64_t notify_watchdog_period_ms(void);

/* READY=1, with a STATUS= line when status is not NULL. */
void notify_ready(const char *status);
/* RELOADING=1 and MONOTONIC_USEC=now. */
void notify_reloading(void);
/* STOPPING=1, with a STATUS= line when status is not NULL. */
void notify_stopping(const char *status);
/* STATUS=<printf format>. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* WATCHDOG=1, when the watchdog is on. The daemon's "watchdog" timer calls
 * it every notify_watchdog_period_ms (its "status" timer formats a STATUS=
 * line every NOTIFY_STATUS_MS): the timing lives in the loop (loop.h). */
void notify_watchdog(void);

#endif
