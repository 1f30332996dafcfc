/*
 * score: breakpoints and scores against pandas, on small hand-made stores.
 *
 * The expected r/f/m below were computed with pandas 3.1.1 / numpy 2.4.6 by
 * tests/ref/seed_rfm.py's score() on the same data. Where pandas qcut refuses
 * coinciding edges the expectation is rfmd's documented rule, computed by the
 * script's numpy fallback (marked "documented rule"). test_score_data.c does
 * the same at scale: the FLO seed data and randomized stores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"

#define AS_OF 1622505600LL /* 2021-06-01T00:00:00Z */
#define DAY   86400LL

/* last_ts 19 hours into the day `rec` days before as_of - 1: recency floors to rec. */
static uint32_t last_ts_for(int rec) {
    return (uint32_t)(AS_OF - (rec + 1) * DAY + 5 * 3600);
}

static store_customer *add(store *s, const char *id, size_t len, int rec, uint32_t freq,
                           int64_t cents, uint32_t first_ts) {
    bool created = false;
    store_customer *c = store_upsert(s, id, len, &created);
    assert_non_null(c);
    assert_true(created);
    c->last_ts = last_ts_for(rec);
    c->first_ts = first_ts;
    c->frequency = freq;
    c->monetary_cents = cents;
    store_note_ts(s, c->last_ts);
    return c;
}

static store_customer *get(store *s, const char *id) {
    store_customer *c = store_get(s, id, strlen(id));
    assert_non_null(c);
    return c;
}

static void settings(score_settings *st, score_tie_break tie, int bins) {
    score_settings_default(st);
    st->as_of_fixed = AS_OF;
    st->tie_break = tie;
    st->bins = bins;
}

/* ---- table-driven pandas cases ---- */

typedef struct pcase {
    const char *name;
    int n;
    const char *const *ids;
    const int *rec;
    const uint32_t *freq;
    const int64_t *cents;
    const uint32_t *first; /* NULL: all 0 */
    score_tie_break tie;
    int bins;
    const int *r, *f, *m;
    const char *const *seg; /* NULL: all unclassified */
} pcase;

/* Inserts in a scrambled order (arrival order must not matter), scores, and
 * checks every customer. Returns the store for further checks. */
static store *run_case(const pcase *k, score_breakpoints *bp) {
    store *s = store_new();
    assert_non_null(s);
    for (int j = 0; j < k->n; j++) {
        int i = (j * 7 + 3) % k->n;
        if (k->n % 7 == 0)
            i = k->n - 1 - j;
        add(s, k->ids[i], strlen(k->ids[i]), k->rec[i], k->freq[i], k->cents[i],
            k->first ? k->first[i] : 0);
    }
    score_settings st;
    settings(&st, k->tie, k->bins);
    segment_map map;
    segment_map_default(&map, k->bins);
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 0, bp), 0);
    assert_int_equal(bp->customers, (size_t)k->n);
    assert_int_equal(bp->bins, k->bins);
    assert_int_equal(score_rescore_all(&st, bp, &map, s, NULL, NULL), (size_t)k->n);
    for (int i = 0; i < k->n; i++) {
        store_customer *c = get(s, k->ids[i]);
        if (c->r != k->r[i] || c->f != k->f[i] || c->m != k->m[i])
            fail_msg("%s: customer %d (%.12s): got r%d f%d m%d, pandas r%d f%d m%d", k->name, i,
                     k->ids[i], c->r, c->f, c->m, k->r[i], k->f[i], k->m[i]);
        assert_string_equal(segment_name(&map, c->segment),
                            k->seg ? k->seg[i] : SEGMENT_UNMATCHED_NAME);
        int r, f, m;
        score_customer(&st, bp, s, c, &r, &f, &m);
        assert_int_equal(r, c->r);
        assert_int_equal(f, c->f);
        assert_int_equal(m, c->m);
    }
    return s;
}

static const char *const TIES_IDS[] = {"c01", "c02", "c03", "c04", "c05", "c06",
                                       "c07", "c08", "c09", "c10", "c11", "c12"};
