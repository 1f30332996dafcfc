/*
 * timefmt — civil dates and the textual time forms rfmd reads and writes.
 *
 * Everything is proleptic Gregorian UTC computed with integer arithmetic
 * (Howard Hinnant's days_from_civil / civil_from_days), so results never
 * depend on the process locale, TZ, or the C library's mktime range.
 *
 * Parsing is strict on purpose: a timestamp that is silently misread moves a
 * customer between segments, while a rejected one lands in the dead-letter
 * topic with a reason. So fields have fixed widths, calendar days are
 * checked (no Feb 30, Feb 29 only in leap years) and trailing bytes fail.
 *
 * Choices worth knowing:
 *  - Fractional seconds (any number of digits) are accepted and dropped;
 *    since the fraction is non-negative that is truncation toward -inf.
 *  - A leap second ("23:59:60Z", or the same instant written with an
 *    offset) is accepted and read as 23:59:59 UTC, keeping it on the UTC day
 *    it belongs to. Second 60 at any other UTC time is rejected: leap seconds
 *    are only ever inserted at the end of a UTC day.
 *  - RFC 3339 requires an offset; "2021-02-26T10:00:00" without one is
 *    rejected rather than guessed. "-00:00" (offset unknown) reads as UTC.
 *  - The Online Retail forms carry no zone; they are read as UTC, as the
 *    seeds' pandas code does with naive timestamps.
 */
#include "rfm/timefmt.h"

#include <stdbool.h>
#include <stdio.h>

#define SECS_PER_DAY 86400

