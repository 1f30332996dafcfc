/*
 * score_round internals: the message structs behind the opaque handles of
 * rfm/score_round.h, shared by the member side (score_round_member.c), the
 * coordinator (score_round.c) and the wire form (score_round_wire.c).
 *
 * Every list is sorted by key, strictly ascending, with counts > 0; the
 * decoder enforces that, so the merge can rely on it. Each array belongs to
 * the message holding it (freed with it).
 */
#ifndef RFM_SCORE_ROUND_INTERNAL_H
#define RFM_SCORE_ROUND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/score_round.h"
#include "score_internal.h"

/* Highest recency day key: ceil(UINT32_MAX / day) = 49711 fits well below. */
#define SCORE_ROUND_DAY_KEYS 65536u

/* One (key, count) entry of a sparse histogram. */
typedef struct score_round_pair {
    uint64_t key;
    uint64_t count;
} score_round_pair;

/* A sparse histogram: n pairs, keys ascending. */
typedef struct score_round_hist {
    size_t n;
    score_round_pair *p;
} score_round_hist;

struct score_round_summary {
    bool from_orders;      /* as_of from max_ts; as_of below unused */
    int64_t as_of;         /* the as_of the day keys assumed (wall or fixed clock) */
    uint64_t n;            /* customers with frequency > 0 */
    uint32_t max_ts;       /* newest order time of the stores */
    score_round_hist rec;  /* day key -> customers (score_round_day_key) */
    score_round_hist freq; /* frequency -> customers */
    score_round_hist bkt;  /* score_bucket(cents) -> customers */
};

/* A monetary question: count the values in [lo, lo + width) in `slots`
 * slots of score_round_slot_width(width, slots) values each. */
typedef struct score_round_mq {
    int64_t lo;
    uint64_t width; /* >= 2 */
    uint32_t slots; /* 1..SCORE_ROUND_SLOTS, <= width */
} score_round_mq;

/* A frequency-cut question: the tie keys of the group `frequency` that start
 * with prefix[0..plen). */
typedef struct score_round_fq {
    uint32_t frequency;
    uint8_t plen;
    uint8_t prefix[SCORE_ROUND_KEY_MAX];
} score_round_fq;

struct score_round_request {
    uint64_t round; /* the coordinator's round id, echoed in answers */
    uint32_t step;  /* 1 for the first request of a computation */
    uint8_t tie_break;
    size_t nm, nf;
    score_round_mq *m;
    score_round_fq *f;
};

/* The answer to an fq: how many keys extend the prefix, and when any do,
 * their longest common prefix lcp (the prefix included), whether lcp itself
 * is a key (and that customer's first order time), and the keys longer than
 * lcp counted by their byte after it. count == has_eq + sum(next). */
typedef struct score_round_fa {
    uint64_t count;
    uint8_t lcp_len;
    bool has_eq;
    uint32_t eq_first_ts;
    uint8_t lcp[SCORE_ROUND_KEY_MAX];
    score_round_hist next; /* byte -> keys */
} score_round_fa;

struct score_round_answer {
    uint64_t round; /* the request's */
    uint32_t step;  /* the request's */
    size_t nm, nf;
    score_round_hist *m; /* [nm] slot -> values, for request m[i] */
    score_round_fa *f;   /* [nf] for request f[i] */
};

/* One monetary order statistic being narrowed. */
typedef struct mstat {
    bool exact;
    int64_t lo;     /* the value, once exact */
    uint64_t width; /* values in the range */
    uint64_t below; /* values below lo, all members */
    uint64_t count; /* values in the range, all members */
    size_t ask;     /* its question in the current request */
} mstat;

/* One F cut being narrowed. */
typedef struct fstat {
    bool exact;
    uint32_t frequency;
    uint64_t j;     /* 0-based position of the cut key in its group */
    uint64_t below; /* group keys before every key under the prefix */
    uint64_t count; /* group keys under the prefix */
    uint8_t plen;
    uint8_t prefix[SCORE_ROUND_KEY_MAX];
    uint32_t first_ts; /* once exact */
    size_t ask;
} fstat;

/* The coordinator. score_breakpoints_compute_set drives one itself and
 * resolves the order statistics from the values it holds instead of asking
 * (score.c), so its fields are shared with that file. */
struct score_round {
    score_settings st;
    int64_t now;
    uint64_t prev_version;
    enum { COLLECT, ASKING, DONE, FAILED } phase;
    unsigned members, requests;
    /* merged summaries */
    uint64_t n;
    uint32_t max_ts;
    bool basis_set;
    int64_t basis;
    uint64_t *rec;        /* [SCORE_ROUND_DAY_KEYS] */
    uint64_t *bkt;        /* [SCORE_BUCKETS] */
    uint64_t nrec, nbkt;  /* their totals, to check against n */
    size_t rec_hi;        /* past the highest day key in use */
    score_round_pair *fr; /* merged frequency histogram, sorted after COLLECT */
    size_t nfr, capfr;
    /* answers to the current request */
    score_round_answer **ans;
    size_t nans;
    /* the computation */
    score_breakpoints bp;
    score_qpoint qp[SCORE_BINS_MAX + 1];
    size_t np, pos[SCORE_QPOS_MAX];
    mstat ms[SCORE_QPOS_MAX];
    fstat fs[SCORE_BINS_MAX + 1]; /* [1..bins-1] */
    score_round_request req;
    score_round_mq mq[SCORE_QPOS_MAX];
    score_round_fq fq[SCORE_BINS_MAX + 1];
};

/* The summary of stores[0..nstores) as score_round_summary_take gives it,
 * and when cents and freq are not NULL, in the same pass: cents[i] the
 * monetary of the i-th customer with frequency > 0 and freq[j] the
 * frequency of the j-th record, store after store (each as long as the
 * records of all the stores). */
score_round_summary *score_round_collect(const score_settings *st, const store *const *stores,
                                         size_t nstores, int64_t now, int64_t *cents,
                                         uint32_t *freq);

/* After score_round_next asked: every statistic made exact by the caller
 * (ms[i].exact with ms[i].lo the value, fs[k].exact with bp.f_cuts[k] set),
 * finish the edges. 0, or -1 when one is still inexact. */
int score_round_complete(score_round *r);

/* Values per slot when counting width values in slots slots. */
static inline uint64_t score_round_slot_width(uint64_t width, uint32_t slots) {
    return width / slots + (width % slots != 0);
}

/* Time of day of as_of (0 with the event clock, whose as_of is a whole day). */
static inline int64_t score_round_phase(int64_t as_of) {
    int64_t r = as_of % SCORE_DAY;
    return r < 0 ? r + SCORE_DAY : r;
}

/* The recency day key: ceil((last_ts - phase) / day). Recency in days is
 * then max(0, floor(as_of / day) - key), the value score_recency_days gives. */
static inline uint32_t score_round_day_key(uint32_t last_ts, int64_t phase) {
    /* Unsigned: last_ts + day - 1 - phase >= 0, and cheaper to divide. */
    return (uint32_t)(((uint64_t)last_ts + (uint64_t)(SCORE_DAY - 1 - phase)) / SCORE_DAY);
}

/* A customer's tie key as bytes (see rfm/score_round.h); returns its length. */
size_t score_round_tie_key(score_tie_break mode, const char *id, size_t len, uint32_t first_ts,
                           uint8_t *out);

/* Free a histogram's pairs. */
void score_round_hist_free(score_round_hist *h);

/* CRC-32 (IEEE) of buf[0..len): the wire trailer. */
uint32_t score_round_wire_crc32(const uint8_t *buf, size_t len);

#endif
