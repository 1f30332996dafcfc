/*
 * score_round_wire — the byte form of summaries, requests and answers, for
 * the daemon's control topic.
 *
 *   magic[4] version[1] body crc32[4, little-endian, of everything before]
 *
 * Integers in the body are LEB128 varints (little-endian base 128); signed
 * ones zigzag-coded; key bytes raw. A sparse histogram is its pair count
 * and then (key delta, count) pairs: the first delta is the key, later ones
 * are >= 1, so keys strictly ascend by construction and a histogram costs
 * one or two bytes per non-empty key. At 10M customers a summary is tens of
 * kilobytes (days, frequencies and buckets in use), not the customers.
 *
 * The decoder is strict, because a buffer arrives from another process:
 * the checksum first, then every field read against the bytes left (a
 * count can never promise more entries than bytes remain, so a corrupt
 * count cannot make it allocate much), every range and invariant the merge
 * relies on checked (keys in range, counts > 0 and adding up, lcp
 * consistency), and the body must end exactly at the trailer. It never
 * reads past len.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score_internal.h"
#include "score_round_internal.h"

#define WIRE_VERSION 1
/* Counts cannot exceed what one computation takes (UINT32_MAX records). */
#define COUNT_MAX UINT32_MAX

static const uint8_t MAGIC_SUMMARY[4] = {'R', 'F', 'S', 'M'};
static const uint8_t MAGIC_REQUEST[4] = {'R', 'F', 'R', 'Q'};
static const uint8_t MAGIC_ANSWER[4] = {'R', 'F', 'A', 'N'};

