/*
 * score_round — the coordinator: merges the members' summaries, works out
 * which order statistics and cut keys it needs, asks for them until every
 * one is exact, and turns them into breakpoints through the code
 * score_breakpoints_compute_set uses (score_internal.h), so the same
 * integers give the same bits.
 *
 * Per dimension:
 *  - R: the merged day-key histogram is the recency histogram read
 *    backwards (recency = max(0, as_of/day - key)); no request needed.
 *  - M: each wanted position starts as its bucket's value range (from the
 *    merged bucket counts) and the count of values below it. A range one
 *    value wide is the value; a wider one is counted in SCORE_ROUND_SLOTS
 *    slots by every member and narrowed to the slot holding the position,
 *    4096 times narrower per request (one request for cents below 2^22).
 *  - F: the edges need only n; each cut needs the key at position j of its
 *    frequency group. A cut holds a key prefix P known to start that key and
 *    the count of group keys before every key under P; each answer gives the
 *    keys' common prefix L beyond P, whether L itself is a key, and counts
 *    by the byte after L, which either lands on L (exact) or extends P by
 *    one byte past L. Shared prefixes are crossed in one step.
 * Every answer must add up to the count the previous step predicted (the
 * bucket, slot or byte count); what does not fails the round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score_internal.h"
#include "score_round_internal.h"

static int fail(score_round *r, char *err, size_t errlen, const char *msg) {
    if (err && errlen)
        snprintf(err, errlen, "score_round: %s", msg);
    r->phase = FAILED;
    return -1;
}

score_round *score_round_new(const score_settings *st, int64_t now, uint64_t prev_version,
                             uint64_t round_id) {
    score_round *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rec = calloc(SCORE_ROUND_DAY_KEYS, sizeof *r->rec);
    r->bkt = calloc(SCORE_BUCKETS, sizeof *r->bkt);
    if (!r->rec || !r->bkt) {
        score_round_free(r);
        return NULL;
    }
    r->st = *st;
    r->now = now;
    r->prev_version = prev_version;
    r->req.m = r->mq;
    r->req.f = r->fq;
    r->req.tie_break = (uint8_t)st->tie_break;
    r->req.round = round_id;
    return r;
}

static void drop_answers(score_round *r) {
    for (size_t i = 0; r->ans && i < r->members; i++) {
        score_round_answer_free(r->ans[i]);
        r->ans[i] = NULL;
    }
    r->nans = 0;
}

void score_round_free(score_round *r) {
    if (!r)
        return;
    drop_answers(r);
    free(r->ans);
    free(r->rec);
    free(r->bkt);
    free(r->fr);
    free(r);
}

int score_round_add_summary(score_round *r, const score_round_summary *s, char *err,
                            size_t errlen) {
    if (r->phase != COLLECT)
        return fail(r, err, errlen, "summary after the summaries were merged");
    if (s->from_orders != score_as_of_from_orders(&r->st))
        return fail(r, err, errlen, "member clock differs from the coordinator's");
    if (!s->from_orders && r->basis_set && s->as_of != r->basis)
        return fail(r, err, errlen, "members assumed different as_of values");
    if (r->n + s->n < r->n || r->n + s->n > UINT32_MAX)
        return fail(r, err, errlen, "more customers than one computation takes");
    r->basis_set = true;
    r->basis = s->as_of;
    for (size_t i = 0; i < s->rec.n; i++) {
        if (s->rec.p[i].key >= SCORE_ROUND_DAY_KEYS)
            return fail(r, err, errlen, "recency day out of range");
        r->rec[s->rec.p[i].key] += s->rec.p[i].count;
        r->nrec += s->rec.p[i].count;
    }
    if (s->rec.n && s->rec.p[s->rec.n - 1].key >= r->rec_hi)
        r->rec_hi = (size_t)s->rec.p[s->rec.n - 1].key + 1;
    for (size_t i = 0; i < s->bkt.n; i++) {
        if (s->bkt.p[i].key >= SCORE_BUCKETS)
            return fail(r, err, errlen, "monetary bucket out of range");
        r->bkt[s->bkt.p[i].key] += s->bkt.p[i].count;
        r->nbkt += s->bkt.p[i].count;
    }
    if (r->nfr + s->freq.n > r->capfr) {
        size_t cap = r->capfr ? r->capfr : 256;
        while (cap < r->nfr + s->freq.n)
            cap *= 2;
        score_round_pair *p = realloc(r->fr, cap * sizeof *p);
        if (!p)
            return fail(r, err, errlen, "out of memory");
        r->fr = p;
        r->capfr = cap;
    }
    if (s->freq.n) /* r->fr may still be NULL, which memcpy must not get */
        memcpy(r->fr + r->nfr, s->freq.p, s->freq.n * sizeof *s->freq.p);
    r->nfr += s->freq.n;
    r->n += s->n;
    if (s->max_ts > r->max_ts)
        r->max_ts = s->max_ts;
    r->members++;
    return 0;
}