static const int TIES_REC[] = {0, 0, 1, 1, 1, 5, 5, 9, 30, 30, 30, 100};
static const uint32_t TIES_FREQ[] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 10, 1};
static const int64_t TIES_CENTS[] = {0,   100,  100,  100,  250,  250,
                                     999, 1000, 1000, 5000, 5000, 123456};
static const char *const TIES_SEG[] = {
    "new_customers",       "new_customers",  "new_customers",   "potential_loyalists",
    "potential_loyalists", "need_attention", "loyal_customers", "at_risk",
    "cant_loose",          "cant_loose",     "cant_loose",      "hibernating"};

static pcase ties_case(void) {
    static const int r[] = {5, 5, 5, 5, 5, 3, 3, 2, 2, 2, 2, 1};
    static const int f[] = {1, 1, 1, 2, 3, 3, 4, 4, 5, 5, 5, 2};
    static const int m[] = {1, 1, 1, 1, 2, 2, 3, 4, 4, 5, 5, 5};
    return (pcase){
        "ties", 12, TIES_IDS, TIES_REC, TIES_FREQ, TIES_CENTS, NULL, SCORE_TIE_CUSTOMER_ID,
        5,      r,  f,        m,        TIES_SEG};
}

/* Ties in all three values; pandas qcut accepts the edges. */
static void test_ties(void **state) {
    (void)state;
    pcase tc = ties_case();
    score_breakpoints bp;
    store *s = run_case(&tc, &bp);
    /* Bit for bit what pandas' Series.quantile gives (hex floats). */
    static const double r_edges[] = {0x0.0p+0,
                                     0x1.0p+0,
                                     0x1.4ccccccccccd0p+1 /* 2.6000000000000014 */,
                                     0x1.d9999999999a4p+2 /* 7.400000000000009 */,
                                     0x1.ep+4,
                                     0x1.9p+6};
    static const double f_edges[] = {0x1.0p+0,
                                     0x1.999999999999ap+1 /* 3.2 */,
                                     0x1.599999999999ap+2 /* 5.4 */,
                                     0x1.e666666666669p+2 /* 7.600000000000002 */,
                                     0x1.399999999999ap+3 /* 9.8 */,
                                     0x1.8p+3};
    static const double m_edges[] = {0x0.0p+0,
                                     0x1.0p+0,
                                     0x1.4p+1,
                                     0x1.3fdf3b645a1cbp+3 /* 9.996 */,
                                     0x1.5000000000004p+5 /* 42.00000000000003 */,
                                     0x1.34a3d70a3d70ap+10 /* 1234.56 */};
    for (int k = 0; k <= 5; k++) {
        if (bp.r_edges[k] != r_edges[k] || bp.f_edges[k] != f_edges[k] ||
            bp.m_edges[k] != m_edges[k])
            fail_msg("edge %d: r %a f %a m %a, numpy r %a f %a m %a", k, bp.r_edges[k],
                     bp.f_edges[k], bp.m_edges[k], r_edges[k], f_edges[k], m_edges[k]);
    }
    /* Cuts: ranks floor(3.2), floor(5.4), floor(7.6), floor(9.8) in
     * (frequency, id) order = c03, c04, c06, c08. */
    static const char *const cuts[] = {NULL, "c03", "c04", "c06", "c08"};
    for (int k = 1; k < 5; k++) {
        assert_true(bp.f_cuts[k].valid);
        assert_int_equal(bp.f_cuts[k].key_len, 3);
        assert_memory_equal(bp.f_cuts[k].key, cuts[k], 3);
        assert_int_equal(bp.f_cuts[k].frequency, get(s, cuts[k])->frequency);
    }
    store_free(s);
}

