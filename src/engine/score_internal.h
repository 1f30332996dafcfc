/*
 * score internals shared by score.c and score_select.c: numpy's quantile
 * arithmetic, order-statistic selection and tie-order keys.
 *
 * Tie order works over a set of stores (the breakpoints of several stores
 * computed as if they were one): an entry names its customer by the store's
 * position in the set and the record's index in that store, so no record or
 * key is ever copied out of its store.
 */
#ifndef RFM_SCORE_INTERNAL_H
#define RFM_SCORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rfm/score.h"
#include "rfm/store.h"

/* Where numpy's 'linear' quantile q of n sorted values reads: the value is
 * lerp(sorted[lo], sorted[hi], gamma); lo == hi at the top end. */
typedef struct score_qpoint {
    size_t lo, hi;
    double gamma;
} score_qpoint;

/* pandas qcut's quantile list for `bins` bins: np.linspace(0, 1, bins+1),
 * nudged up one ulp where bins*q is not exactly k (pandas >= 3). */
void score_qcut_quantiles(int bins, double *q);

/* numpy's virtual index for quantile q over n > 0 values. */
score_qpoint score_qpoint_of(size_t n, double q);

/* numpy's _lerp, with its t >= 0.5 branch. */
double score_lerp(double a, double b, double t);

/* Reorder v so that v[pos[i]] holds the pos[i]-th smallest value for every
 * i (pos ascending; duplicates allowed). O(n) expected, O(n log n) worst. */
void score_select_i64(int64_t *v, size_t n, const size_t *pos, size_t npos);

/* Monotone bucket of an int64 for a two-pass selection: negatives share
 * bucket 0, then one bucket per value below 1024 and 1024 buckets per power
 * of two above (a float-like key with 10 mantissa bits). */
#define SCORE_BUCKETS (1 + 55296)
static inline uint32_t score_bucket(int64_t v) {
    if (v < 0)
        return 0;
    if (v < 1024)
        return 1 + (uint32_t)v;
    int e = 63 - __builtin_clzll((unsigned long long)v);
    return 1 + ((uint32_t)(e - 9) << 10 | (uint32_t)((uint64_t)v >> (e - 10) & 1023));
}

/* out[i] = the pos[i]-th smallest of v[0..n) (pos ascending), given hist, the
 * count of v per score_bucket. Gathers only the buckets holding a wanted
 * position, so v is read once and left untouched. Returns 0, -1 on
 * allocation failure. */
int score_select_bucketed(const int64_t *v, size_t n, const uint32_t *hist, const size_t *pos,
                          size_t npos, int64_t *out);

/* An entry of tie order: an 8-byte big-endian prefix of the tie key decides
 * most comparisons without touching the key itself. */
typedef struct score_ent {
    uint64_t pre;
    uint32_t idx; /* record index in its store */
    uint32_t set; /* the store's position in the set (0 for one store) */
} score_ent;

/* The stores entries point into; stores[ent.set] holds ent.idx. */
typedef struct score_tiectx {
    const store *const *stores;
    score_tie_break mode;
} score_tiectx;

/* The record an entry names. */
static inline const store_customer *score_ent_rec(const store *const *stores, const score_ent *e) {
    return store_at_const(stores[e->set], e->idx);
}

uint64_t score_tie_prefix(score_tie_break mode, const char *key, size_t len, uint32_t first_ts);

/* Full tie-key comparison of two customers (first_ts when mode asks, then
 * the id bytes, a proper prefix first). Equal ids in two stores compare
 * equal: one customer lives in one store, so that never decides a cut. */
int score_tie_cmp(const score_tiectx *t, const score_ent *a, const score_ent *b);

void score_select_ent(score_ent *v, size_t n, const size_t *pos, size_t npos,
                      const score_tiectx *t);
void score_sort_ent(score_ent *v, size_t n, const score_tiectx *t);

#endif
