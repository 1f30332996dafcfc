/*
 * round_pop — the customer populations the score_round tests share: a
 * customer as generated (before it goes into any store), a growable list of
 * them, putting one into a store, and the synthetic sets built to break a
 * distributed selection. Header-only: each test is one executable.
 */
#ifndef RFM_TESTS_ROUND_POP_H
#define RFM_TESTS_ROUND_POP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flo_raw.h"
#include "rfm/store.h"
#include "test_rng.h"

#define AS_OF 1622505600LL /* 2021-06-01T00:00:00Z */
#define DAY   86400LL

static inline uint64_t round_pop_hash(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* One customer as generated. */
typedef struct gcust {
    char id[STORE_KEY_MAX];
    size_t len;
    uint32_t freq, first_ts, last_ts;
    int64_t cents;
} gcust;

typedef struct population {
    gcust *c;
    size_t n, cap;
    uint32_t max_ts; /* store_max_ts of the source, for the event clock */
} population;

static inline gcust *pop_add(population *p) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->c = realloc(p->c, p->cap * sizeof *p->c);
        assert_non_null(p->c);
    }
    gcust *c = &p->c[p->n++];
    memset(c, 0, sizeof *c);
    return c;
}

/* The FLO seed file's customers appended to p (flo_raw.h reads it). */
static inline void pop_load_flo(population *p) {
    char line[1024];
    FILE *f = flo_raw_open(line, sizeof line);
    flo_raw_row row;
    while (flo_raw_next(f, line, sizeof line, &row)) {
        gcust *c = pop_add(p);
        assert_true(row.id_len <= sizeof c->id);
        memcpy(c->id, row.id, row.id_len);
        c->len = row.id_len;
        c->first_ts = row.first_ts;
        c->last_ts = row.last_ts;
        c->freq = row.frequency;
        c->cents = row.cents;
        if (c->last_ts > p->max_ts)
            p->max_ts = c->last_ts;
    }
    fclose(f);
}

static inline void put(store *s, const gcust *c) {
    bool created = false;
    store_customer *r = store_upsert(s, c->id, c->len, &created);
    assert_non_null(r);
    assert_true(created);
    r->frequency = c->freq;
    r->first_ts = c->first_ts;
    r->last_ts = c->last_ts;
    r->monetary_cents = c->cents;
    if (c->freq)
        store_note_ts(s, c->last_ts);
}

typedef enum synth {
    SYN_EQUAL_AMOUNTS, /* every customer the same cents, recency and frequency */
    SYN_ONE_GROUP,     /* frequency 1 for all: every cut inside one tie group */
    SYN_LONG_PREFIX,   /* ids sharing 100-byte prefixes, ids that prefix others */
    SYN_FEW_FIRST,     /* three first-order times, frequencies tied */
    SYN_NO_ORDERS,     /* half the customers without orders */
    SYN_WIDE_AMOUNTS,  /* cents up to 2^50: buckets wider than one request */
    SYN_MIXED,         /* all of the above at random */
    SYN_COUNT
} synth;

static inline void gen(population *pop, synth kind, size_t n, uint64_t seed) {
    rng_state = seed;
    for (size_t i = 0; i < n; i++) {
        gcust *c = pop_add(pop);
        synth k = kind == SYN_MIXED ? (synth)(rnd() % SYN_MIXED) : kind;
        if (k == SYN_LONG_PREFIX) {
            /* A long shared stem, then a short suffix of varying length, so
             * many ids are proper prefixes of others; every id unique. */
            int stem = (int)(rnd() % 2) * 20 + 100;
            memset(c->id, 'x', (size_t)stem);
            c->len = (size_t)stem +
                     (size_t)snprintf(c->id + stem, sizeof c->id - (size_t)stem, "%zx", i);
        } else {
            c->len = (size_t)snprintf(c->id, sizeof c->id, "%c%zu", 'a' + (int)(k % 4), i);
        }
        c->freq = k == SYN_ONE_GROUP || k == SYN_EQUAL_AMOUNTS ? 1
                  : k == SYN_NO_ORDERS && rnd() % 2            ? 0
                  : k == SYN_FEW_FIRST                         ? 2
                                                               : 1 + (uint32_t)(rnd() % 4);
        c->cents = k == SYN_EQUAL_AMOUNTS  ? 4999
                   : k == SYN_WIDE_AMOUNTS ? (int64_t)(rnd() % (1ULL << 50))
                                           : (int64_t)(rnd() % 20000);
        c->first_ts = k == SYN_FEW_FIRST ? 1500000000u + (uint32_t)(rnd() % 3) * 86400u
                                         : 1500000000u + (uint32_t)(rnd() % 100000000u);
        c->last_ts = k == SYN_EQUAL_AMOUNTS ? (uint32_t)(AS_OF - 5 * DAY)
                                            : (uint32_t)(AS_OF - DAY - rnd() % (400 * DAY));
        if (c->last_ts < c->first_ts)
            c->first_ts = c->last_ts;
        if (c->freq && c->last_ts > pop->max_ts)
            pop->max_ts = c->last_ts;
    }
}

#endif