static void test_bins_3_and_9(void **state) {
    (void)state;
    static const int r3[] = {3, 3, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1};
    static const int f3[] = {1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1};
    static const int m3[] = {1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3};
    pcase k3 = {"bins3", 12, TIES_IDS, TIES_REC, TIES_FREQ, TIES_CENTS, NULL, SCORE_TIE_CUSTOMER_ID,
                3,       r3, f3,       m3,       NULL};
    score_breakpoints bp;
    store_free(run_case(&k3, &bp));
    /* 9 bins over 12 customers: R and M edges coincide (documented rule). */
    static const int r9[] = {9, 9, 8, 8, 8, 5, 5, 4, 3, 3, 3, 1};
    static const int f9[] = {1, 1, 2, 4, 5, 5, 6, 7, 8, 9, 9, 3};
    static const int m9[] = {1, 1, 1, 1, 4, 4, 5, 6, 6, 8, 8, 9};
    pcase k9 = {"bins9", 12, TIES_IDS, TIES_REC, TIES_FREQ, TIES_CENTS, NULL, SCORE_TIE_CUSTOMER_ID,
                9,       r9, f9,       m9,       NULL};
    store_free(run_case(&k9, &bp));
    assert_int_equal(bp.bins, 9);
    for (int k = 1; k <= 9; k++)
        assert_true(bp.f_edges[k] >= bp.f_edges[k - 1]);
}

/* The same data under both tie-break modes: first orders run against id
 * order, so rank(method="first") and hence f differ. */
static void test_tie_break_modes(void **state) {
    (void)state;
    static uint32_t first[12];
    for (int i = 0; i < 12; i++)
        first[i] = (uint32_t)(1577836800 + 1000 - 10 * i);
    static const int r[] = {5, 5, 5, 5, 5, 3, 3, 2, 2, 2, 2, 1};
    static const int f[] = {2, 1, 1, 3, 3, 2, 5, 5, 4, 4, 5, 1};
    static const int m[] = {1, 1, 1, 1, 2, 2, 3, 4, 4, 5, 5, 5};
    static const char *const seg[] = {"potential_loyalists",
                                      "new_customers",
                                      "new_customers",
                                      "potential_loyalists",
                                      "potential_loyalists",
                                      "about_to_sleep",
                                      "loyal_customers",
                                      "cant_loose",
                                      "at_risk",
                                      "at_risk",
                                      "cant_loose",
                                      "hibernating"};
    pcase k = {"first_order",         12, TIES_IDS, TIES_REC, TIES_FREQ, TIES_CENTS, first,
               SCORE_TIE_FIRST_ORDER, 5,  r,        f,        m,         seg};
    score_breakpoints bp;
    store *s = run_case(&k, &bp);
    /* The cuts are customers; in first_order mode they carry first_ts. */
    for (int j = 1; j < 5; j++)
        assert_true(bp.f_cuts[j].valid);
    /* Same store, customer_id mode: the ties case's f. */
    pcase ci = ties_case();
    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    segment_map map;
    segment_map_default(&map, 5);
    assert_int_equal(score_breakpoints_compute(&st, s, 0, bp.version, &bp), 0);
    score_rescore_all(&st, &bp, &map, s, NULL, NULL);
    int differ = 0;
    for (int i = 0; i < 12; i++) {
        const store_customer *c = get(s, TIES_IDS[i]);
        assert_int_equal(c->f, ci.f[i]);
        differ += c->f != f[i];
    }
    assert_int_equal(differ, 8);
    /* Table order follows the mode. */
    size_t n, *order = score_tie_order(&st, s, &n);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *key = store_key(s, store_at_const(s, order[i]), &len);
        assert_memory_equal(key, TIES_IDS[i], 3);
    }
    free(order);
    st.tie_break = SCORE_TIE_FIRST_ORDER;
    order = score_tie_order(&st, s, &n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *key = store_key(s, store_at_const(s, order[i]), &len);
        assert_memory_equal(key, TIES_IDS[11 - i], 3); /* first orders descend with id */
    }
    free(order);
    store_free(s);
}