uint32_t score_round_wire_crc32(const uint8_t *buf, size_t len) {
    static uint32_t table[256];
    static int ready;
    if (!ready) { /* idempotent: a race writes the same values */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        c = table[(c ^ buf[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* ---- writing ---- */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *w, const void *src, size_t n) {
    if (w->oom)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->oom = true;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put_u8(wbuf *w, uint8_t v) {
    put(w, &v, 1);
}

static void put_var(wbuf *w, uint64_t v) {
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        b[n++] |= v ? 0x80 : 0;
    } while (v);
    put(w, b, n);
}

static void put_svar(wbuf *w, int64_t v) {
    put_var(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_hist(wbuf *w, const score_round_hist *h) {
    put_var(w, h->n);
    uint64_t prev = 0;
    for (size_t i = 0; i < h->n; i++) {
        put_var(w, h->p[i].key - prev);
        put_var(w, h->p[i].count);
        prev = h->p[i].key;
    }
}

static void put_head(wbuf *w, const uint8_t *magic) {
    put(w, magic, 4);
    put_u8(w, WIRE_VERSION);
}

/* Append the trailer and hand the buffer over (NULL on allocation failure). */
static uint8_t *seal(wbuf *w, size_t *len) {
    uint32_t crc = w->oom ? 0 : score_round_wire_crc32(w->p, w->len);
    uint8_t t[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    put(w, t, 4);
    if (w->oom) {
        free(w->p);
        return NULL;
    }
    *len = w->len;
    return w->p;
}

uint8_t *score_round_summary_encode(const score_round_summary *s, size_t *len) {
    wbuf w = {0};
    put_head(&w, MAGIC_SUMMARY);
    put_u8(&w, s->from_orders);
    put_svar(&w, s->as_of);
    put_var(&w, s->n);
    put_var(&w, s->max_ts);
    put_hist(&w, &s->rec);
    put_hist(&w, &s->freq);
    put_hist(&w, &s->bkt);
    return seal(&w, len);
}

uint8_t *score_round_request_encode(const score_round_request *q, size_t *len) {
    wbuf w = {0};
    put_head(&w, MAGIC_REQUEST);
    put_var(&w, q->round);
    put_var(&w, q->step);
    put_u8(&w, q->tie_break);
    put_var(&w, q->nm);
    for (size_t i = 0; i < q->nm; i++) {
        put_svar(&w, q->m[i].lo);
        put_var(&w, q->m[i].width);
        put_var(&w, q->m[i].slots);
    }
    put_var(&w, q->nf);
    for (size_t i = 0; i < q->nf; i++) {
        put_var(&w, q->f[i].frequency);
        put_u8(&w, q->f[i].plen);
        put(&w, q->f[i].prefix, q->f[i].plen);
    }
    return seal(&w, len);
}

uint8_t *score_round_answer_encode(const score_round_answer *a, size_t *len) {
    wbuf w = {0};
    put_head(&w, MAGIC_ANSWER);
    put_var(&w, a->round);
    put_var(&w, a->step);
    put_var(&w, a->nm);
    for (size_t i = 0; i < a->nm; i++)
        put_hist(&w, &a->m[i]);
    put_var(&w, a->nf);
    for (size_t i = 0; i < a->nf; i++) {
        const score_round_fa *f = &a->f[i];
        put_var(&w, f->count);
        if (!f->count)
            continue;
        put_u8(&w, f->lcp_len);
        put(&w, f->lcp, f->lcp_len);
        put_u8(&w, f->has_eq);
        if (f->has_eq)
            put_var(&w, f->eq_first_ts);
        put_hist(&w, &f->next);
    }
    return seal(&w, len);
}

/* ---- reading ---- */

typedef struct rbuf {
    const uint8_t *p, *end;
    const char *err; /* the first problem; later reads are no-ops */
} rbuf;

static bool bad(rbuf *r, const char *why) {
    if (!r->err)
        r->err = why;
    return false;
}

static bool get(rbuf *r, void *dst, size_t n) {
    if (r->err)
        return false;
    if ((size_t)(r->end - r->p) < n)
        return bad(r, "truncated");
    memcpy(dst, r->p, n);
    r->p += n;
    return true;
}

static uint8_t get_u8(rbuf *r) {
    uint8_t v = 0;
    get(r, &v, 1);
    return v;
}

/* A varint of at most 10 bytes whose value fits 64 bits, minimally coded
 * (a trailing zero byte would let two encodings mean one message). */
static uint64_t get_var(rbuf *r) {
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        uint8_t b;
        if (!get(r, &b, 1))
            return 0;
        if (i == 9 && b > 1)
            return bad(r, "varint overflows 64 bits"), 0;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i && !b)
                return bad(r, "varint not minimally coded"), 0;
            return v;
        }
    }
    return bad(r, "varint too long"), 0;
}

static uint64_t get_var_max(rbuf *r, uint64_t max, const char *why) {
    uint64_t v = get_var(r);
    if (v > max)
        bad(r, why);
    return r->err ? 0 : v;
}

static int64_t get_svar(rbuf *r) {
    uint64_t u = get_var(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* An entry count: each entry takes at least min_bytes, so it cannot exceed
 * the bytes left (bounds every allocation by the buffer's size). */
static size_t get_count(rbuf *r, size_t min_bytes) {
    uint64_t n = get_var(r);
    if (!r->err && n > (uint64_t)(r->end - r->p) / min_bytes)
        bad(r, "count larger than the buffer");
    return r->err ? 0 : (size_t)n;
}

/* A histogram with keys <= max_key and counts in 1..COUNT_MAX; *sum gets
 * their total. */
static bool get_hist(rbuf *r, score_round_hist *h, uint64_t max_key, uint64_t *sum) {
    h->n = 0;
    h->p = NULL;
    size_t n = get_count(r, 2);
    if (r->err)
        return false;
    h->p = malloc((n ? n : 1) * sizeof *h->p);
    if (!h->p)
        return bad(r, "out of memory");
    uint64_t key = 0, total = 0;
    for (size_t i = 0; i < n && !r->err; i++) {
        uint64_t d = get_var(r), c = get_var(r);
        if (r->err)
            break;
        if (i && d == 0)
            return bad(r, "histogram keys not ascending");
        if (d > max_key - key)
            return bad(r, "histogram key out of range");
        if (c == 0 || c > COUNT_MAX)
            return bad(r, "histogram count out of range");
        key += d;
        total += c;
        h->p[h->n++] = (score_round_pair){key, c};
    }
    *sum = total;
    return !r->err;
}

/* Check the frame and leave r over the body. */
static bool open_frame(rbuf *r, const uint8_t *buf, size_t len, const uint8_t *magic) {
    r->p = buf;
    r->end = buf;
    r->err = NULL;
    if (!buf || len < 4 + 1 + 4)
        return bad(r, "truncated");
    if (memcmp(buf, magic, 4))
        return bad(r, "wrong message kind");
    if (buf[4] != WIRE_VERSION)
        return bad(r, "unknown version");
    const uint8_t *t = buf + len - 4;
    uint32_t crc =
        (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    if (crc != score_round_wire_crc32(buf, len - 4))
        return bad(r, "checksum mismatch (truncated or corrupt)");
    r->p = buf + 5;
    r->end = t;
    return true;
}

/* The body must be consumed exactly. */
static bool close_frame(rbuf *r) {
    if (!r->err && r->p != r->end)
        bad(r, "trailing bytes");
    return !r->err;
}

static void report(const rbuf *r, const char *what, char *err, size_t errlen) {
    if (err && errlen)
        snprintf(err, errlen, "score_round: %s: %s", what, r->err);
}

score_round_summary *score_round_summary_decode(const uint8_t *buf, size_t len, char *err,
                                                size_t errlen) {
    rbuf r;
    score_round_summary *s = calloc(1, sizeof *s);
    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "score_round: summary: out of memory");
        return NULL;
    }
    if (open_frame(&r, buf, len, MAGIC_SUMMARY)) {
        uint8_t fo = get_u8(&r);
        if (fo > 1)
            bad(&r, "bad clock flag");
        s->from_orders = fo;
        s->as_of = get_svar(&r);
        s->n = get_var_max(&r, COUNT_MAX, "customer count out of range");
        s->max_ts = (uint32_t)get_var_max(&r, UINT32_MAX, "newest order time out of range");
        uint64_t sr = 0, sf = 0, sb = 0;
        if (get_hist(&r, &s->rec, SCORE_ROUND_DAY_KEYS - 1, &sr) &&
            get_hist(&r, &s->freq, UINT32_MAX, &sf) &&
            get_hist(&r, &s->bkt, SCORE_BUCKETS - 1, &sb)) {
            if (sr != s->n || sf != s->n || sb != s->n)
                bad(&r, "histograms do not add up to n");
            else if (s->freq.n && s->freq.p[0].key == 0)
                bad(&r, "frequency 0 counted");
        }
        close_frame(&r);
    }
    if (r.err) {
        report(&r, "summary", err, errlen);
        score_round_summary_free(s);
        return NULL;
    }
    return s;
}

score_round_request *score_round_request_decode(const uint8_t *buf, size_t len, char *err,
                                                size_t errlen) {
    rbuf r;
    score_round_request *q = calloc(1, sizeof *q);
    if (!q) {
        if (err && errlen)
            snprintf(err, errlen, "score_round: request: out of memory");
        return NULL;
    }
    if (open_frame(&r, buf, len, MAGIC_REQUEST)) {
        q->round = get_var(&r);
        q->step = (uint32_t)get_var_max(&r, UINT32_MAX, "step out of range");
        q->tie_break = get_u8(&r);
        if (q->tie_break > SCORE_TIE_FIRST_ORDER)
            bad(&r, "unknown tie break");
        q->nm = get_count(&r, 3);
        if (!r.err && q->nm > SCORE_QPOS_MAX)
            bad(&r, "too many monetary questions");
        q->m = calloc(q->nm ? q->nm : 1, sizeof *q->m);
        if (!q->m)
            bad(&r, "out of memory");
        for (size_t i = 0; i < q->nm && !r.err; i++) {
            score_round_mq *m = &q->m[i];
            m->lo = get_svar(&r);
            m->width = get_var_max(&r, (uint64_t)1 << 63, "range too wide");
            m->slots = (uint32_t)get_var_max(&r, SCORE_ROUND_SLOTS, "too many slots");
            if (!r.err && (m->width < 2 || m->slots < 1 || m->slots > m->width))
                bad(&r, "bad monetary range");
        }
        q->nf = get_count(&r, 2);
        if (!r.err && q->nf > SCORE_BINS_MAX)
            bad(&r, "too many cut questions");
        q->f = calloc(q->nf ? q->nf : 1, sizeof *q->f);
        if (!q->f)
            bad(&r, "out of memory");
        for (size_t i = 0; i < q->nf && !r.err; i++) {
            score_round_fq *f = &q->f[i];
            f->frequency = (uint32_t)get_var_max(&r, UINT32_MAX, "frequency out of range");
            f->plen = get_u8(&r);
            if (!r.err && (f->frequency == 0 || f->plen > SCORE_ROUND_KEY_MAX))
                bad(&r, "bad cut question");
            get(&r, f->prefix, f->plen);
        }
        close_frame(&r);
    }
    if (r.err) {
        report(&r, "request", err, errlen);
        score_round_request_free(q);
        return NULL;
    }
    return q;
}

void score_round_request_free(score_round_request *q) {
    if (!q)
        return;
    free(q->m);
    free(q->f);
    free(q);
}

score_round_answer *score_round_answer_decode(const uint8_t *buf, size_t len, char *err,
                                              size_t errlen) {
    rbuf r;
    score_round_answer *a = calloc(1, sizeof *a);
    if (!a) {
        if (err && errlen)
            snprintf(err, errlen, "score_round: answer: out of memory");
        return NULL;
    }
    if (open_frame(&r, buf, len, MAGIC_ANSWER)) {
        a->round = get_var(&r);
        a->step = (uint32_t)get_var_max(&r, UINT32_MAX, "step out of range");
        size_t nm = get_count(&r, 1);
        if (!r.err && nm > SCORE_QPOS_MAX)
            bad(&r, "too many monetary answers");
        a->m = r.err ? NULL : calloc(nm ? nm : 1, sizeof *a->m);
        if (!r.err && !a->m)
            bad(&r, "out of memory");
        a->nm = a->m ? nm : 0; /* zeroed: freeing an unread entry is a no-op */
        for (size_t i = 0; i < nm && !r.err; i++) {
            uint64_t sum;
            get_hist(&r, &a->m[i], SCORE_ROUND_SLOTS - 1, &sum);
        }
        size_t nf = get_count(&r, 1);
        if (!r.err && nf > SCORE_BINS_MAX)
            bad(&r, "too many cut answers");
        a->f = r.err ? NULL : calloc(nf ? nf : 1, sizeof *a->f);
        if (!r.err && !a->f)
            bad(&r, "out of memory");
        a->nf = a->f ? nf : 0;
        for (size_t i = 0; i < nf && !r.err; i++) {
            score_round_fa *f = &a->f[i];
            f->count = get_var_max(&r, COUNT_MAX, "key count out of range");
            if (!f->count)
                continue;
            f->lcp_len = get_u8(&r);
            if (!r.err && f->lcp_len > SCORE_ROUND_KEY_MAX)
                bad(&r, "common prefix too long");
            get(&r, f->lcp, f->lcp_len);
            uint8_t eq = get_u8(&r);
            if (eq > 1)
                bad(&r, "bad key flag");
            f->has_eq = eq;
            if (eq)
                f->eq_first_ts = (uint32_t)get_var_max(&r, UINT32_MAX, "first order time");
            uint64_t sum = 0;
            if (get_hist(&r, &f->next, 255, &sum) && sum + f->has_eq != f->count)
                bad(&r, "key counts do not add up");
            if (!r.err && f->lcp_len == SCORE_ROUND_KEY_MAX && f->next.n)
                bad(&r, "key longer than the longest tie key");
        }
        close_frame(&r);
    }
    if (r.err) {
        report(&r, "answer", err, errlen);
        score_round_answer_free(a);
        return NULL;
    }
    return a;
}
