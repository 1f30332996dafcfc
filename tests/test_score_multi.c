/*
 * score over a set of stores: score_breakpoints_compute_set and
 * score_as_of_set against one store holding the same customers.
 *
 * The contract is bit-identity, so every comparison here is exact: edges by
 * memcmp (a -0.0 or a last-ulp difference fails), cuts field by field and key
 * byte by key byte, and after rescoring each store of the set on its own,
 * every customer's r, f, m and segment against the single-store run. The
 * customers are built to stress what a split could change: heavy ties in
 * frequency (cuts inside tie groups, some past the frequency histogram), in
 * monetary and in recency days, ids sharing long prefixes or being proper
 * prefixes of each other, few distinct first-order times (for the
 * first_order tie break), and customers without orders. They are split over
 * 1, 2, 3 and 8 stores by a hash, round robin, all in one store, with one
 * store left empty and very unevenly, inserted in a different order than in
 * the single store. The FLO seed data, split over 4 stores, closes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bp_same.h"
#include "flo_raw.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"
#include "test_rng.h"

#define AS_OF 1622505600LL /* 2021-06-01T00:00:00Z */
#define DAY   86400LL
#define KMAX  8

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* One customer as generated, before it goes into any store. */
typedef struct gcust {
    char id[40];
    size_t len;
    uint32_t freq, first_ts, last_ts;
    int64_t cents;
} gcust;

/* n distinct customers; ids that collide are dropped, so fewer may come back.
 * last_ts ends at or before `newest`, which one customer gets exactly. */
static size_t gen_customers(gcust *cs, size_t n, uint64_t seed, int64_t newest) {
    static const char *const prefixes[] = {"", "c", "cust-0000-0000-", "cust-0000-0001-"};
    rng_state = seed;
    store *seen = store_new();
    assert_non_null(seen);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        gcust *c = &cs[m];
        /* A small id space of varying length: many ids are proper prefixes
         * of others, many share their first 8 bytes. */
        int len = snprintf(c->id, sizeof c->id, "%s%.*llx", prefixes[rnd() % 4],
                           (int)(1 + rnd() % 4), (unsigned long long)(rnd() % 65536));
        c->len = (size_t)len;
        bool created;
        assert_non_null(store_upsert(seen, c->id, c->len, &created));
        if (!created)
            continue;
        uint64_t u = rnd() % 1000;
        c->freq = u < 30    ? 0 /* no orders: never scored, never counted */
                  : u < 400 ? 1
                  : u < 600 ? 2
                  : u < 800 ? 3 + (uint32_t)(rnd() % 5)
                  : u < 850 ? 3 + (uint32_t)(rnd() % 40)
                            : 65534 + (uint32_t)(rnd() % 3); /* past FREQ_HIST, tied */
        c->cents = (int64_t)(rnd() % 40) * 250 + (rnd() % 4 ? 0 : (int64_t)(rnd() % 100));
        int64_t rec = (int64_t)(rnd() % 60);
        c->last_ts = (uint32_t)(newest - rec * DAY - (int64_t)(rnd() % DAY));
        c->first_ts = 1500000000u + (uint32_t)(rnd() % 3) * 86400u;
        m++;
    }
    if (m)
        cs[rnd() % m].last_ts = (uint32_t)newest;
    store_free(seen);
    return m;
}

static void put(store *s, const gcust *c) {
    bool created = false;
    store_customer *r = store_upsert(s, c->id, c->len, &created);
    assert_non_null(r);
    assert_true(created);
    r->frequency = c->freq;
    r->first_ts = c->first_ts;
    r->last_ts = c->last_ts;
    r->monetary_cents = c->cents;
    store_note_ts(s, c->last_ts);
}

typedef enum split {
    SPLIT_HASH,      /* by a hash of the id, as partitions are */
    SPLIT_ROUND,     /* round robin */
    SPLIT_ALL_LAST,  /* every customer in the last store, the others empty */
    SPLIT_ONE_EMPTY, /* hash over all stores but the first */
    SPLIT_UNEVEN,    /* nine in ten in store 0, the rest scattered */
    SPLIT_COUNT
} split;

static size_t store_for(split sp, size_t k, size_t i, const gcust *c) {
    switch (sp) {
    case SPLIT_HASH:
        return (size_t)(fnv1a(c->id, c->len) % k);
    case SPLIT_ROUND:
        return i % k;
    case SPLIT_ALL_LAST:
        return k - 1;
    case SPLIT_ONE_EMPTY:
        return k == 1 ? 0 : 1 + (size_t)(fnv1a(c->id, c->len) % (k - 1));
    case SPLIT_UNEVEN:
        return k == 1 || rnd() % 10 ? 0 : 1 + (size_t)(rnd() % (k - 1));
    default:
        fail();
    }
    return 0;
}