/* Fewer customers than bins. */
static void test_few_customers(void **state) {
    (void)state;
    static const int rec[] = {3, 1, 7, 0};
    static const uint32_t freq[] = {2, 1, 2, 5};
    static const int64_t cents[] = {500, 0, 500, 1999};
    score_breakpoints bp;
    /* One customer: every edge is its value (documented rule): r5 f1 m1. */
    static const int r1[] = {5}, f1[] = {1}, m1[] = {1};
    static const char *const seg1[] = {"new_customers"};
    pcase k1 = {"one", 1,  TIES_IDS, rec, freq, cents, NULL, SCORE_TIE_CUSTOMER_ID,
                5,     r1, f1,       m1,  seg1};
    store_free(run_case(&k1, &bp));
    for (int k = 0; k <= 5; k++) {
        assert_true(bp.r_edges[k] == 3.0);
        assert_true(bp.f_edges[k] == 1.0);
        assert_true(bp.m_edges[k] == 5.0);
    }
    /* Two: pandas accepts the edges (ranks 1, 1.2, ..., 2). */
    static const int r2[] = {1, 5}, f2[] = {5, 1}, m2[] = {5, 1};
    static const char *const seg2[] = {"cant_loose", "new_customers"};
    pcase k2 = {"two", 2,  TIES_IDS, rec, freq, cents, NULL, SCORE_TIE_CUSTOMER_ID,
                5,     r2, f2,       m2,  seg2};
    store_free(run_case(&k2, &bp));
    assert_true(bp.f_edges[1] == 0x1.3333333333333p+0); /* 1.2 */
    assert_true(bp.f_edges[3] == 0x1.999999999999ap+0); /* 1.6 */
    /* numpy's lerp takes b - (b-a)*(1-t) for t >= 0.5; a + (b-a)*t would give
     * 1.8100000000000007 here instead of pandas' 1.8100000000000005. */
    static const int64_t cents2[] = {301, 1};
    pcase k2m = {"two, lerp",           2, TIES_IDS, rec, freq, cents2, NULL,
                 SCORE_TIE_CUSTOMER_ID, 5, r2,       f2,  m2,   seg2};
    store_free(run_case(&k2m, &bp));
    static const double m2_edges[] = {0x1.47ae147ae147bp-7, 0x1.3851eb851eb86p-1,
                                      0x1.35c28f5c28f5dp+0, 0x1.cf5c28f5c28f8p+0,
                                      0x1.347ae147ae148p+1, 0x1.8147ae147ae14p+1};
    for (int k = 0; k <= 5; k++)
        if (bp.m_edges[k] != m2_edges[k])
            fail_msg("m edge %d: %a, pandas %a", k, bp.m_edges[k], m2_edges[k]);
    /* Four: M edges coincide (500, 500), documented rule. */
    static const int r4[] = {2, 4, 1, 5}, f4[] = {2, 1, 4, 5}, m4[] = {2, 1, 2, 5};
    static const char *const seg4[] = {"hibernating", "promising", "at_risk", "champions"};
    pcase k4 = {"four", 4,  TIES_IDS, rec, freq, cents, NULL, SCORE_TIE_CUSTOMER_ID,
                5,      r4, f4,       m4,  seg4};
    store_free(run_case(&k4, &bp));
}

