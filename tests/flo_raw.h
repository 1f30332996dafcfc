/*
 * flo_raw — the two field parsers the engine tests use to read the raw FLO
 * file (../shared/data/flo_data_20k.csv) without the codec's reader, so an
 * engine test does not depend on the layer above it: a YYYY-MM-DD date to
 * epoch seconds (midnight UTC) and a decimal amount with at most two
 * decimals to cents, and one customer row of the file. Failures are cmocka
 * assertions. Header-only: each test is one executable.
 */
#ifndef RFM_TESTS_FLO_RAW_H
#define RFM_TESTS_FLO_RAW_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One customer of the file: the fields the engine tests use. */
typedef struct flo_raw_row {
    const char *id; /* master_id, inside the caller's line buffer */
    size_t id_len;
    uint32_t first_ts, last_ts;
    uint32_t frequency; /* online + offline orders */
    int64_t cents;      /* online + offline value */
} flo_raw_row;

/* The FLO file of $RFM_SHARED (ctest sets it), opened and read past its
 * header line (into line, len bytes); fails the test if it cannot be. */
static inline FILE *flo_raw_open(char *line, int len) {
    const char *dir = getenv("RFM_SHARED");
    if (!dir)
        fail_msg("RFM_SHARED is not set (ctest sets it)");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/flo_data_20k.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_non_null(fgets(line, len, f));
    return f;
}

/* Read the next row of f into *row (line is the caller's buffer of len
 * bytes, which row->id points into); false at the end of the file. The
 * header line is read first (flo_raw_open). */
static inline bool flo_raw_next(FILE *f, char *line, int len, flo_raw_row *row) {
    if (!fgets(line, len, f))
        return false;
    const char *fld[11];
    size_t flen[11];
    const char *p = line;
    for (int i = 0; i < 11; i++) { /* the 12th field may be quoted; unused */
        const char *comma = strchr(p, ',');
        assert_non_null(comma);
        fld[i] = p;
        flen[i] = (size_t)(comma - p);
        p = comma + 1;
    }
    row->id = fld[0];
    row->id_len = flen[0];
    row->first_ts = flo_raw_date(fld[3]);
    row->last_ts = flo_raw_date(fld[4]);
    row->frequency =
        (uint32_t)(flo_raw_cents(fld[7], flen[7]) / 100 + flo_raw_cents(fld[8], flen[8]) / 100);
    row->cents = flo_raw_cents(fld[9], flen[9]) + flo_raw_cents(fld[10], flen[10]);
    return true;
}

#endif