/* Exact equality of two breakpoint sets, every field and byte that counts. */
static void assert_bp_identical(const score_breakpoints *a, const score_breakpoints *b,
                                const char *what) {
    char why[512];
    if (!bp_same(a, b, why, sizeof why))
        fail_msg("%s: %s", what, why);
    /* Both went through one code path from a zeroed struct: even the unused
     * bytes agree. */
    assert_memory_equal(a, b, sizeof *a);
}

/* Splits cs[0..n) over k stores, computes and rescores the set, and checks it
 * against the single store `ref` (already scored against `ref_bp`). */
static void check_split(const gcust *cs, size_t n, size_t k, split sp, const score_settings *st,
                        const segment_map *map, store *ref, const score_breakpoints *ref_bp,
                        size_t ref_changed) {
    char what[96];
    snprintf(what, sizeof what, "k %zu split %d bins %d tie %d clock %d n %zu", k, (int)sp,
             st->bins, (int)st->tie_break, (int)st->clock, n);
    store *stores[KMAX];
    for (size_t j = 0; j < k; j++) {
        stores[j] = store_new();
        assert_non_null(stores[j]);
    }
    /* Backwards, so no store sees the single store's arrival order. */
    for (size_t i = n; i-- > 0;)
        put(stores[store_for(sp, k, i, &cs[i])], &cs[i]);

    const store *const *set = (const store *const *)stores;
    assert_int_equal(score_as_of_set(st, set, k, 0), score_as_of(st, ref, 0));
    score_breakpoints bp;
    assert_int_equal(score_breakpoints_compute_set(st, set, k, 0, ref_bp->version - 1, &bp), 0);
    assert_bp_identical(ref_bp, &bp, what);

    size_t changed = 0;
    for (size_t j = 0; j < k; j++)
        changed += score_rescore_all(st, &bp, map, stores[j], NULL, NULL);
    assert_int_equal(changed, ref_changed);
    size_t seen = 0;
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0, cnt = store_count(stores[j]); i < cnt; i++, seen++) {
            const store_customer *c = store_at_const(stores[j], i);
            size_t len;
            const char *key = store_key(stores[j], c, &len);
            const store_customer *w = store_get(ref, key, len);
            assert_non_null(w);
            if (c->r != w->r || c->f != w->f || c->m != w->m || c->segment != w->segment)
                fail_msg("%s: %.*s (store %zu): got r%d f%d m%d seg %d, one store r%d f%d m%d "
                         "seg %d",
                         what, (int)len, key, j, c->r, c->f, c->m, c->segment, w->r, w->f, w->m,
                         w->segment);
            int r, f, m;
            score_customer(st, &bp, stores[j], c, &r, &f, &m);
            assert_true(r == c->r && f == c->f && m == c->m);
        }
    }
    assert_int_equal(seen, n);
    for (size_t j = 0; j < k; j++)
        store_free(stores[j]);
}

/* One generated population: the single-store reference, then every split. */
static void round_of(size_t want, int bins, score_tie_break tie, score_clock clock, uint64_t seed) {
    gcust *cs = calloc(want ? want : 1, sizeof *cs);
    assert_non_null(cs);
    size_t n = gen_customers(cs, want, seed, AS_OF - 2 * DAY - 3600);
    score_settings st;
    score_settings_default(&st);
    st.bins = bins;
    st.tie_break = tie;
    st.clock = clock;
    /* The wall clock pinned (two reads of time() could straddle a second). */
    st.as_of_fixed = clock == SCORE_CLOCK_WALL ? AS_OF : 0;
    segment_map map;
    segment_map_default(&map, bins);

    store *ref = store_new();
    assert_non_null(ref);
    for (size_t i = 0; i < n; i++)
        put(ref, &cs[i]);
    score_breakpoints ref_bp;
    assert_int_equal(score_breakpoints_compute(&st, ref, 0, 6, &ref_bp), 0);
    size_t ref_changed = score_rescore_all(&st, &ref_bp, &map, ref, NULL, NULL);

    static const size_t ks[] = {1, 2, 3, 8};
    for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
        for (int sp = 0; sp < SPLIT_COUNT; sp++)
            check_split(cs, n, ks[a], (split)sp, &st, &map, ref, &ref_bp, ref_changed);
    store_free(ref);
    free(cs);
}

static void test_random_splits(void **state) {
    (void)state;
    uint64_t seed = 1;
    for (int bins = 2; bins <= 9; bins++)
        for (int tie = 0; tie < 2; tie++)
            round_of(2500 + (size_t)bins * 150, bins, (score_tie_break)tie,
                     (score_clock)((bins + tie) % 2), seed++);
    /* Bins 5 again, a bigger population. */
    round_of(6000, 5, SCORE_TIE_CUSTOMER_ID, SCORE_CLOCK_EVENT, 77);
    round_of(6000, 5, SCORE_TIE_FIRST_ORDER, SCORE_CLOCK_EVENT, 78);
}