/* pandas raises "Bin edges must be unique"; rfmd keeps every customer. */
static void test_coinciding_edges(void **state) {
    (void)state;
    score_breakpoints bp;
    static const char *const ids7[] = {"d0", "d1", "d2", "d3", "d4", "d5", "d6"};
    static const int rec7[] = {3, 3, 3, 3, 3, 3, 3};
    static const uint32_t freq7[] = {1, 2, 3, 4, 5, 6, 7};
    static const int64_t cents7[] = {1000, 1000, 1000, 1000, 1000, 1000, 1000};
    static const int r7[] = {5, 5, 5, 5, 5, 5, 5};
    static const int f7[] = {1, 1, 2, 3, 4, 5, 5};
    static const int m7[] = {1, 1, 1, 1, 1, 1, 1};
    static const char *const seg7[] = {
        "new_customers", "new_customers", "potential_loyalists", "potential_loyalists", "champions",
        "champions",     "champions"};
    pcase same = {"same day, same monetary", 7, ids7, rec7, freq7, cents7, NULL,
                  SCORE_TIE_CUSTOMER_ID,     5, r7,   f7,   m7,    seg7};
    store_free(run_case(&same, &bp));
    for (int k = 0; k <= 5; k++) {
        assert_true(bp.r_edges[k] == 3.0);
        assert_true(bp.m_edges[k] == 10.0);
    }
    /* Repeated inner edges: a value on a repeated edge goes to the lowest of
     * the repeated bins, the bins between stay empty. */
    static const char *const ids10[] = {"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"};
    static const int rec10[] = {0, 0, 0, 0, 0, 0, 0, 10, 20, 30};
    static const uint32_t freq10[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const int64_t cents10[] = {0, 0, 0, 0, 0, 0, 100, 100, 100, 200};
    static const int r10[] = {5, 5, 5, 5, 5, 5, 5, 2, 1, 1};
    static const int f10[] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
    static const int m10[] = {1, 1, 1, 1, 1, 1, 4, 4, 4, 5};
    static const char *const seg10[] = {
        "new_customers",       "new_customers",       "potential_loyalists", "potential_loyalists",
        "potential_loyalists", "potential_loyalists", "champions",           "at_risk",
        "cant_loose",          "cant_loose"};
    pcase stepped = {"stepped", 10,  ids10, rec10, freq10, cents10, NULL, SCORE_TIE_CUSTOMER_ID,
                     5,         r10, f10,   m10,   seg10};
    store_free(run_case(&stepped, &bp));
    assert_true(bp.m_edges[2] == 0.0);
    assert_true(bp.m_edges[3] == 0x1.99999999999c0p-2); /* 0.40000000000000213 */
    assert_true(bp.m_edges[4] == 1.0);
}

/* Zero monetary (nothing bought, or all refunded) scores like any value; a
 * customer without orders is not scored and not counted. */
static void test_zero_and_refunded(void **state) {
    (void)state;
    static const char *const ids[] = {"z1", "z2", "z3", "z4", "z6", "z7"};
    static const int rec[] = {1, 2, 3, 4, 5, 6};
    static const uint32_t freq[] = {1, 3, 2, 1, 5, 1};
    static const int64_t cents[] = {0, 0, 1, 0, 99999, 50};
    static const int r[] = {5, 5, 4, 3, 2, 1};
    static const int f[] = {1, 4, 3, 1, 5, 2};
    static const int m[] = {1, 1, 3, 1, 5, 4};
    static const char *const seg[] = {"new_customers",  "champions",  "potential_loyalists",
                                      "about_to_sleep", "cant_loose", "hibernating"};
    pcase k = {"zero", 6, ids, rec, freq, cents, NULL, SCORE_TIE_CUSTOMER_ID, 5, r, f, m, seg};
    score_breakpoints bp;
    store *s = run_case(&k, &bp);
    /* A customer with no counted order (e.g. only refunds) appears. */
    store_customer *z5 = add(s, "z5", 2, 1, 0, 0, 0);
    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    segment_map map;
    segment_map_default(&map, 5);
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 1, &bp), 0);
    assert_int_equal(bp.customers, 6);
    assert_int_equal(score_rescore_all(&st, &bp, &map, s, NULL, NULL), 0);
    assert_int_equal(z5->r, 0);
    assert_int_equal(z5->f, 0);
    assert_int_equal(z5->m, 0);
    assert_int_equal(z5->segment, 0);
    int r0, f0, m0;
    score_customer(&st, &bp, s, z5, &r0, &f0, &m0);
    assert_int_equal(r0 + f0 + m0, 0);
    size_t n, *order = score_tie_order(&st, s, &n);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_ptr_not_equal(store_at_const(s, order[i]), z5);
    free(order);
    for (int i = 0; i < 6; i++)
        assert_int_equal(get(s, ids[i])->m, m[i]); /* unchanged by z5 */
    store_free(s);
}

/* 128-byte ids sharing 100+ bytes, proper prefixes of each other, and ids
 * shorter than the 8-byte comparison prefix. Equal frequency: f shows the
 * tie order. */
