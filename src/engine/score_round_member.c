/*
 * score_round_member — what a member computes over its own stores: the
 * summary, and the answer to each of the coordinator's requests.
 *
 * Both are linear passes over the records, store after store, that keep
 * only counters: dense while counting (a day, frequency or bucket index is a
 * small integer), sparse when handed over, so a message is as big as the
 * number of distinct keys, not of customers. Nothing is kept between
 * requests: a member may answer any request about the stores it summarised,
 * in any order and more than once (the transport may repeat), and a request
 * costs one pass however many questions it holds.
 *
 * Tie prefixes: the longest common prefix of the keys under a prefix is
 * tracked in the same single pass. When a new key shortens it from L1 to L2,
 * every key seen so far had all of L1, so each of them has byte L1[L2] after
 * L2 and none ends at L2: the per-byte counts restart with all of them in
 * that one slot.
 */
#include <stdlib.h>
#include <string.h>

#include "score_internal.h"
#include "score_round_internal.h"

/* Frequencies below this are counted densely; the rest sorted. */
#define FREQ_DENSE 65536u

size_t score_round_tie_key(score_tie_break mode, const char *id, size_t len, uint32_t first_ts,
                           uint8_t *out) {
    size_t at = 0;
    if (mode == SCORE_TIE_FIRST_ORDER) {
        out[0] = (uint8_t)(first_ts >> 24);
        out[1] = (uint8_t)(first_ts >> 16);
        out[2] = (uint8_t)(first_ts >> 8);
        out[3] = (uint8_t)first_ts;
        at = 4;
    }
    if (len > STORE_KEY_MAX)
        len = STORE_KEY_MAX;
    memcpy(out + at, id, len);
    return at + len;
}

void score_round_hist_free(score_round_hist *h) {
    free(h->p);
    h->p = NULL;
    h->n = 0;
}

/* The non-zero slots of dense[0..slots) as a sparse histogram. Most slots
 * are empty (a few hundred days, a few thousand buckets in use), so zeros
 * are skipped four slots per 16-byte read, in one pass into a list that
 * grows as needed: a computation's fixed cost is this scan. */