/* Fewer customers than stores, one, none: the selection's small paths. */
static void test_tiny_sets(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 3, 5, 7, 9, 13, 25, 40};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int tie = 0; tie < 2; tie++)
            round_of(sizes[i], 5, (score_tie_break)tie, SCORE_CLOCK_EVENT, 200 + i);
}

/* No stores at all: an empty store's breakpoints; as_of from no orders. */
static void test_no_stores(void **state) {
    (void)state;
    score_settings st;
    score_settings_default(&st);
    store *empty = store_new();
    assert_non_null(empty);
    score_breakpoints a, b;
    assert_int_equal(score_breakpoints_compute(&st, empty, 0, 3, &a), 0);
    assert_int_equal(score_breakpoints_compute_set(&st, NULL, 0, 0, 3, &b), 0);
    assert_bp_identical(&a, &b, "no stores");
    assert_int_equal(b.version, 4);
    assert_int_equal(b.customers, 0);
    assert_int_equal(score_as_of_set(&st, NULL, 0, 0), 2 * DAY);
    store_free(empty);
}

/* The event clock reads the newest order of every store, wherever it is;
 * the other clocks ignore the stores. */
static void test_as_of_set(void **state) {
    (void)state;
    store *s[3];
    for (int j = 0; j < 3; j++) {
        s[j] = store_new();
        assert_non_null(s[j]);
    }
    store_note_ts(s[0], (uint32_t)(AS_OF - 9 * DAY));
    store_note_ts(s[2], (uint32_t)(AS_OF - 3 * DAY + 5));
    const store *const *set = (const store *const *)s;
    score_settings st;
    score_settings_default(&st);
    assert_int_equal(score_as_of_set(&st, set, 3, 0), AS_OF - DAY);
    assert_int_equal(score_as_of_set(&st, set, 2, 0), AS_OF - 7 * DAY);
    assert_int_equal(score_as_of_set(&st, set + 1, 1, 0), 2 * DAY);
    st.clock = SCORE_CLOCK_WALL;
    assert_int_equal(score_as_of_set(&st, set, 3, 1700000000), 1700000000);
    st.as_of_fixed = 1600000000;
    assert_int_equal(score_as_of_set(&st, set, 3, 1700000000), 1600000000);
    for (int j = 0; j < 3; j++)
        store_free(s[j]);
}

/* ---- the FLO seed data over 4 stores ---- */

/* The raw FLO file as test_score_data.c reads it, into generated customers. */
static size_t load_flo(gcust *cs, size_t cap) {
    char line[1024];
    FILE *f = flo_raw_open(line, sizeof line);
    size_t n = 0;
    flo_raw_row row;
    while (flo_raw_next(f, line, sizeof line, &row)) {
        assert_true(n < cap && row.id_len < sizeof cs[n].id);
        gcust *c = &cs[n++];
        memcpy(c->id, row.id, row.id_len);
        c->len = row.id_len;
        c->first_ts = row.first_ts;
        c->last_ts = row.last_ts;
        c->freq = row.frequency;
        c->cents = row.cents;
    }
    fclose(f);
    return n;
}

static void test_flo_four_stores(void **state) {
    (void)state;
    gcust *cs = calloc(20000, sizeof *cs);
    assert_non_null(cs);
    size_t n = load_flo(cs, 20000);
    assert_int_equal(n, 19945);
    for (int tie = 0; tie < 2; tie++) {
        score_settings st;
        score_settings_default(&st); /* event clock: newest day + 2 = 2021-06-01 */
        st.tie_break = (score_tie_break)tie;
        segment_map map;
        segment_map_default(&map, 5);
        store *ref = store_new();
        assert_non_null(ref);
        for (size_t i = 0; i < n; i++)
            put(ref, &cs[i]);
        score_breakpoints ref_bp;
        assert_int_equal(score_breakpoints_compute(&st, ref, 0, 0, &ref_bp), 0);
        assert_int_equal(ref_bp.as_of, AS_OF);
        size_t changed = score_rescore_all(&st, &ref_bp, &map, ref, NULL, NULL);
        assert_int_equal(changed, n);
        check_split(cs, n, 4, SPLIT_HASH, &st, &map, ref, &ref_bp, changed);
        check_split(cs, n, 4, SPLIT_UNEVEN, &st, &map, ref, &ref_bp, changed);
        store_free(ref);
    }
    free(cs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_splits),   cmocka_unit_test(test_tiny_sets),
        cmocka_unit_test(test_no_stores),       cmocka_unit_test(test_as_of_set),
        cmocka_unit_test(test_flo_four_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