static void test_huge_ids(void **state) {
    (void)state;
    static char h[10][STORE_KEY_MAX + 1];
    const char *ids[10];
    char p[101];
    memset(p, 'x', 100);
    p[100] = 0;
    snprintf(h[0], sizeof h[0], "%s%.28s", p, "bbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    snprintf(h[1], sizeof h[1], "%s%.28s", p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(h[2], sizeof h[2], "%s%.27s", p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(h[3], sizeof h[3], "x");
    snprintf(h[4], sizeof h[4], "%s%.26sb", p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(h[5], sizeof h[5], "%s%.27sA", p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(h[6], sizeof h[6], "y");
    snprintf(h[7], sizeof h[7], "xxxxxxxx");
    snprintf(h[8], sizeof h[8], "xxxxxxx");
    snprintf(h[9], sizeof h[9], "%sc", p);
    for (int i = 0; i < 10; i++)
        ids[i] = h[i];
    assert_int_equal(strlen(h[0]), 128);
    assert_int_equal(strlen(h[2]), 127);
    assert_int_equal(strlen(h[5]), 128);
    static const int rec[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint32_t freq[] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    static const int64_t cents[] = {0, 100, 200, 300, 400, 500, 600, 700, 800, 900};
    static const uint32_t first[] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    static const int r[] = {5, 5, 4, 4, 3, 3, 2, 2, 1, 1};
    static const int f[] = {4, 3, 2, 1, 4, 3, 5, 2, 1, 5};
    static const int m[] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
    static const char *const seg[] = {"champions",  "potential_loyalists", "potential_loyalists",
                                      "promising",  "loyal_customers",     "need_attention",
                                      "cant_loose", "hibernating",         "hibernating",
                                      "cant_loose"};
    pcase k = {"huge", 10, ids, rec, freq, cents, NULL, SCORE_TIE_CUSTOMER_ID, 5, r, f, m, seg};
    score_breakpoints bp;
    store *s = run_case(&k, &bp);
    /* Byte order: x, xxxxxxx, xxxxxxxx, P+a*27, P+a*27+A, P+a*28, P+a*26+b, P+b*28, P+c, y */
    static const int order_want[] = {3, 8, 7, 2, 5, 1, 4, 0, 9, 6};
    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    size_t n, *order = score_tie_order(&st, s, &n);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(store_at_const(s, order[i]), get(s, ids[order_want[i]]));
    free(order);
    /* A cut key is the full 128-byte id. */
    bool saw_full = false;
    for (int j = 1; j < 5; j++)
        saw_full |= bp.f_cuts[j].key_len == 128;
    assert_true(saw_full);
    store_free(s);
    /* first_order with equal first orders falls back to the id: same f. */
    k.first = first;
    k.tie = SCORE_TIE_FIRST_ORDER;
    k.name = "huge first_order";
    store_free(run_case(&k, &bp));
}

static void test_versioning(void **state) {
    (void)state;
    pcase k = ties_case();
    score_breakpoints bp;
    store *s = run_case(&k, &bp);
    assert_int_equal(bp.version, 1);
    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    score_breakpoints bp2;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, bp.version, &bp2), 0);
    assert_int_equal(bp2.version, 2);
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 41, &bp2), 0);
    assert_int_equal(bp2.version, 42);
    assert_int_equal(bp2.as_of, AS_OF);
    /* Same data, same edges and cuts. */
    assert_memory_equal(bp.r_edges, bp2.r_edges, sizeof bp.r_edges);
    assert_memory_equal(bp.m_edges, bp2.m_edges, sizeof bp.m_edges);
    assert_memory_equal(bp.f_cuts, bp2.f_cuts, sizeof bp.f_cuts);
    store_free(s);
}

typedef struct changes {
    store *s;
    int n;
    char id[16][8];
    uint8_t old[16], now[16];
} changes;

static void on_change(void *ctx, size_t idx, store_customer *c, uint8_t old) {
    changes *ch = ctx;
    assert_true(ch->n < 16);
    assert_ptr_equal(store_at(ch->s, idx), c);
    size_t len;
    const char *key = store_key(ch->s, c, &len);
    snprintf(ch->id[ch->n], sizeof ch->id[0], "%.*s", (int)len, key);
    ch->old[ch->n] = old;
    ch->now[ch->n] = c->segment;
    ch->n++;
}

