/*
 * bench_util — what the engine benchmarks share (bench_engine.c,
 * bench_round.c): a clock in seconds, a deterministic generator (so every
 * run sees the same data), UUID-like customer ids and the median of runs.
 * Header-only, static inline: each benchmark is one file and links nothing
 * of the others.
 */
#ifndef RFM_BENCH_UTIL_H
#define RFM_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>

#include "util/clock.h"

/* The monotonic clock in seconds. */
static inline double bench_now_s(void) {
    return (double)clock_mono_us() / 1e6;
}

/* splitmix64: fast, deterministic; *state starts at any value. */
static inline uint64_t bench_rng(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The 36-character UUID-like id of customer n into out[0..36) (not
 * terminated): distinct for distinct n, the same on every run. */
static inline void bench_make_id(char *out, uint64_t n) {
    static const char hex[] = "0123456789abcdef";
    uint64_t a = n * 0x9e3779b97f4a7c15ULL ^ 0x5bd1e995, b = ~n * 0xc2b2ae3d27d4eb4fULL;
    for (int i = 0, j = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            out[i] = '-';
            continue;
        }
        uint64_t *src = j < 16 ? &a : &b;
        out[i] = hex[*src & 15];
        *src >>= 4;
        j++;
    }
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (n > 0; v is sorted in place). */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
