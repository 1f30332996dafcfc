/*
 * timefmt — the date and time forms rfmd reads and writes, without locale or
 * TZ dependence (no mktime/strptime): everything is proleptic Gregorian UTC.
 */
#ifndef RFM_TIMEFMT_H
#define RFM_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 for a civil date (no range check). */
int64_t timefmt_days_from_civil(int64_t y, unsigned m, unsigned d);
void timefmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* RFC 3339 ("2021-02-26T10:00:00Z", fractional seconds, "+03:00" offsets,
 * lower-case t/z, a space instead of T) or a date alone ("2021-02-26" =
 * midnight UTC). Validates calendar days (no Feb 30). Returns 0 and epoch
 * seconds (fractions truncated toward -inf), or -1. */
int timefmt_parse_rfc3339(const char *s, size_t len, int64_t *epoch);

/* The two Online Retail forms: "2010-12-01 08:26:00" / "2010-12-01 08:26" and
 * "12/1/2010 8:26" (month first, optional seconds). Returns 0 or -1. */
int timefmt_parse_retail(const char *s, size_t len, int64_t *epoch);

/* "YYYY-MM-DD" of the day containing epoch; buf >= 11 bytes. */
void timefmt_date(int64_t epoch, char *buf, size_t len);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" from epoch milliseconds; buf >= 25 bytes. */
void timefmt_rfc3339_ms(int64_t epoch_ms, char *buf, size_t len);

/* Start (00:00 UTC) of the day containing epoch. */
int64_t timefmt_day_start(int64_t epoch);

#endif
