/*
 * flo_raw — the two field parsers the engine tests use to read the raw FLO
 * file (../shared/data/flo_data_20k.csv) without the codec's reader, so an
 * engine test does not depend on the layer above it: a YYYY-MM-DD date to
 * epoch seconds (midnight UTC) and a decimal amount with at most two
 * decimals to cents. Failures are cmocka assertions. Header-only: each test
 * is one executable.
 */
#ifndef RFM_TESTS_FLO_RAW_H
#define RFM_TESTS_FLO_RAW_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static inline int64_t flo_raw_days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "2021-05-30" -> epoch seconds of its midnight UTC. */
static inline uint32_t flo_raw_date(const char *p) {
    int y, m, d;
    assert_int_equal(sscanf(p, "%4d-%2d-%2d", &y, &m, &d), 3);
    return (uint32_t)(flo_raw_days_from_civil(y, m, d) * 86400);
}

/* "799.38" / "139.9" / "4.0" -> cents (at most two decimals in this file). */
static inline int64_t flo_raw_cents(const char *p, size_t len) {
    int64_t units = 0, frac = 0;
    size_t i = 0;
    for (; i < len && p[i] != '.'; i++)
        units = units * 10 + (p[i] - '0');
    int digits = 0;
    for (i++; i < len; i++, digits++)
        frac = frac * 10 + (p[i] - '0');
    assert_true(digits <= 2);
    return units * 100 + (digits == 1 ? frac * 10 : frac);
}

#endif