/* Whether two answers encode to the same bytes. */
static bool same_answer(const score_round_answer *a, const score_round_answer *b) {
    size_t la, lb;
    uint8_t *ea = score_round_answer_encode(a, &la), *eb = score_round_answer_encode(b, &lb);
    bool same = ea && eb && la == lb && !memcmp(ea, eb, la);
    free(ea);
    free(eb);
    return same;
}

int score_round_add_answer(score_round *r, unsigned member, const score_round_answer *a, char *err,
                           size_t errlen) {
    if (r->phase == FAILED)
        return -1;
    if (r->phase == DONE)
        return 1; /* a late copy: the breakpoints stand */
    if (r->phase != ASKING)
        return fail(r, err, errlen, "answer before the summaries were merged");
    if (a->round != r->req.round || a->step < r->req.step)
        return 1; /* another attempt's, or to an earlier request: delayed or repeated */
    if (member >= r->members)
        return fail(r, err, errlen, "answer from a member without a summary");
    if (a->step != r->req.step || a->nm != r->req.nm || a->nf != r->req.nf)
        return fail(r, err, errlen, "answer to a request that was not sent");
    if (!r->ans) {
        r->ans = calloc(r->members, sizeof *r->ans);
        if (!r->ans)
            return fail(r, err, errlen, "out of memory");
    }
    if (r->ans[member]) {
        if (same_answer(r->ans[member], a))
            return 1;
        return fail(r, err, errlen, "a member answered one request twice, differently");
    }
    /* A deep copy through the wire form: one owner, and the copy is known
     * to be well formed. */
    size_t len;
    uint8_t *buf = score_round_answer_encode(a, &len);
    if (!buf)
        return fail(r, err, errlen, "out of memory");
    score_round_answer *c = score_round_answer_decode(buf, len, err, errlen);
    free(buf);
    if (!c) {
        r->phase = FAILED;
        return -1;
    }
    r->ans[member] = c;
    r->nans++;
    return 0;
}