static void test_rescore_changes(void **state) {
    (void)state;
    changes ch = {0};
    store *s = store_new();
    ch.s = s;
    for (int i = 11; i >= 0; i--)
        add(s, TIES_IDS[i], 3, TIES_REC[i], TIES_FREQ[i], TIES_CENTS[i], 0);
    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    segment_map map;
    segment_map_default(&map, 5);
    score_breakpoints bp;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 0, &bp), 0);
    /* First scoring: everyone changes, from segment 0. */
    assert_int_equal(score_rescore_all(&st, &bp, &map, s, on_change, &ch), 12);
    assert_int_equal(ch.n, 12);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(ch.old[i], 0);
        assert_string_equal(ch.id[i], TIES_IDS[11 - i]); /* store order */
        assert_string_equal(segment_name(&map, ch.now[i]), TIES_SEG[11 - i]);
    }
    /* Nothing moved: no change. */
    ch.n = 0;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, bp.version, &bp), 0);
    assert_int_equal(score_rescore_all(&st, &bp, &map, s, on_change, &ch), 0);
    assert_int_equal(ch.n, 0);
    /* c12 comes back: today, 20 orders. pandas on the new data moves c03,
     * c07, c09 and c12. */
    store_customer *c12 = get(s, "c12");
    c12->last_ts = last_ts_for(0);
    c12->frequency = 20;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, bp.version, &bp), 0);
    assert_int_equal(bp.version, 3);
    assert_int_equal(score_rescore_all(&st, &bp, &map, s, on_change, &ch), 4);
    static const char *const want[][3] = {{"c12", "hibernating", "champions"},
                                          {"c09", "cant_loose", "at_risk"},
                                          {"c07", "loyal_customers", "need_attention"},
                                          {"c03", "new_customers", "promising"}};
    assert_int_equal(ch.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(ch.id[i], want[i][0]);
        assert_string_equal(segment_name(&map, ch.old[i]), want[i][1]);
        assert_string_equal(segment_name(&map, ch.now[i]), want[i][2]);
    }
    store_free(s);
}

/* Between recomputes a touched customer is scored alone; a full rescore
 * against the same breakpoints must agree with it. */
static void test_single_matches_full(void **state) {
    (void)state;
    pcase k = ties_case();
    score_breakpoints bp;
    store *s = run_case(&k, &bp);
    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    segment_map map;
    segment_map_default(&map, 5);
    /* c05 buys twice more today; c09 (a cut customer's neighbour) once. */
    store_customer *c05 = get(s, "c05"), *c09 = get(s, "c09");
    c05->frequency += 2;
    c05->last_ts = last_ts_for(0);
    c05->monetary_cents += 100000;
    assert_string_equal(segment_name(&map, score_apply(&st, &bp, &map, s, c05)),
                        "potential_loyalists");
    assert_int_equal(c05->r, 5);
    assert_int_equal(c05->f, 5); /* 4 orders: after every cut (c03, c04, c06, c08) */
    assert_int_equal(c05->m, 5);
    assert_string_equal(segment_name(&map, c05->segment), "champions");
    c09->frequency += 1;
    score_apply(&st, &bp, &map, s, c09);
    /* A brand-new customer between recomputes. */
    store_customer *nw = add(s, "c00", 3, 0, 1, 500, 0); /* rec 0, 1 order */
    assert_int_equal(score_apply(&st, &bp, &map, s, nw), 0);
    assert_string_equal(segment_name(&map, nw->segment), "new_customers");
    assert_int_equal(nw->f, 1); /* "c00" sorts before every frequency-1 cut */
    /* Full rescore against the same breakpoints: nobody changes. */
    uint8_t snap[13][4];
    for (size_t i = 0; i < store_count(s); i++) {
        const store_customer *c = store_at_const(s, i);
        uint8_t v[4] = {c->r, c->f, c->m, c->segment};
        memcpy(snap[i], v, 4);
    }
    assert_int_equal(score_rescore_all(&st, &bp, &map, s, NULL, NULL), 0);
    for (size_t i = 0; i < store_count(s); i++) {
        const store_customer *c = store_at_const(s, i);
        uint8_t v[4] = {c->r, c->f, c->m, c->segment};
        assert_memory_equal(snap[i], v, 4);
    }
    store_free(s);
}

