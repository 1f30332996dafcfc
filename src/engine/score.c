/*
 * score — breakpoints over the whole store, or over a set of stores as if they
 * were one, and scoring against them.
 *
 * A set of stores (one per owned input partition) is never merged: every pass
 * below walks the stores one after the other, and tie-order entries name a
 * customer by (store, index). Step 1 keeps one value per customer exactly as
 * for a single store of the same size, so k stores of N customers in all cost
 * what one store of N does, and give bit-identical breakpoints: the edges
 * depend only on the multiset of values, the cuts only on tie order, which is
 * a total order on (frequency, tie key) whatever store a customer is in. The
 * single-store functions are the set functions with one store.
 *
 * A recompute is a few linear passes, never a sort, and it is the one-member
 * case of score_round (the breakpoints of stores in several processes): the
 * same summary, merge, plan and finish, with the order statistics resolved
 * here from the values at hand instead of asked for in refinement rounds.
 *
 *  1. One pass over the records (score_round_collect) counts recency by day,
 *     frequency (sparse) and monetary into float-like buckets, and keeps
 *     every cents value and a copy of every frequency in record order,
 *     store after store, for steps 2 and 4.
 *  2. R and M edges need at most 2*(bins+1) order statistics, then are
 *     interpolated exactly as numpy does (score_edges_at). Recency reads
 *     them off its histogram. Monetary has too wide a range for that: a
 *     second pass over the cents gathers only the buckets holding a wanted
 *     position for quickselect (score_select.c). It is selected as integer
 *     cents: x/100.0 is monotone, so the k-th smallest cents divided by 100
 *     is numpy's k-th smallest value.
 *  3. F edges are quantiles of the ranks 1..N, so they need no data at all;
 *     what they need is *which* customer holds rank floor(edge) — the cut.
 *     The frequency histogram says in which frequency group each cut rank
 *     falls and at which position inside it (score_round's plan).
 *  4. Only those few groups are gathered (with an 8-byte tie-key prefix) and
 *     the wanted positions selected by tie key.
 *
 * Scoring then compares: r and m count the inner edges below the value (pandas
 * searchsorted 'left' on all edges, the lowest edge included), f counts the
 * cuts the customer sorts after. Key bytes are only read for customers whose
 * frequency equals a cut's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rfm/score.h"
#include "score_internal.h"
#include "score_round_internal.h"

/* Frequencies below this are counted in a histogram; the rest listed. */
#define FREQ_HIST 65536u

void score_settings_default(score_settings *s) {
    memset(s, 0, sizeof *s);
    s->bins = 5;
    s->tie_break = SCORE_TIE_CUSTOMER_ID;
    s->clock = SCORE_CLOCK_EVENT;
    s->as_of_offset_days = 2;
    s->as_of_fixed = 0;
}

bool score_as_of_from_orders(const score_settings *st) {
    return st->as_of_fixed <= 0 && st->clock == SCORE_CLOCK_EVENT;
}

int64_t score_as_of_ts(const score_settings *st, uint32_t max_ts, int64_t now) {
    if (st->as_of_fixed > 0)
        return st->as_of_fixed;
    if (st->clock == SCORE_CLOCK_WALL)
        return now > 0 ? now : (int64_t)time(NULL); /* batch callers pass 0 */
    int64_t ts = max_ts;
    return ts - ts % SCORE_DAY + (int64_t)st->as_of_offset_days * SCORE_DAY;
}

int64_t score_as_of_set(const score_settings *st, const store *const *stores, size_t nstores,
                        int64_t now) {
    uint32_t ts = 0;
    for (size_t k = 0; score_as_of_from_orders(st) && k < nstores; k++)
        if (store_max_ts(stores[k]) > ts)
            ts = store_max_ts(stores[k]);
    return score_as_of_ts(st, ts, now);
}

int64_t score_as_of(const score_settings *st, const store *s, int64_t now) {
    return score_as_of_set(st, &s, 1, now);
}

