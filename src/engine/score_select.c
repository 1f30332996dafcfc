/*
 * score_select — the arithmetic and order statistics behind the breakpoints.
 *
 * Exactness: pandas qcut asks Series.quantile for np.linspace(0, 1, bins+1)
 * (nudged one ulp up where bins*q != k, pandas >= 3), which reaches numpy's
 * `_quantile` with method 'linear':
 *
 *   virtual index  vi = (n - 1) * q           (one double multiply)
 *   lo = floor(vi), hi = lo + 1, gamma = vi - lo; vi >= n-1 reads the last value
 *   value          a + (b - a) * gamma        when gamma <  0.5
 *                  b - (b - a) * (1 - gamma)  when gamma >= 0.5
 *
 * Every step below is the same IEEE double operation in the same order, so
 * the edges are bit-identical to pandas'. (Each operation is a separate
 * statement-level expression; the build uses ISO C mode, where GCC does not
 * contract a*b+c into an FMA, and x86-64 baseline has no FMA anyway.)
 *
 * Speed: a few order statistics of millions of values do not need a sort.
 * Multi-quickselect partitions once and recurses only into sides that still
 * hold a wanted position: O(n) expected. Hoare partitioning stops on equal
 * keys from both sides, so heavy duplication (every customer on the same day)
 * stays balanced; a depth limit falls back to qsort against adversarial input.
 * For wide-ranged values (monetary) a counting pass into float-like buckets
 * comes first, so quickselect only runs on the few buckets that hold a
 * wanted position: two streaming passes instead of several partitioning
 * ones over the whole array.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "score_internal.h"

#define SMALL_RANGE 24

void score_qcut_quantiles(int bins, double *q) {
    /* np.linspace(0, 1, bins+1): step = (1-0)/bins, y = k*step + 0, y[-1] = 1. */
    double step = 1.0 / (double)bins;
    for (int k = 0; k <= bins; k++)
        q[k] = (double)k * step + 0.0;
    q[bins] = 1.0;
    /* pandas: np.putmask(q, bins*q != arange, np.nextafter(q, 1)) */
    for (int k = 0; k <= bins; k++)
        if ((double)bins * q[k] != (double)k)
            q[k] = nextafter(q[k], 1.0);
}

score_qpoint score_qpoint_of(size_t n, double q) {
    score_qpoint p;
    double vi = (double)(n - 1) * q;
    if (vi >= (double)(n - 1)) {
        p.lo = p.hi = n - 1;
        p.gamma = 0.0; /* numpy's gamma differs here, but lerp(a, a, t) == a for any t */
        return p;
    }
    if (vi < 0) { /* cannot happen for q in [0, 1]; numpy clamps to index 0 */
        p.lo = p.hi = 0;
        p.gamma = 0.0;
        return p;
    }
    double lo = floor(vi);
    p.lo = (size_t)lo;
    p.hi = p.lo + 1;
    p.gamma = vi - lo;
    return p;
}

double score_lerp(double a, double b, double t) {
    double diff = b - a;
    if (t >= 0.5) {
        double w = 1.0 - t;
        double d = diff * w;
        return b - d;
    }
    double d = diff * t;
    return a + d;
}

int score_clamp_bins(int bins) {
    return bins < 2 ? 2 : bins > SCORE_BINS_MAX ? SCORE_BINS_MAX : bins;
}