static int cmp_pair(const void *a, const void *b) {
    const score_round_pair *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

/* Sort the concatenated frequency histograms and add up equal keys. */
static void merge_freq(score_round *r) {
    if (!r->nfr)
        return;
    qsort(r->fr, r->nfr, sizeof *r->fr, cmp_pair);
    size_t o = 0;
    for (size_t i = 1; i < r->nfr; i++) {
        if (r->fr[i].key == r->fr[o].key)
            r->fr[o].count += r->fr[i].count;
        else
            r->fr[++o] = r->fr[i];
    }
    r->nfr = o + 1;
}

/* Recency values at the sorted positions: ascending recency is descending
 * day key, and every key at or past as_of's day is recency 0. */
static void recency_values(const score_round *r, int64_t as_of, int64_t *val) {
    int64_t day = (as_of - score_round_phase(as_of)) / SCORE_DAY;
    uint64_t cum = 0;
    size_t key = r->rec_hi; /* nothing above it */
    for (size_t i = 0; i < r->np; i++) {
        while (key > 0 && r->pos[i] >= cum + r->rec[key - 1])
            cum += r->rec[--key];
        int64_t v = day - (int64_t)(key - 1);
        val[i] = v > 0 ? v : 0;
    }
}

static void monetary_start(score_round *r) {
    uint64_t cum = 0;
    uint32_t b = 0;
    for (size_t i = 0; i < r->np; i++) {
        while (b < SCORE_BUCKETS && r->pos[i] >= cum + r->bkt[b])
            cum += r->bkt[b++];
        mstat *m = &r->ms[i];
        m->lo = score_bucket_lo(b);
        m->width = score_bucket_width(b);
        m->below = cum;
        m->count = r->bkt[b];
        m->exact = m->width == 1;
    }
}

/* Group, position and size of each cut, from the merged frequencies. */
static void cuts_start(score_round *r) {
    for (int k = 1; k < r->bp.bins; k++) {
        uint64_t p = score_cut_rank(r->bp.f_edges[k], (size_t)r->n) - 1, cum = 0;
        size_t g = 0;
        while (g + 1 < r->nfr && p >= cum + r->fr[g].count)
            cum += r->fr[g++].count;
        fstat *f = &r->fs[k];
        memset(f, 0, sizeof *f);
        f->frequency = (uint32_t)r->fr[g].key;
        f->j = p - cum;
        f->count = r->fr[g].count;
    }
}

/* The next request from what is still inexact; false when nothing is. */
static bool build_request(score_round *r) {
    r->req.nm = r->req.nf = 0;
    for (size_t i = 0; i < r->np; i++) {
        mstat *m = &r->ms[i];
        if (m->exact)
            continue;
        size_t q = 0;
        while (q < r->req.nm && (r->mq[q].lo != m->lo || r->mq[q].width != m->width))
            q++;
        if (q == r->req.nm) {
            uint32_t slots = m->width < SCORE_ROUND_SLOTS ? (uint32_t)m->width : SCORE_ROUND_SLOTS;
            r->mq[r->req.nm++] = (score_round_mq){m->lo, m->width, slots};
        }
        m->ask = q;
    }
    for (int k = 1; k < r->bp.bins; k++) {
        fstat *f = &r->fs[k];
        if (f->exact)
            continue;
        size_t q = 0;
        while (q < r->req.nf && (r->fq[q].frequency != f->frequency || r->fq[q].plen != f->plen ||
                                 memcmp(r->fq[q].prefix, f->prefix, f->plen)))
            q++;
        if (q == r->req.nf) {
            score_round_fq *x = &r->fq[r->req.nf++];
            memset(x, 0, sizeof *x);
            x->frequency = f->frequency;
            x->plen = f->plen;
            memcpy(x->prefix, f->prefix, f->plen);
        }
        f->ask = q;
    }
    if (!r->req.nm && !r->req.nf)
        return false;
    r->req.step++;
    r->requests++;
    return true;
}

/* Narrow every monetary statistic asking question q by the slot counts. */
static const char *take_monetary(score_round *r, size_t q, uint64_t *sum) {
    const score_round_mq *x = &r->mq[q];
    memset(sum, 0, SCORE_ROUND_SLOTS * sizeof *sum);
    uint64_t total = 0;
    for (size_t a = 0; a < r->nans; a++) {
        const score_round_hist *h = &r->ans[a]->m[q];
        for (size_t i = 0; i < h->n; i++) {
            if (h->p[i].key >= x->slots)
                return "slot out of range";
            sum[h->p[i].key] += h->p[i].count;
            total += h->p[i].count;
        }
    }
    uint64_t w = score_round_slot_width(x->width, x->slots);
    for (size_t i = 0; i < r->np; i++) {
        mstat *m = &r->ms[i];
        if (m->exact || m->ask != q)
            continue;
        if (total != m->count)
            return "monetary counts do not add up";
        uint64_t rel = r->pos[i] - m->below, cum = 0;
        uint32_t s = 0;
        /* rel < total keeps the walk below slots; bounded all the same. */
        while (s < x->slots && rel >= cum + sum[s])
            cum += sum[s++];
        if (s == x->slots)
            return "monetary counts do not add up";
        m->lo = (int64_t)((uint64_t)m->lo + s * w);
        /* The last slot holding values may be cut short by the range's end. */
        m->width = x->width - s * w < w ? x->width - s * w : w;
        m->below += cum;
        m->count = sum[s];
        m->exact = m->width == 1;
    }
    return NULL;
}

/* Narrow every cut asking question q by the members' prefix answers. */
static const char *take_cut(score_round *r, size_t q) {
    const score_round_fq *x = &r->fq[q];
    /* L: the common prefix of every member's lcp. */
    const score_round_fa *first = NULL;
    size_t llen = 0;
    uint64_t total = 0;
    for (size_t a = 0; a < r->nans; a++) {
        const score_round_fa *fa = &r->ans[a]->f[q];
        total += fa->count;
        if (!fa->count)
            continue;
        if (fa->lcp_len < x->plen || memcmp(fa->lcp, x->prefix, x->plen))
            return "key prefix outside the question";
        if (!first) {
            first = fa;
            llen = fa->lcp_len;
            continue;
        }
        size_t c = 0, max = llen < fa->lcp_len ? llen : fa->lcp_len;
        while (c < max && fa->lcp[c] == first->lcp[c])
            c++;
        llen = c;
    }
    uint64_t next[256] = {0}, eq = 0;
    uint32_t eq_ts = 0;
    for (size_t a = 0; a < r->nans; a++) {
        const score_round_fa *fa = &r->ans[a]->f[q];
        if (!fa->count)
            continue;
        if (fa->lcp_len > llen) { /* all of its keys continue with one byte */
            next[fa->lcp[llen]] += fa->count;
            continue;
        }
        eq += fa->has_eq;
        if (fa->has_eq)
            eq_ts = fa->eq_first_ts;
        for (size_t i = 0; i < fa->next.n; i++)
            next[fa->next.p[i].key] += fa->next.p[i].count;
    }
    if (eq > 1)
        return "one tie key in two members (an id in two stores)";
    for (int k = 1; k < r->bp.bins; k++) {
        fstat *f = &r->fs[k];
        if (f->exact || f->ask != q)
            continue;
        if (total != f->count || !first)
            return "tie key counts do not add up";
        uint64_t rel = f->j - f->below;
        if (rel < eq) {
            bool fo = r->st.tie_break == SCORE_TIE_FIRST_ORDER;
            size_t skip = fo ? 4 : 0;
            if (llen <= skip || llen - skip > STORE_KEY_MAX)
                return "cut key of impossible length";
            uint32_t ts = fo ? (uint32_t)first->lcp[0] << 24 | (uint32_t)first->lcp[1] << 16 |
                                   (uint32_t)first->lcp[2] << 8 | first->lcp[3]
                             : eq_ts;
            if (ts != eq_ts)
                return "cut key's first order time disagrees";
            score_cut_set(&r->bp.f_cuts[k], f->frequency, ts, (const char *)first->lcp + skip,
                          llen - skip);
            f->exact = true;
            continue;
        }
        uint64_t cum = eq;
        int b = 0;
        while (b < 256 && rel >= cum + next[b])
            cum += next[b++];
        if (b == 256 || llen + 1 > SCORE_ROUND_KEY_MAX)
            return "tie key counts do not add up";
        memcpy(f->prefix, first->lcp, llen);
        f->prefix[llen] = (uint8_t)b;
        f->plen = (uint8_t)(llen + 1);
        f->below += cum;
        f->count = next[b];
    }
    return NULL;
}

/* Every statistic exact: the edges and cuts, through the shared code. */
static void finish(score_round *r) {
    int64_t val[SCORE_QPOS_MAX];
    for (size_t i = 0; i < r->np; i++)
        val[i] = r->ms[i].lo;
    score_edges_at(r->qp, r->bp.bins, r->pos, r->np, val, 100.0, r->bp.m_edges);
    r->phase = DONE;
}

static score_round_state plan(score_round *r, char *err, size_t errlen) {
    score_breakpoints *bp = &r->bp;
    memset(bp, 0, sizeof *bp);
    bp->version = r->prev_version + 1;
    bp->bins = score_clamp_bins(r->st.bins);
    bp->as_of = score_as_of_ts(&r->st, r->max_ts, r->now);
    /* A wall clock read here (now 0: a batch caller) may have ticked since
     * the members read theirs; they agree among themselves, so theirs wins. */
    if (r->st.as_of_fixed <= 0 && r->st.clock == SCORE_CLOCK_WALL && r->now <= 0 && r->basis_set)
        bp->as_of = r->basis;
    if (!score_as_of_from_orders(&r->st) && r->basis_set && r->basis != bp->as_of) {
        fail(r, err, errlen, "members assumed another as_of than the coordinator");
        return SCORE_ROUND_FAILED;
    }
    merge_freq(r);
    bp->customers = (size_t)r->n;
    uint64_t sum_f = 0;
    for (size_t i = 0; i < r->nfr; i++)
        sum_f += r->fr[i].count;
    if (sum_f != r->n || r->nrec != r->n || r->nbkt != r->n) {
        fail(r, err, errlen, "histograms do not add up to n");
        return SCORE_ROUND_FAILED;
    }
    if (!r->n) {
        r->phase = DONE;
        return SCORE_ROUND_DONE;
    }
    score_qpoints(bp->bins, (size_t)r->n, r->qp);
    r->np = score_qpoint_positions(r->qp, bp->bins, r->pos);
    int64_t val[SCORE_QPOS_MAX];
    recency_values(r, bp->as_of, val);
    score_edges_at(r->qp, bp->bins, r->pos, r->np, val, 1.0, bp->r_edges);
    score_rank_edges(r->qp, bp->bins, bp->f_edges);
    monetary_start(r);
    cuts_start(r);
    return SCORE_ROUND_ASK;
}

score_round_state score_round_next(score_round *r, char *err, size_t errlen) {
    if (r->phase == DONE)
        return SCORE_ROUND_DONE;
    if (r->phase == FAILED) {
        fail(r, err, errlen, "the round has failed");
        return SCORE_ROUND_FAILED;
    }
    if (r->phase == COLLECT) {
        score_round_state s = plan(r, err, errlen);
        if (s != SCORE_ROUND_ASK)
            return s;
    } else {
        if (r->nans != r->members) {
            fail(r, err, errlen, "answers missing");
            return SCORE_ROUND_FAILED;
        }
        uint64_t *sum = malloc(SCORE_ROUND_SLOTS * sizeof *sum);
        const char *why = sum ? NULL : "out of memory";
        for (size_t q = 0; !why && q < r->req.nm; q++)
            why = take_monetary(r, q, sum);
        free(sum);
        for (size_t q = 0; !why && q < r->req.nf; q++)
            why = take_cut(r, q);
        drop_answers(r);
        if (why) {
            fail(r, err, errlen, why);
            return SCORE_ROUND_FAILED;
        }
    }
    if (build_request(r)) {
        r->phase = ASKING;
        return SCORE_ROUND_ASK;
    }
    finish(r);
    return SCORE_ROUND_DONE;
}

int score_round_complete(score_round *r) {
    if (r->phase != ASKING)
        return -1;
    for (size_t i = 0; i < r->np; i++)
        if (!r->ms[i].exact)
            return -1;
    for (int k = 1; k < r->bp.bins; k++)
        if (!r->fs[k].exact)
            return -1;
    finish(r);
    return 0;
}

const score_round_request *score_round_request_of(const score_round *r) {
    return r->phase == ASKING ? &r->req : NULL;
}

unsigned score_round_requests(const score_round *r) {
    return r->requests;
}

int score_round_result(const score_round *r, score_breakpoints *bp) {
    if (r->phase != DONE)
        return -1;
    *bp = r->bp;
    return 0;
}