int64_t score_recency_days(int64_t as_of, uint32_t last_ts) {
    int64_t d = as_of - (int64_t)last_ts;
    return d <= 0 ? 0 : d / SCORE_DAY;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Tie prefixes for ents[0..m) (idx already set). Members are scattered over
 * the record array and their keys over the arena, so a plain loop waits on
 * two cache misses per entry. A software pipeline overlaps them: the record
 * of entry t+D is prefetched, the key of entry t is located (store_key reads
 * its length byte, which starts pulling the key's cache line without the loop
 * waiting for it), and entry t-D is computed from cache. */
#define PIPE_D 16
static void fill_prefixes(const store *const *stores, score_tie_break mode, score_ent *ents,
                          size_t m) {
    struct {
        const char *key;
        size_t len;
        uint32_t first_ts;
    } ring[2 * PIPE_D];
    /* Step t: prefetch record t+D, locate key t, compute entry t-D. */
    for (size_t t = 0; t < m + PIPE_D; t++) {
        if (t + PIPE_D < m)
            __builtin_prefetch(score_ent_rec(stores, &ents[t + PIPE_D]));
        if (t < m) {
            const store_customer *c = score_ent_rec(stores, &ents[t]);
            size_t r = t % (2 * PIPE_D);
            ring[r].key = store_key(stores[ents[t].set], c, &ring[r].len);
            ring[r].first_ts = c->first_ts;
        }
        if (t >= PIPE_D) {
            size_t i = t - PIPE_D, r = i % (2 * PIPE_D);
            ents[i].pre = score_tie_prefix(mode, ring[r].key, ring[r].len, ring[r].first_ts);
        }
    }
}

/* Step 4 of the top comment: the cut customers of r's cuts, from their
 * groups gathered out of freq (every record's frequency, store after
 * store). Cut ranks ascend with k, so cuts sharing a group are adjacent. */
static int find_cuts(score_round *r, const store *const *stores, size_t nstores,
                     const uint32_t *freq, score_tie_break mode) {
    int bins = r->bp.bins, ng = 0, cut_group[SCORE_BINS_MAX + 1];
    uint32_t gval[SCORE_BINS_MAX];
    size_t goff[SCORE_BINS_MAX + 1];
    goff[0] = 0;
    for (int k = 1; k < bins; k++) {
        const fstat *f = &r->fs[k];
        if (!ng || gval[ng - 1] != f->frequency) {
            gval[ng] = f->frequency;
            goff[ng + 1] = goff[ng] + (size_t)f->count; /* count: the whole group yet */
            ng++;
        }
        cut_group[k] = ng - 1;
    }
    size_t total = goff[ng];
    score_ent *ents = malloc((total ? total : 1) * sizeof *ents);
    uint8_t *tag = calloc(FREQ_HIST, 1);
    if (!ents || !tag) {
        free(ents);
        free(tag);
        return -1;
    }
    for (int g = 0; g < ng; g++)
        if (gval[g] < FREQ_HIST)
            tag[gval[g]] = (uint8_t)(g + 1);
    size_t fill[SCORE_BINS_MAX];
    memcpy(fill, goff, (size_t)ng * sizeof *fill);
    for (size_t k = 0; k < nstores; k++) {
        size_t cnt = store_count(stores[k]);
        for (size_t i = 0; i < cnt; i++) {
            uint32_t fr = freq[i];
            int g = -1;
            if (fr < FREQ_HIST) {
                g = tag[fr] - 1;
            } else {
                for (int h = 0; h < ng; h++)
                    if (gval[h] == fr)
                        g = h;
            }
            if (fr && g >= 0)
                ents[fill[g]++] = (score_ent){0, (uint32_t)i, (uint32_t)k};
        }
        freq += cnt;
    }
    free(tag);
    fill_prefixes(stores, mode, ents, total);

    score_tiectx tc = {stores, mode};
    for (int g = 0, k = 1; g < ng; g++) {
        size_t gpos[SCORE_BINS_MAX], np = 0;
        int k0 = k;
        for (; k < bins && cut_group[k] == g; k++)
            gpos[np++] = (size_t)r->fs[k].j;
        /* The positions of one group ascend with k; select wants them so. */
        qsort(gpos, np, sizeof *gpos, cmp_size);
        score_ent *e = ents + goff[g];
        score_select_ent(e, goff[g + 1] - goff[g], gpos, np, &tc);
        for (int j = k0; j < k; j++) {
            const score_ent *at = &e[r->fs[j].j];
            const store_customer *c = score_ent_rec(stores, at);
            size_t len;
            const char *key = store_key(stores[at->set], c, &len);
            score_cut_set(&r->bp.f_cuts[j], c->frequency, c->first_ts, key, len);
            r->fs[j].exact = true;
        }
    }
    free(ents);
    return 0;
}

/* Steps 1-4 through a coordinator of one member that answers its own
 * questions exactly: the summary pass also keeps every cents value and
 * frequency, so the wanted monetary values come from one selection over
 * them and the cuts from their gathered groups, where a remote member would
 * be asked in refinement rounds. Plan and finish are score_round's. */
static score_round_state compute_local(score_round *r, const score_settings *st,
                                       const store *const *stores, size_t nstores, int64_t now,
                                       size_t count) {
    size_t alloc = count ? count : 1;
    int64_t *cents = malloc(alloc * sizeof *cents);
    uint32_t *freq = malloc(alloc * sizeof *freq);
    score_round_summary *s =
        cents && freq ? score_round_collect(st, stores, nstores, now, cents, freq) : NULL;
    score_round_state state = SCORE_ROUND_FAILED;
    if (!s || score_round_add_summary(r, s, NULL, 0))
        goto out;
    state = score_round_next(r, NULL, 0);
    if (state != SCORE_ROUND_ASK)
        goto out;
    state = SCORE_ROUND_FAILED;
    int64_t val[SCORE_QPOS_MAX];
    if (score_select_bucketed(cents, (size_t)s->n, r->bkt, r->pos, r->np, val))
        goto out;
    for (size_t i = 0; i < r->np; i++) {
        r->ms[i].lo = val[i];
        r->ms[i].exact = true;
    }
    free(cents);
    cents = NULL;
    if (find_cuts(r, stores, nstores, freq, st->tie_break) || score_round_complete(r))
        goto out;
    state = SCORE_ROUND_DONE;
out:
    free(cents);
    free(freq);
    score_round_summary_free(s);
    return state;
}

int score_breakpoints_compute_set(const score_settings *st, const store *const *stores,
                                  size_t nstores, int64_t now, uint64_t prev_version,
                                  score_breakpoints *bp) {
    memset(bp, 0, sizeof *bp);
    bp->version = prev_version + 1;
    bp->bins = score_clamp_bins(st->bins);
    bp->as_of = score_as_of_set(st, stores, nstores, now);
    /* Entries hold 32-bit indices and store positions; the histograms count
     * in 32 bits, so the set as a whole obeys one store's limit. */
    size_t total = 0;
    for (size_t k = 0; k < nstores; k++)
        total += store_count(stores[k]);
    if (total > UINT32_MAX || nstores > UINT32_MAX)
        return -1;
    score_round *r = score_round_new(st, now, prev_version, 0);
    if (!r)
        return -1;
    int rc = -1;
    if (compute_local(r, st, stores, nstores, now, total) == SCORE_ROUND_DONE)
        rc = score_round_result(r, bp);
    score_round_free(r);
    return rc;
}

int score_breakpoints_compute(const score_settings *st, const store *s, int64_t now,
                              uint64_t prev_version, score_breakpoints *bp) {
    return score_breakpoints_compute_set(st, &s, 1, now, prev_version, bp);
}

/* ---- scoring ---- */

/* A cut with its tie prefix, prepared once per rescore. */
typedef struct prep_cut {
    bool valid;
    uint32_t frequency, first_ts;
    uint64_t pre;
    const char *key;
    size_t len;
} prep_cut;

typedef struct prep {
    int bins;
    bool empty;
    score_tie_break mode;
    int64_t as_of;
    const double *r_edges, *m_edges;
    prep_cut cuts[SCORE_BINS_MAX + 1];
} prep;

static void prepare(prep *p, const score_settings *st, const score_breakpoints *bp) {
    p->bins = bp->bins ? bp->bins : score_clamp_bins(st->bins);
    p->empty = bp->customers == 0;
    p->mode = st->tie_break;
    p->as_of = bp->as_of;
    p->r_edges = bp->r_edges;
    p->m_edges = bp->m_edges;
    for (int k = 1; k < p->bins; k++) {
        const score_cut *c = &bp->f_cuts[k];
        p->cuts[k] =
            (prep_cut){c->valid,    c->frequency,
                       c->first_ts, score_tie_prefix(p->mode, c->key, c->key_len, c->first_ts),
                       c->key,      c->key_len};
    }
}

/* 1 + number of inner edges strictly below x (searchsorted 'left'). */
static int bin_of(const double *edges, int bins, double x) {
    int b = 1;
    for (int k = 1; k < bins; k++)
        b += edges[k] < x;
    return b;
}

static int f_of(const prep *p, const store *s, const store_customer *c) {
    int f = 1;
    bool have_key = false;
    uint64_t pre = 0;
    const char *key = NULL;
    size_t len = 0;
    for (int k = 1; k < p->bins; k++) {
        const prep_cut *cut = &p->cuts[k];
        if (!cut->valid) {
            f++;
            continue;
        }
        if (c->frequency != cut->frequency) {
            f += c->frequency > cut->frequency;
            continue;
        }
        if (!have_key) {
            key = store_key(s, c, &len);
            pre = score_tie_prefix(p->mode, key, len, c->first_ts);
            have_key = true;
        }
        if (pre != cut->pre) {
            f += pre > cut->pre;
            continue;
        }
        if (p->mode == SCORE_TIE_FIRST_ORDER && c->first_ts != cut->first_ts) {
            f += c->first_ts > cut->first_ts;
            continue;
        }
        int cmp = memcmp(key, cut->key, len < cut->len ? len : cut->len);
        f += cmp > 0 || (cmp == 0 && len > cut->len);
    }
    return f;
}

static void score_one(const prep *p, const store *s, const store_customer *c, int *r, int *f,
                      int *m) {
    if (!c->frequency) {
        *r = *f = *m = 0;
        return;
    }
    if (p->empty) { /* as if it were the only customer: every edge is its value */
        *r = p->bins;
        *f = 1;
        *m = 1;
        return;
    }
    double rec = (double)score_recency_days(p->as_of, c->last_ts);
    *r = p->bins + 1 - bin_of(p->r_edges, p->bins, rec);
    *f = f_of(p, s, c);
    *m = bin_of(p->m_edges, p->bins, (double)c->monetary_cents / 100.0);
}

void score_customer(const score_settings *st, const score_breakpoints *bp, const store *s,
                    const store_customer *c, int *r, int *f, int *m) {
    prep p;
    prepare(&p, st, bp);
    score_one(&p, s, c, r, f, m);
}

static uint8_t write_scores(const segment_map *map, store_customer *c, int r, int f, int m) {
    uint8_t old = c->segment;
    c->r = (uint8_t)r;
    c->f = (uint8_t)f;
    c->m = (uint8_t)m;
    c->segment = r ? segment_of(map, r, f) : 0;
    return old;
}

uint8_t score_apply(const score_settings *st, const score_breakpoints *bp, const segment_map *map,
                    const store *s, store_customer *c) {
    int r, f, m;
    score_customer(st, bp, s, c, &r, &f, &m);
    return write_scores(map, c, r, f, m);
}

size_t score_rescore_all(const score_settings *st, const score_breakpoints *bp,
                         const segment_map *map, store *s, score_change_fn on_change, void *ctx) {
    prep p;
    prepare(&p, st, bp);
    size_t changed = 0;
    for (size_t i = 0, n = store_count(s); i < n; i++) {
        store_customer *c = store_at(s, i);
        if (!c->frequency)
            continue;
        int r, f, m;
        score_one(&p, s, c, &r, &f, &m);
        bool first = c->r == 0;
        uint8_t old = write_scores(map, c, r, f, m);
        /* A first scoring is a change even into "unclassified": the
         * customer had no segment at all before. */
        if (old != c->segment || first) {
            changed++;
            if (on_change)
                on_change(ctx, i, c, old);
        }
    }
    return changed;
}

size_t *score_tie_order(const score_settings *st, const store *s, size_t *n) {
    size_t count = store_count(s), m = 0;
    *n = 0;
    if (count > UINT32_MAX)
        return NULL;
    score_ent *ents = malloc((count ? count : 1) * sizeof *ents);
    size_t *out = malloc((count ? count : 1) * sizeof *out);
    if (!ents || !out) {
        free(ents);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        if (store_at_const(s, i)->frequency)
            ents[m++] = (score_ent){0, (uint32_t)i, 0};
    fill_prefixes(&s, st->tie_break, ents, m);
    score_tiectx tc = {&s, st->tie_break};
    score_sort_ent(ents, m, &tc);
    for (size_t i = 0; i < m; i++)
        out[i] = ents[i].idx;
    free(ents);
    *n = m;
    return out;
}