int64_t timefmt_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void timefmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const unsigned doe = (unsigned)(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

static bool is_leap(int64_t y) {
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned dim[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m];
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A cursor over a length-delimited (not NUL-terminated) string. */
typedef struct cur {
    const char *s;
    size_t len, i;
} cur;

static bool at_end(const cur *c) {
    return c->i >= c->len;
}

static bool peek_is(const cur *c, char ch) {
    return c->i < c->len && c->s[c->i] == ch;
}

static bool is_digit_at(const cur *c, size_t i) {
    return i < c->len && c->s[i] >= '0' && c->s[i] <= '9';
}

static bool expect(cur *c, char ch) {
    if (!peek_is(c, ch))
        return false;
    c->i++;
    return true;
}

/* Exactly n digits. */
static bool fixed_digits(cur *c, int n, unsigned *out) {
    unsigned v = 0;
    for (int k = 0; k < n; k++) {
        if (!is_digit_at(c, c->i))
            return false;
        v = v * 10 + (unsigned)(c->s[c->i++] - '0');
    }
    *out = v;
    return true;
}

/* min..max digits (max <= 4). */
static bool var_digits(cur *c, int min, int max, unsigned *out) {
    unsigned v = 0;
    int n = 0;
    while (n < max && is_digit_at(c, c->i)) {
        v = v * 10 + (unsigned)(c->s[c->i++] - '0');
        n++;
    }
    if (n < min || is_digit_at(c, c->i))
        return false;
    *out = v;
    return true;
}

static bool valid_date(unsigned y, unsigned m, unsigned d) {
    return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static int64_t epoch_of(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s) {
    return timefmt_days_from_civil(y, mo, d) * SECS_PER_DAY + (int64_t)h * 3600 + (int64_t)mi * 60 +
           s;
}

int timefmt_parse_rfc3339(const char *s, size_t len, int64_t *epoch) {
    cur c = {s, len, 0};
    unsigned y, mo, d, h, mi, sec;
    if (!s || !fixed_digits(&c, 4, &y) || !expect(&c, '-') || !fixed_digits(&c, 2, &mo) ||
        !expect(&c, '-') || !fixed_digits(&c, 2, &d) || !valid_date(y, mo, d))
        return -1;
    if (at_end(&c)) {
        *epoch = timefmt_days_from_civil(y, mo, d) * SECS_PER_DAY;
        return 0;
    }
    if (!(expect(&c, 'T') || expect(&c, 't') || expect(&c, ' ')))
        return -1;
    if (!fixed_digits(&c, 2, &h) || !expect(&c, ':') || !fixed_digits(&c, 2, &mi) ||
        !expect(&c, ':') || !fixed_digits(&c, 2, &sec) || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (expect(&c, '.')) {
        if (!is_digit_at(&c, c.i))
            return -1;
        while (is_digit_at(&c, c.i))
            c.i++;
    }
    int64_t offset = 0;
    if (expect(&c, 'Z') || expect(&c, 'z')) {
        offset = 0;
    } else if (peek_is(&c, '+') || peek_is(&c, '-')) {
        int sign = c.s[c.i++] == '-' ? -1 : 1;
        unsigned oh, om;
        if (!fixed_digits(&c, 2, &oh) || !expect(&c, ':') || !fixed_digits(&c, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
        offset = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    } else {
        return -1;
    }
    if (!at_end(&c))
        return -1;
    int64_t t = epoch_of(y, mo, d, h, mi, sec == 60 ? 59 : sec) - offset;
    if (sec == 60 && floor_div(t, SECS_PER_DAY) * SECS_PER_DAY + SECS_PER_DAY - 1 != t)
        return -1;
    *epoch = t;
    return 0;
}

/* "HH:MM" or "HH:MM:SS" (hour width per form), then the end of input. */
static bool retail_time(cur *c, int hour_min_digits, unsigned *h, unsigned *mi, unsigned *sec) {
    *sec = 0;
    if (!var_digits(c, hour_min_digits, 2, h) || !expect(c, ':') || !fixed_digits(c, 2, mi))
        return false;
    if (expect(c, ':') && !fixed_digits(c, 2, sec))
        return false;
    return at_end(c) && *h <= 23 && *mi <= 59 && *sec <= 59;
}

int timefmt_parse_retail(const char *s, size_t len, int64_t *epoch) {
    cur c = {s, len, 0};
    unsigned y, mo, d, h, mi, sec;
    if (!s)
        return -1;
    if (len > 4 && s[4] == '-') {
        /* "2010-12-01 08:26[:00]" */
        if (!fixed_digits(&c, 4, &y) || !expect(&c, '-') || !fixed_digits(&c, 2, &mo) ||
            !expect(&c, '-') || !fixed_digits(&c, 2, &d) || !expect(&c, ' ') ||
            !retail_time(&c, 2, &h, &mi, &sec))
            return -1;
    } else {
        /* "12/1/2010 8:26[:00]", month first. */
        if (!var_digits(&c, 1, 2, &mo) || !expect(&c, '/') || !var_digits(&c, 1, 2, &d) ||
            !expect(&c, '/') || !fixed_digits(&c, 4, &y) || is_digit_at(&c, c.i) ||
            !expect(&c, ' ') || !retail_time(&c, 1, &h, &mi, &sec))
            return -1;
    }
    if (!valid_date(y, mo, d))
        return -1;
    *epoch = epoch_of(y, mo, d, h, mi, sec);
    return 0;
}

void timefmt_date(int64_t epoch, char *buf, size_t len) {
    int64_t y;
    unsigned m, d;
    timefmt_civil_from_days(floor_div(epoch, SECS_PER_DAY), &y, &m, &d);
    snprintf(buf, len, "%04lld-%02u-%02u", (long long)y, m, d);
}

void timefmt_rfc3339_ms(int64_t epoch_ms, char *buf, size_t len) {
    int64_t secs = floor_div(epoch_ms, 1000);
    int64_t ms = epoch_ms - secs * 1000;
    int64_t days = floor_div(secs, SECS_PER_DAY);
    int64_t sod = secs - days * SECS_PER_DAY;
    int64_t y;
    unsigned m, d;
    timefmt_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)ms);
}

int64_t timefmt_day_start(int64_t epoch) {
    return floor_div(epoch, SECS_PER_DAY) * SECS_PER_DAY;
}