static int hist_from_dense(const uint32_t *dense, size_t slots, score_round_hist *h) {
    size_t cap = 64;
    h->n = 0;
    h->p = malloc(cap * sizeof *h->p);
    if (!h->p)
        return -1;
    for (size_t i = 0; i < slots; i += 4) {
        uint64_t w[2];
        if (i + 4 <= slots) {
            memcpy(w, dense + i, sizeof w);
            if (!(w[0] | w[1]))
                continue;
        }
        for (size_t j = i; j < i + 4 && j < slots; j++) {
            if (!dense[j])
                continue;
            if (h->n == cap) {
                score_round_pair *p = realloc(h->p, 2 * cap * sizeof *p);
                if (!p)
                    return -1;
                h->p = p;
                cap *= 2;
            }
            h->p[h->n++] = (score_round_pair){j, dense[j]};
        }
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The frequency histogram: dense counts below FREQ_DENSE, then the sorted
 * rare big ones run-length counted. */
static int freq_hist(const uint32_t *dense, uint32_t *big, size_t nbig, score_round_hist *h) {
    if (hist_from_dense(dense, FREQ_DENSE, h))
        return -1;
    if (!nbig)
        return 0;
    qsort(big, nbig, sizeof *big, cmp_u32);
    size_t runs = 1;
    for (size_t i = 1; i < nbig; i++)
        runs += big[i] != big[i - 1];
    score_round_pair *p = realloc(h->p, (h->n + runs) * sizeof *p);
    if (!p)
        return -1;
    h->p = p;
    for (size_t i = 0; i < nbig; i++) {
        if (i && big[i] == big[i - 1])
            h->p[h->n - 1].count++;
        else
            h->p[h->n++] = (score_round_pair){big[i], 1};
    }
    return 0;
}

/* Counters are 32-bit, as in one computation: more records than
 * UINT32_MAX in one member's stores are refused. */
static bool records_over_limit(const store *const *stores, size_t nstores) {
    uint64_t total = 0;
    for (size_t k = 0; k < nstores; k++)
        total += store_count(stores[k]);
    return total > UINT32_MAX;
}

score_round_summary *score_round_collect(const score_settings *st, const store *const *stores,
                                         size_t nstores, int64_t now, int64_t *cents,
                                         uint32_t *freq_out) {
    if (records_over_limit(stores, nstores))
        return NULL;
    score_round_summary *s = calloc(1, sizeof *s);
    uint32_t *rec = calloc(SCORE_ROUND_DAY_KEYS, sizeof *rec);
    uint32_t *freq = calloc(FREQ_DENSE, sizeof *freq);
    uint32_t *bkt = calloc(SCORE_BUCKETS, sizeof *bkt);
    uint32_t *big = NULL;
    size_t nbig = 0, capbig = 0;
    if (!s || !rec || !freq || !bkt)
        goto fail;
    s->from_orders = score_as_of_from_orders(st);
    s->as_of = s->from_orders ? 0 : score_as_of_ts(st, 0, now);
    int64_t phase = score_round_phase(s->as_of);
    /* Counters in locals: the histogram stores could alias s->n. */
    uint64_t n = 0;
    size_t at = 0;
    for (size_t k = 0; k < nstores; k++) {
        const store *sk = stores[k];
        if (store_max_ts(sk) > s->max_ts)
            s->max_ts = store_max_ts(sk);
        for (size_t i = 0, cnt = store_count(sk); i < cnt; i++) {
            const store_customer *c = store_at_const(sk, i);
            uint32_t fr = c->frequency;
            if (freq_out)
                freq_out[at++] = fr;
            if (!fr)
                continue;
            if (cents)
                cents[n] = c->monetary_cents;
            n++;
            rec[score_round_day_key(c->last_ts, phase)]++;
            bkt[score_bucket(c->monetary_cents)]++;
            if (fr < FREQ_DENSE) {
                freq[fr]++;
                continue;
            }
            if (nbig == capbig) {
                size_t cap = capbig ? 2 * capbig : 64;
                uint32_t *p = realloc(big, cap * sizeof *p);
                if (!p)
                    goto fail;
                big = p;
                capbig = cap;
            }
            big[nbig++] = fr;
        }
    }
    s->n = n;
    if (hist_from_dense(rec, SCORE_ROUND_DAY_KEYS, &s->rec) ||
        hist_from_dense(bkt, SCORE_BUCKETS, &s->bkt) || freq_hist(freq, big, nbig, &s->freq))
        goto fail;
    free(rec);
    free(freq);
    free(bkt);
    free(big);
    return s;
fail:
    free(rec);
    free(freq);
    free(bkt);
    free(big);
    score_round_summary_free(s);
    return NULL;
}

score_round_summary *score_round_summary_take(const score_settings *st, const store *const *stores,
                                              size_t nstores, int64_t now) {
    return score_round_collect(st, stores, nstores, now, NULL, NULL);
}

void score_round_summary_free(score_round_summary *s) {
    if (!s)
        return;
    score_round_hist_free(&s->rec);
    score_round_hist_free(&s->freq);
    score_round_hist_free(&s->bkt);
    free(s);
}

uint64_t score_round_summary_customers(const score_round_summary *s) {
    return s->n;
}

/* ---- answers ---- */

/* One fq being answered: the running lcp and counts (see the top comment). */
typedef struct fwork {
    uint32_t count, eq, next[256];
    uint32_t eq_first_ts;
    size_t lcp_len;
    uint8_t lcp[SCORE_ROUND_KEY_MAX];
} fwork;

static void fwork_add(fwork *w, const uint8_t *key, size_t len, uint32_t first_ts) {
    if (!w->count) {
        memcpy(w->lcp, key, len);
        w->lcp_len = len;
        w->count = w->eq = 1;
        w->eq_first_ts = first_ts;
        return;
    }
    size_t c = 0, max = len < w->lcp_len ? len : w->lcp_len;
    while (c < max && key[c] == w->lcp[c])
        c++;
    if (c < w->lcp_len) { /* every key so far continues with lcp[c] */
        memset(w->next, 0, sizeof w->next);
        w->next[w->lcp[c]] = w->count;
        w->eq = 0;
        w->lcp_len = c;
    }
    w->count++;
    if (len == w->lcp_len) {
        w->eq++;
        w->eq_first_ts = first_ts;
    } else {
        w->next[key[w->lcp_len]]++;
    }
}

static int fwork_finish(const fwork *w, score_round_fa *fa) {
    memset(fa, 0, sizeof *fa);
    fa->count = w->count;
    if (!w->count)
        return 0;
    fa->lcp_len = (uint8_t)w->lcp_len;
    memcpy(fa->lcp, w->lcp, w->lcp_len);
    /* Ids are unique in a set, so at most one key equals lcp; more would be
     * the same id in two stores, which the coordinator rejects. */
    fa->has_eq = w->eq != 0;
    fa->eq_first_ts = w->eq ? w->eq_first_ts : 0;
    return hist_from_dense(w->next, 256, &fa->next);
}

score_round_answer *score_round_answer_make(const store *const *stores, size_t nstores,
                                            const score_round_request *req) {
    if (records_over_limit(stores, nstores))
        return NULL;
    score_round_answer *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->round = req->round;
    a->step = req->step;
    a->nm = req->nm;
    a->nf = req->nf;
    a->m = calloc(req->nm ? req->nm : 1, sizeof *a->m);
    a->f = calloc(req->nf ? req->nf : 1, sizeof *a->f);
    uint32_t *slots = calloc((req->nm ? req->nm : 1) * SCORE_ROUND_SLOTS, sizeof *slots);
    fwork *fw = calloc(req->nf ? req->nf : 1, sizeof *fw);
    uint64_t *swidth = calloc(req->nm ? req->nm : 1, sizeof *swidth);
    if (!a->m || !a->f || !slots || !fw || !swidth)
        goto fail;
    for (size_t q = 0; q < req->nm; q++)
        swidth[q] = score_round_slot_width(req->m[q].width, req->m[q].slots);
    score_tie_break mode = (score_tie_break)req->tie_break;
    for (size_t k = 0; k < nstores; k++) {
        const store *sk = stores[k];
        for (size_t i = 0, cnt = store_count(sk); i < cnt; i++) {
            const store_customer *c = store_at_const(sk, i);
            if (!c->frequency)
                continue;
            for (size_t q = 0; q < req->nm; q++) {
                /* Unsigned offsets: ranges may start at INT64_MIN (bucket 0). */
                uint64_t off = (uint64_t)c->monetary_cents - (uint64_t)req->m[q].lo;
                if (off < req->m[q].width)
                    slots[q * SCORE_ROUND_SLOTS + off / swidth[q]]++;
            }
            uint8_t key[SCORE_ROUND_KEY_MAX];
            size_t klen = 0;
            for (size_t q = 0; q < req->nf; q++) {
                const score_round_fq *fq = &req->f[q];
                if (c->frequency != fq->frequency)
                    continue;
                if (!klen) {
                    size_t len;
                    const char *id = store_key(sk, c, &len);
                    klen = score_round_tie_key(mode, id, len, c->first_ts, key);
                }
                if (klen >= fq->plen && !memcmp(key, fq->prefix, fq->plen))
                    fwork_add(&fw[q], key, klen, c->first_ts);
            }
        }
    }
    for (size_t q = 0; q < req->nm; q++)
        if (hist_from_dense(slots + q * SCORE_ROUND_SLOTS, req->m[q].slots, &a->m[q]))
            goto fail;
    for (size_t q = 0; q < req->nf; q++)
        if (fwork_finish(&fw[q], &a->f[q]))
            goto fail;
    free(slots);
    free(fw);
    free(swidth);
    return a;
fail:
    free(slots);
    free(fw);
    free(swidth);
    score_round_answer_free(a);
    return NULL;
}

void score_round_answer_free(score_round_answer *a) {
    if (!a)
        return;
    for (size_t q = 0; a->m && q < a->nm; q++)
        score_round_hist_free(&a->m[q]);
    for (size_t q = 0; a->f && q < a->nf; q++)
        score_round_hist_free(&a->f[q].next);
    free(a->m);
    free(a->f);
    free(a);
}
