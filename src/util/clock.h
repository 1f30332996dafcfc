/*
 * clock — the one place rfm reads the time.
 *
 * Monotonic time (CLOCK_MONOTONIC) measures durations and drives timers: it
 * never jumps when an operator or NTP sets the wall clock. Wall time
 * (CLOCK_REALTIME) is only for what is shown to people or compared with
 * other machines: log stamps, start-time metrics, snapshot ages, the wall
 * scoring clock.
 */
#ifndef RFM_UTIL_CLOCK_H
#define RFM_UTIL_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds / microseconds since an arbitrary start. */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

/* Wall-clock milliseconds since the Unix epoch. */
int64_t clock_wall_ms(void);

#endif
