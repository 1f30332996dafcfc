/*
 * loop — rfmd's event loop, in the spirit of Redis' ae.c: named timers,
 * descriptors to wait on, and ONE wait until whichever comes first.
 *
 * A turn of the daemon is: loop_wait (sleep until a watched descriptor is
 * readable, the nearest timer deadline, or the caller's cap), the turn's
 * own steps, then loop_run_timers (every timer whose deadline has passed,
 * earliest deadline first). So the one place the daemon sleeps is
 * loop_wait, with or without the HTTP server, and no job waits longer than
 * one wait for its deadline.
 *
 * Timers are periodic: a timer is due period_ms after it is added, then
 * period_ms after each run has *returned* (a long job does not queue up
 * runs behind itself), unless the job re-armed it while it ran — that is how
 * a job that could not do its work asks for an earlier retry. Each timer
 * runs at most once per loop_run_timers call, so a job that re-arms itself
 * for "now" cannot starve the loop.
 *
 * Single-threaded. The tables are fixed (LOOP_MAX_TIMERS timers,
 * LOOP_MAX_FDS descriptors): nothing is allocated after loop_new. The clock
 * is CLOCK_MONOTONIC (util/clock.h) unless a test passes its own.
 */
#ifndef RFM_LOOP_H
#define RFM_LOOP_H

#include <stdint.h>

#define LOOP_MAX_TIMERS 16
#define LOOP_MAX_FDS    8

typedef struct loop loop;

/* A timer's job. Returns 0, or -1 for a fatal failure: loop_run_timers then
 * stops and returns -1 (the daemon stops). */
typedef int (*loop_timer_fn)(void *ctx);

/* Called by loop_wait for a watched descriptor that turned readable. */
typedef void (*loop_fd_fn)(void *ctx, int fd);

/* A monotonic clock in milliseconds (tests substitute a fake one). */
typedef int64_t (*loop_clock_fn)(void *ctx);

/* A new loop on clock (NULL: clock_mono_ms). NULL when out of memory. */
loop *loop_new(loop_clock_fn clock, void *clock_ctx);
void loop_free(loop *l);

/* The loop's clock, now. */
int64_t loop_now(const loop *l);

/* Add a periodic timer, first due period_ms (> 0) from now. name is a
 * static string, for logs. Returns its id (>= 0), -1 when the table is full
 * or period_ms <= 0. */
int loop_add_timer(loop *l, const char *name, int64_t period_ms, loop_timer_fn fn, void *ctx);

/* Next run delay_ms (>= 0) from now, once; the period is unchanged. */
void loop_timer_rearm(loop *l, int id, int64_t delay_ms);

/* A new period (> 0); the next run is one new period from now. */
void loop_timer_set_period(loop *l, int id, int64_t period_ms);

/* Due now: runs at the next loop_run_timers. */
void loop_timer_fire_now(loop *l, int id);

/* When the timer is next due (loop clock). */
int64_t loop_timer_due(const loop *l, int id);

/* Watch fd: loop_wait ends when it is readable and then calls fn (may be
 * NULL: the descriptor only ends the wait). Returns an id (>= 0), -1 when
 * the table is full or fd < 0. */
int loop_add_fd(loop *l, const char *name, int fd, loop_fd_fn fn, void *ctx);

/* Stop watching (id from loop_add_fd; -1 is ignored). */
void loop_remove_fd(loop *l, int id);

/* The one wait: until a watched descriptor is readable, the nearest timer
 * deadline or max_ms (< 0: no cap of its own), whichever comes first; 0
 * only looks. A signal ends it early (the caller checks its flags). Then
 * calls fn of every readable descriptor. Returns how many were readable. */
int loop_wait(loop *l, int max_ms);

/* Run every timer due now, earliest deadline first (ties: the one added
 * first). Returns 0, or -1 as soon as a job returned -1. */
int loop_run_timers(loop *l);

#endif