void score_qpoints(int bins, size_t n, score_qpoint *qp) {
    double q[SCORE_BINS_MAX + 1] = {0};
    score_qcut_quantiles(bins, q);
    for (int k = 0; k <= bins; k++)
        qp[k] = score_qpoint_of(n, q[k]);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

size_t score_qpoint_positions(const score_qpoint *qp, int bins, size_t *pos) {
    size_t np = 0;
    for (int k = 0; k <= bins; k++) {
        pos[np++] = qp[k].lo;
        pos[np++] = qp[k].hi;
    }
    qsort(pos, np, sizeof *pos, cmp_size);
    return np;
}

/* Index of p in the sorted positions. */
static size_t pos_index(const size_t *pos, size_t np, size_t p) {
    size_t lo = 0, hi = np;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pos[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The lerp of each edge between its two read values, as numpy does. */
static void edges_from(const score_qpoint *qp, int bins, const double *lo_val, const double *hi_val,
                       double *edges) {
    for (int k = 0; k <= bins; k++)
        edges[k] = score_lerp(lo_val[k], hi_val[k], qp[k].gamma);
}

void score_edges_at(const score_qpoint *qp, int bins, const size_t *pos, size_t np,
                    const int64_t *val, double div, double *edges) {
    double lo[SCORE_BINS_MAX + 1], hi[SCORE_BINS_MAX + 1];
    for (int k = 0; k <= bins; k++) {
        lo[k] = (double)val[pos_index(pos, np, qp[k].lo)] / div;
        hi[k] = (double)val[pos_index(pos, np, qp[k].hi)] / div;
    }
    edges_from(qp, bins, lo, hi, edges);
}

void score_rank_edges(const score_qpoint *qp, int bins, double *edges) {
    double lo[SCORE_BINS_MAX + 1], hi[SCORE_BINS_MAX + 1];
    for (int k = 0; k <= bins; k++) { /* sorted ranks: value at p is p + 1 */
        lo[k] = (double)(qp[k].lo + 1);
        hi[k] = (double)(qp[k].hi + 1);
    }
    edges_from(qp, bins, lo, hi, edges);
}

size_t score_cut_rank(double edge, size_t n) {
    double r = floor(edge);
    return r < 1 ? 1 : r > (double)n ? n : (size_t)r;
}

void score_cut_set(score_cut *cut, uint32_t frequency, uint32_t first_ts, const char *key,
                   size_t len) {
    cut->valid = true;
    cut->frequency = frequency;
    cut->first_ts = first_ts;
    cut->key_len = (uint8_t)(len > STORE_KEY_MAX ? STORE_KEY_MAX : len);
    memcpy(cut->key, key, cut->key_len);
}

/* ---- multi-select bookkeeping ---- */

/* A range v[0..n) of a multi-select, at offset `base` of the original array,
 * and the wanted positions that fall in it (absolute, ascending). */
typedef struct sel_range {
    size_t base, n;
    const size_t *pos;
    size_t npos;
} sel_range;

/* After partitioning r's values so that the first `left` are the low side:
 * returns that side with its positions and leaves r as the high side. The
 * one piece of bookkeeping both selects (int64 values, tie-order entries)
 * share; they differ only in how they compare and move values. */
static inline sel_range sel_split(sel_range *r, size_t left) {
    sel_range l = {r->base, left, r->pos, 0};
    while (l.npos < r->npos && r->pos[l.npos] < r->base + left)
        l.npos++;
    r->base += left;
    r->n -= left;
    r->pos += l.npos;
    r->npos -= l.npos;
    return l;
}

/* ---- int64 multi-select ---- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void swap_i64(int64_t *v, ptrdiff_t i, ptrdiff_t j) {
    int64_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

/* Hoare partition of v[0..n) around the median of three (moved to v[0]).
 * Returns j: v[0..j] <= pivot <= v[j+1..n), both sides non-empty. */
static ptrdiff_t part_i64(int64_t *v, ptrdiff_t n) {
    ptrdiff_t mid = n / 2, last = n - 1;
    if (v[0] < v[mid])
        swap_i64(v, 0, mid);
    if (v[last] < v[0]) {
        swap_i64(v, 0, last);
        if (v[0] < v[mid])
            swap_i64(v, 0, mid);
    }
    int64_t p = v[0];
    ptrdiff_t i = -1, j = n;
    for (;;) {
        do
            i++;
        while (v[i] < p);
        do
            j--;
        while (v[j] > p);
        if (i >= j)
            return j;
        swap_i64(v, i, j);
    }
}

static void insertion_i64(int64_t *v, size_t n) {
    for (size_t i = 1; i < n; i++) {
        int64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* v holds r's values. Recursion goes left, the loop continues right. */
static void select_i64(int64_t *v, sel_range r, int depth) {
    while (r.npos && r.n > SMALL_RANGE) {
        if (depth-- <= 0) {
            qsort(v, r.n, sizeof *v, cmp_i64);
            return;
        }
        size_t left = (size_t)part_i64(v, (ptrdiff_t)r.n) + 1;
        select_i64(v, sel_split(&r, left), depth);
        v += left;
    }
    if (r.npos)
        insertion_i64(v, r.n);
}

static int depth_limit(size_t n) {
    int d = 0;
    while (n > 1) {
        n >>= 1;
        d++;
    }
    return 2 * d + 8;
}

void score_select_i64(int64_t *v, size_t n, const size_t *pos, size_t npos) {
    select_i64(v, (sel_range){0, n, pos, npos}, depth_limit(n));
}

int score_select_bucketed(const int64_t *v, size_t n, const uint64_t *hist, const size_t *pos,
                          size_t npos, int64_t *out) {
    /* Which bucket each wanted position falls in, and where inside it. */
    enum { MAXP = SCORE_QPOS_MAX };
    uint32_t bucket[MAXP];
    size_t inpos[MAXP], cum = 0, nb = 0;
    uint32_t b = 0, want[MAXP];
    size_t start[MAXP + 1];
    if (npos > MAXP)
        return -1;
    for (size_t i = 0; i < npos; i++) {
        while (b < SCORE_BUCKETS && pos[i] >= cum + hist[b])
            cum += hist[b++];
        bucket[i] = b;
        inpos[i] = pos[i] - cum;
        if (!nb || want[nb - 1] != b)
            want[nb++] = b;
    }
    start[0] = 0;
    for (size_t j = 0; j < nb; j++)
        start[j + 1] = start[j] + hist[want[j]];
    int64_t *g = malloc((start[nb] ? start[nb] : 1) * sizeof *g);
    uint8_t *tag = calloc(SCORE_BUCKETS, 1);
    if (!g || !tag) {
        free(g);
        free(tag);
        return -1;
    }
    for (size_t j = 0; j < nb; j++)
        tag[want[j]] = (uint8_t)(j + 1);
    size_t fill[MAXP];
    memcpy(fill, start, nb * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        uint8_t t = tag[score_bucket(v[i])];
        if (t)
            g[fill[t - 1]++] = v[i];
    }
    for (size_t j = 0, i = 0; j < nb; j++) {
        size_t p[MAXP], np = 0;
        for (size_t k = i; k < npos && bucket[k] == want[j]; k++)
            p[np++] = inpos[k];
        score_select_i64(g + start[j], start[j + 1] - start[j], p, np);
        for (; i < npos && bucket[i] == want[j]; i++)
            out[i] = g[start[j] + inpos[i]];
    }
    free(g);
    free(tag);
    return 0;
}

/* ---- tie-order entries ---- */

static uint64_t load_be(const char *p, size_t len, size_t max) {
    uint64_t x = 0;
    for (size_t i = 0; i < max; i++)
        x = x << 8 | (i < len ? (uint8_t)p[i] : 0);
    return x;
}

uint64_t score_tie_prefix(score_tie_break mode, const char *key, size_t len, uint32_t first_ts) {
    if (mode == SCORE_TIE_FIRST_ORDER)
        return (uint64_t)first_ts << 32 | load_be(key, len, 4);
    return load_be(key, len, 8);
}

int score_tie_compare(score_tie_break mode, const store *sa, const store_customer *ca,
                      const store *sb, const store_customer *cb) {
    if (mode == SCORE_TIE_FIRST_ORDER && ca->first_ts != cb->first_ts)
        return ca->first_ts < cb->first_ts ? -1 : 1;
    size_t la, lb;
    const char *ka = store_key(sa, ca, &la), *kb = store_key(sb, cb, &lb);
    int c = memcmp(ka, kb, la < lb ? la : lb);
    if (c)
        return c;
    return (la > lb) - (la < lb);
}

int score_tie_cmp(const score_tiectx *t, const score_ent *a, const score_ent *b) {
    const store *sa = t->stores[a->set], *sb = t->stores[b->set];
    return score_tie_compare(t->mode, sa, store_at_const(sa, a->idx), sb,
                             store_at_const(sb, b->idx));
}

static inline int ent_cmp(const score_tiectx *t, const score_ent *a, const score_ent *b) {
    if (a->pre != b->pre)
        return a->pre < b->pre ? -1 : 1;
    if (a->idx == b->idx && a->set == b->set)
        return 0;
    return score_tie_cmp(t, a, b);
}

static int ent_qsort_cmp(const void *a, const void *b, void *t) {
    return ent_cmp(t, a, b);
}

static void swap_ent(score_ent *v, ptrdiff_t i, ptrdiff_t j) {
    score_ent x = v[i];
    v[i] = v[j];
    v[j] = x;
}

static ptrdiff_t part_ent(score_ent *v, ptrdiff_t n, const score_tiectx *t) {
    ptrdiff_t mid = n / 2, last = n - 1;
    if (ent_cmp(t, &v[0], &v[mid]) < 0)
        swap_ent(v, 0, mid);
    if (ent_cmp(t, &v[last], &v[0]) < 0) {
        swap_ent(v, 0, last);
        if (ent_cmp(t, &v[0], &v[mid]) < 0)
            swap_ent(v, 0, mid);
    }
    score_ent p = v[0];
    ptrdiff_t i = -1, j = n;
    for (;;) {
        do
            i++;
        while (ent_cmp(t, &v[i], &p) < 0);
        do
            j--;
        while (ent_cmp(t, &v[j], &p) > 0);
        if (i >= j)
            return j;
        swap_ent(v, i, j);
    }
}

static void insertion_ent(score_ent *v, size_t n, const score_tiectx *t) {
    for (size_t i = 1; i < n; i++) {
        score_ent x = v[i];
        size_t j = i;
        for (; j > 0 && ent_cmp(t, &v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* As select_i64, in tie order. */
static void select_ent(score_ent *v, sel_range r, const score_tiectx *t, int depth) {
    while (r.npos && r.n > SMALL_RANGE) {
        if (depth-- <= 0) {
            qsort_r(v, r.n, sizeof *v, ent_qsort_cmp, (void *)t);
            return;
        }
        size_t left = (size_t)part_ent(v, (ptrdiff_t)r.n, t) + 1;
        select_ent(v, sel_split(&r, left), t, depth);
        v += left;
    }
    if (r.npos)
        insertion_ent(v, r.n, t);
}

void score_select_ent(score_ent *v, size_t n, const size_t *pos, size_t npos,
                      const score_tiectx *t) {
    select_ent(v, (sel_range){0, n, pos, npos}, t, depth_limit(n));
}

static void sort_ent(score_ent *v, size_t n, const score_tiectx *t, int depth) {
    while (n > SMALL_RANGE) {
        if (depth-- <= 0) {
            qsort_r(v, n, sizeof *v, ent_qsort_cmp, (void *)t);
            return;
        }
        size_t left = (size_t)part_ent(v, (ptrdiff_t)n, t) + 1;
        /* Recurse into the smaller side so the stack stays O(log n). */
        if (left < n - left) {
            sort_ent(v, left, t, depth);
            v += left;
            n -= left;
        } else {
            sort_ent(v + left, n - left, t, depth);
            n = left;
        }
    }
    insertion_ent(v, n, t);
}

void score_sort_ent(score_ent *v, size_t n, const score_tiectx *t) {
    sort_ent(v, n, t, depth_limit(n));
}
