/*
 * score — quintile breakpoints and scores, exactly as the seeds' pandas code:
 *
 *   r = qcut(recency, bins, labels=[bins..1])
 *   f = qcut(frequency.rank(method="first"), bins, labels=[1..bins])
 *   m = qcut(monetary, bins, labels=[1..bins])
 *
 * Edges are numpy's linearly interpolated quantiles (np.percentile, default
 * method, computed with the same floating-point steps as numpy 2.x), bins are
 * right-closed with the lowest edge included (pandas searchsorted 'left').
 *
 * Coinciding edges (pandas raises "Bin edges must be unique"): rfmd keeps all
 * bins+1 edges and assigns a value to the lowest bin whose right edge is >= it,
 * so a value equal to a repeated edge lands in the lowest of the repeated bins
 * and the bins between stay empty. No customer is dropped.
 *
 * Frequency ranks are distinct, so the F edges become "cut customers": for each
 * inner edge k the customer at rank floor(edge_k) in tie order. A customer's f
 * is 1 + the number of cuts it sorts after in (frequency, tie key) order; that
 * makes F scoring of a single customer between recomputes exact too.
 *
 * Several stores (one per owned input partition) score as one: the _set
 * functions compute as_of and breakpoints over all their customers, bit for
 * bit what one store holding them all gives (edges and cuts alike), and each
 * store is then rescored on its own against those breakpoints — scoring reads
 * only the breakpoints and the customer's own record and key, never the rest
 * of its store. A customer id must live in one store of a set only.
 */
#ifndef RFM_SCORE_H
#define RFM_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/segment.h"
#include "rfm/store.h"

#define SCORE_BINS_MAX SEGMENT_BINS_MAX
#define SCORE_DAY      86400

typedef enum score_tie_break {
    SCORE_TIE_CUSTOMER_ID = 0, /* byte order of the id (pandas groupby order) */
    SCORE_TIE_FIRST_ORDER,     /* earliest first order, then customer id */
} score_tie_break;

typedef enum score_clock {
    SCORE_CLOCK_EVENT = 0, /* as_of = day of newest order + offset */
    SCORE_CLOCK_WALL,      /* as_of = now */
} score_clock;

typedef struct score_settings {
    int bins; /* 2..SCORE_BINS_MAX, default 5 */
    score_tie_break tie_break;
    score_clock clock;
    int as_of_offset_days; /* default 2 */
    int64_t as_of_fixed;   /* epoch seconds; >0 overrides the clock (rfmctl --as-of) */
} score_settings;

void score_settings_default(score_settings *s);

/* One F cut: the customer at rank floor(edge_k) in tie order. */
typedef struct score_cut {
    bool valid; /* false: every customer is above this edge (no rank <= edge) */
    uint32_t frequency;
    uint32_t first_ts; /* used by SCORE_TIE_FIRST_ORDER */
    uint8_t key_len;
    char key[STORE_KEY_MAX];
} score_cut;

typedef struct score_breakpoints {
    uint64_t version; /* 0 = never computed */
    int bins;
    size_t customers;                     /* customers the edges were computed over */
    int64_t as_of;                        /* epoch seconds */
    double r_edges[SCORE_BINS_MAX + 1];   /* recency, days */
    double f_edges[SCORE_BINS_MAX + 1];   /* ranks 1..customers */
    double m_edges[SCORE_BINS_MAX + 1];   /* monetary, currency units (cents/100) */
    score_cut f_cuts[SCORE_BINS_MAX + 1]; /* [1..bins-1] used */
} score_breakpoints;

/* as_of for the store under these settings (epoch seconds). */
int64_t score_as_of(const score_settings *st, const store *s, int64_t now);

/* as_of over a set of stores: the event clock reads the newest order time of
 * all of them. stores[0..nstores) non-NULL; nstores 0 counts as no orders. */
int64_t score_as_of_set(const score_settings *st, const store *const *stores, size_t nstores,
                        int64_t now);

/* Recency in days: floor((as_of - last_ts) / day), never below 0. */
int64_t score_recency_days(int64_t as_of, uint32_t last_ts);

/* Recompute all breakpoints over every customer with frequency > 0.
 * bp->version becomes prev_version + 1. Returns 0, -1 on allocation failure. */
int score_breakpoints_compute(const score_settings *st, const store *s, int64_t now,
                              uint64_t prev_version, score_breakpoints *bp);

/* score_breakpoints_compute over every customer of stores[0..nstores) as if
 * they were one store (same bp, bit for bit; bp->customers counts them all).
 * Costs what one store of as many records does: no record is copied. The
 * stores are only read. -1 also when the set holds more than UINT32_MAX
 * records. score_breakpoints_compute is this with one store. */
int score_breakpoints_compute_set(const score_settings *st, const store *const *stores,
                                  size_t nstores, int64_t now, uint64_t prev_version,
                                  score_breakpoints *bp);

/* Score one customer of store s against bp (does not write the record). bp
 * may come from a set that s is one store of. */
void score_customer(const score_settings *st, const score_breakpoints *bp, const store *s,
                    const store_customer *c, int *r, int *f, int *m);

/* Score one customer and store r, f, m, segment in its record. Returns the
 * previous segment. */
uint8_t score_apply(const score_settings *st, const score_breakpoints *bp, const segment_map *map,
                    const store *s, store_customer *c);

/* Called once per customer whose segment changed during a rescore. */
typedef void (*score_change_fn)(void *ctx, size_t idx, store_customer *c, uint8_t old_segment);

/* Rescore every customer of s against bp; returns how many changed segment.
 * With breakpoints of a set, call it once per store of the set: each store's
 * customers get the scores the merged store would give them. */
size_t score_rescore_all(const score_settings *st, const score_breakpoints *bp,
                         const segment_map *map, store *s, score_change_fn on_change, void *ctx);

/* Indices of all scored customers in tie order (SPEC §6 table order): caller
 * frees. NULL on allocation failure; *n receives the count. */
size_t *score_tie_order(const score_settings *st, const store *s, size_t *n);

/* The comparison score_tie_order sorts by, for two customers of any stores
 * (ca a record of sa, cb of sb): < 0 when ca comes first, > 0 when cb does,
 * 0 for equal tie keys (the same id; within one store, the same customer).
 * With it, the tie orders of the stores of a set merge into the order one
 * store holding them all gives (ids are unique across a set). */
int score_tie_compare(score_tie_break mode, const store *sa, const store_customer *ca,
                      const store *sb, const store_customer *cb);

#endif