static void test_empty_store(void **state) {
    (void)state;
    store *s = store_new();
    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    segment_map map;
    segment_map_default(&map, 5);
    score_breakpoints bp;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 0, &bp), 0);
    assert_int_equal(bp.version, 1);
    assert_int_equal(bp.customers, 0);
    assert_int_equal(score_rescore_all(&st, &bp, &map, s, NULL, NULL), 0);
    size_t n = 99, *order = score_tie_order(&st, s, &n);
    assert_int_equal(n, 0);
    free(order);
    /* The first customer after an empty recompute is scored as if alone. */
    store_customer *c = add(s, "first", 5, 40, 1, 1234, 0);
    assert_int_equal(score_apply(&st, &bp, &map, s, c), 0);
    assert_int_equal(c->r, 5);
    assert_int_equal(c->f, 1);
    assert_int_equal(c->m, 1);
    assert_string_equal(segment_name(&map, c->segment), "new_customers");
    /* Zeroed (never computed) breakpoints behave the same. */
    score_breakpoints zero;
    memset(&zero, 0, sizeof zero);
    int r, f, m;
    score_customer(&st, &zero, s, c, &r, &f, &m);
    assert_int_equal(r, 5);
    assert_int_equal(f, 1);
    assert_int_equal(m, 1);
    store_free(s);
}

static void test_as_of_and_recency(void **state) {
    (void)state;
    store *s = store_new();
    score_settings st;
    score_settings_default(&st);
    assert_int_equal(st.bins, 5);
    assert_int_equal(st.tie_break, SCORE_TIE_CUSTOMER_ID);
    assert_int_equal(st.clock, SCORE_CLOCK_EVENT);
    assert_int_equal(st.as_of_offset_days, 2);
    assert_int_equal(st.as_of_fixed, 0);
    /* Newest order 2021-05-30T13:45:10Z -> 2021-06-01T00:00:00Z. */
    store_note_ts(s, (uint32_t)(AS_OF - 2 * DAY + 13 * 3600 + 45 * 60 + 10));
    store_note_ts(s, (uint32_t)(AS_OF - 40 * DAY));
    assert_int_equal(score_as_of(&st, s, 0), AS_OF);
    /* Midnight exactly is its own day. */
    store_note_ts(s, (uint32_t)(AS_OF - DAY));
    assert_int_equal(score_as_of(&st, s, 0), AS_OF + DAY);
    st.as_of_offset_days = 0;
    assert_int_equal(score_as_of(&st, s, 0), AS_OF - DAY);
    st.clock = SCORE_CLOCK_WALL;
    assert_int_equal(score_as_of(&st, s, 1700000000), 1700000000);
    st.as_of_fixed = 1600000000;
    assert_int_equal(score_as_of(&st, s, 1700000000), 1600000000);
    st.clock = SCORE_CLOCK_EVENT;
    assert_int_equal(score_as_of(&st, s, 1700000000), 1600000000);

    assert_int_equal(score_recency_days(AS_OF, (uint32_t)AS_OF), 0);
    assert_int_equal(score_recency_days(AS_OF, (uint32_t)(AS_OF - 1)), 0);
    assert_int_equal(score_recency_days(AS_OF, (uint32_t)(AS_OF - DAY + 1)), 0);
    assert_int_equal(score_recency_days(AS_OF, (uint32_t)(AS_OF - DAY)), 1);
    assert_int_equal(score_recency_days(AS_OF, (uint32_t)(AS_OF - 10 * DAY - 5)), 10);
    assert_int_equal(score_recency_days(AS_OF, (uint32_t)(AS_OF + 5 * DAY)), 0); /* never < 0 */
    assert_int_equal(score_recency_days(AS_OF, 0), AS_OF / DAY);
    store_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_bins_3_and_9),
        cmocka_unit_test(test_tie_break_modes),
        cmocka_unit_test(test_few_customers),
        cmocka_unit_test(test_coinciding_edges),
        cmocka_unit_test(test_zero_and_refunded),
        cmocka_unit_test(test_huge_ids),
        cmocka_unit_test(test_versioning),
        cmocka_unit_test(test_rescore_changes),
        cmocka_unit_test(test_single_matches_full),
        cmocka_unit_test(test_empty_store),
        cmocka_unit_test(test_as_of_and_recency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
