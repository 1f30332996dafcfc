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

#include <stdbool.h>
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

/* Whether as_of comes from the newest order time (the event clock, no fixed
 * as_of); it is then a whole number of days. */
bool score_as_of_from_orders(const score_settings *st);

/* as_of given the newest order time of everything scored (read only when
 * score_as_of_from_orders): the one formula score_as_of_set uses. */
int64_t score_as_of_ts(const score_settings *st, uint32_t max_ts, int64_t now);

/* The bins every computation uses: st->bins clamped to 2..SCORE_BINS_MAX. */
int score_clamp_bins(int bins);

/* Read points of all bins+1 edges over n > 0 values: qp[0..bins]. */
void score_qpoints(int bins, size_t n, score_qpoint *qp);

/* Most sorted positions the edges of one dimension read. */
#define SCORE_QPOS_MAX (2 * (SCORE_BINS_MAX + 1))

/* The positions qp[0..bins] read (lo and hi of each), ascending, duplicates
 * kept; pos holds SCORE_QPOS_MAX. Returns how many. */
size_t score_qpoint_positions(const score_qpoint *qp, int bins, size_t *pos);

/* The edges from the sorted values at those positions: val[i] is the
 * pos[i]-th smallest value, in integer units that (double)val / div turns
 * into the edge's unit (1 for recency days, 100 for cents). Every path that
 * computes breakpoints ends here, so one set of values gives one set of bits. */
void score_edges_at(const score_qpoint *qp, int bins, const size_t *pos, size_t np,
                    const int64_t *val, double div, double *edges);

/* F edges: the quantiles of the ranks 1..n, which need no data. */
void score_rank_edges(const score_qpoint *qp, int bins, double *edges);

/* The 1-based rank a cut names for F edge `edge` over n > 0 customers:
 * floor(edge), clamped to 1..n. */
size_t score_cut_rank(double edge, size_t n);

/* Fill a valid cut from its customer's fields and id (cut zeroed before). */
void score_cut_set(score_cut *cut, uint32_t frequency, uint32_t first_ts, const char *key,
                   size_t len);

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

/* The values score_bucket maps to b: [score_bucket_lo(b), +width). Bucket
 * 0 (negatives) starts at INT64_MIN and is 2^63 wide. */
static inline int64_t score_bucket_lo(uint32_t b) {
    if (b == 0)
        return INT64_MIN;
    if (b <= 1024)
        return (int64_t)b - 1;
    uint32_t e = ((b - 1) >> 10) + 9, mant = (b - 1) & 1023;
    return (int64_t)((uint64_t)(1024 + mant) << (e - 10));
}
static inline uint64_t score_bucket_width(uint32_t b) {
    if (b == 0)
        return (uint64_t)1 << 63;
    if (b <= 1024)
        return 1;
    return (uint64_t)1 << (((b - 1) >> 10) - 1);
}

/* out[i] = the pos[i]-th smallest of v[0..n) (pos ascending), given hist, the
 * count of v per score_bucket. Gathers only the buckets holding a wanted
 * position, so v is read once and left untouched. Returns 0, -1 on
 * allocation failure. */
int score_select_bucketed(const int64_t *v, size_t n, const uint64_t *hist, const size_t *pos,
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
