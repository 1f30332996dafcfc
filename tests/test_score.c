/*
 * score: breakpoints and scores against pandas.
 *
 * The expected r/f/m below were computed with pandas 3.1.1 / numpy 2.4.6 by
 * tests/ref/seed_rfm.py's score() on the same data. Where pandas qcut refuses
 * coinciding edges the expectation is rfmd's documented rule, computed by the
 * script's numpy fallback (marked "documented rule"). The FLO tests compare
 * 19,945 customers against the golden file and against pandas hashes; a
 * randomized test checks the selection machinery against full sorts.
 */
#include <math.h>
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

/* ---- randomized: selection and histograms against full sorts ---- */

typedef struct rcust {
    char id[48];
    size_t len;
    uint32_t freq, first;
    int64_t rec, cents;
    int r, f, m;
} rcust;

static uint64_t rng_state;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static score_tie_break sort_mode;
static int cmp_tie(const void *a, const void *b) {
    const rcust *x = *(rcust *const *)a, *y = *(rcust *const *)b;
    if (sort_mode == SCORE_TIE_FIRST_ORDER && x->first != y->first)
        return x->first < y->first ? -1 : 1;
    int c = memcmp(x->id, y->id, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}
static int cmp_freq_tie(const void *a, const void *b) {
    const rcust *x = *(rcust *const *)a, *y = *(rcust *const *)b;
    if (x->freq != y->freq)
        return x->freq < y->freq ? -1 : 1;
    return cmp_tie(a, b);
}

/* numpy's linear quantiles of sorted v, written out independently. */
static void brute_edges(const double *v, size_t n, int bins, double *e) {
    for (int k = 0; k <= bins; k++) {
        double q = k == bins ? 1.0 : (double)k * (1.0 / bins);
        if ((double)bins * q != (double)k)
            q = nextafter(q, 1.0);
        double vi = (double)(n - 1) * q;
        if (vi >= (double)(n - 1)) {
            e[k] = v[n - 1];
            continue;
        }
        size_t lo = (size_t)vi;
        double t = vi - (double)lo, a = v[lo], b = v[lo + 1];
        e[k] = t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
    }
}

static int below(const double *e, int bins, double x) {
    int c = 1;
    for (int k = 1; k < bins; k++)
        c += e[k] < x;
    return c;
}

static void brute_score(rcust *cs, size_t n, int bins, score_tie_break mode) {
    double *v = malloc(n * sizeof *v), e[SCORE_BINS_MAX + 1];
    rcust **p = malloc(n * sizeof *p);
    assert_non_null(v);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)cs[i].rec;
    qsort(v, n, sizeof *v, cmp_dbl);
    brute_edges(v, n, bins, e);
    for (size_t i = 0; i < n; i++)
        cs[i].r = bins + 1 - below(e, bins, (double)cs[i].rec);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)cs[i].cents / 100.0;
    qsort(v, n, sizeof *v, cmp_dbl);
    brute_edges(v, n, bins, e);
    for (size_t i = 0; i < n; i++)
        cs[i].m = below(e, bins, (double)cs[i].cents / 100.0);
    for (size_t i = 0; i < n; i++) {
        p[i] = &cs[i];
        v[i] = (double)(i + 1);
    }
    sort_mode = mode;
    qsort(p, n, sizeof *p, cmp_freq_tie);
    brute_edges(v, n, bins, e);
    for (size_t i = 0; i < n; i++)
        p[i]->f = below(e, bins, (double)(i + 1));
    free(v);
    free(p);
}

typedef enum { DIST_MIXED, DIST_SAME, DIST_ASCENDING, DIST_FEW_VALUES } dist;

static void random_round(size_t n, dist d, int bins, score_tie_break mode, int64_t as_of,
                         uint64_t seed) {
    static const char *const prefixes[] = {"", "cust-", "cust-0000-0000-", "x"};
    rng_state = seed;
    rcust *cs = calloc(n, sizeof *cs);
    assert_non_null(cs);
    store *s = store_new();
    int64_t max_rec = as_of / DAY;
    for (size_t i = 0; i < n; i++) {
        rcust *c = &cs[i];
        int len = snprintf(c->id, sizeof c->id, "%s%.*llx.%zu", prefixes[rnd() % 4],
                           (int)(1 + rnd() % 12), (unsigned long long)rnd(), i);
        c->len = (size_t)len;
        switch (d) {
        case DIST_MIXED: { /* skewed counts, some past the histogram */
            uint64_t u = rnd() % 1000;
            c->freq = u < 500   ? 1
                      : u < 750 ? 2
                      : u < 990 ? 3 + (uint32_t)(rnd() % 40)
                                : 65530 + (uint32_t)(rnd() % 12);
            c->rec = (int64_t)(rnd() % 400);
            c->cents = (int64_t)(rnd() % 60) * 250 + (rnd() % 3 ? 0 : (int64_t)(rnd() % 100));
            break;
        }
        case DIST_SAME:
            c->freq = 3;
            c->rec = 10;
            c->cents = 500;
            break;
        case DIST_ASCENDING:
            c->freq = (uint32_t)i + 1;
            c->rec = (int64_t)i;
            c->cents = (int64_t)i * 7;
            break;
        case DIST_FEW_VALUES:
            c->freq = 1 + (uint32_t)(rnd() % 3);
            c->rec = (int64_t)(rnd() % 3) * 30;
            c->cents = (int64_t)(rnd() % 2) * 1000;
            break;
        }
        if (c->rec > max_rec)
            c->rec = max_rec;
        /* Far as_of values: shift every recency so last_ts still fits the
         * record's 32-bit seconds. */
        if (as_of > (int64_t)UINT32_MAX)
            c->rec += (as_of - (int64_t)UINT32_MAX) / DAY + 1;
        c->first = 1500000000u + (uint32_t)(rnd() % 4) * 86400u;
        bool created;
        store_customer *sc = store_upsert(s, c->id, c->len, &created);
        assert_non_null(sc);
        assert_true(created);
        sc->frequency = c->freq;
        sc->first_ts = c->first;
        sc->last_ts = (uint32_t)(as_of - c->rec * DAY - (int64_t)(rnd() % DAY));
        sc->monetary_cents = c->cents;
        if (c->rec == 0)
            sc->last_ts = (uint32_t)(as_of - (int64_t)(rnd() % DAY));
    }
    brute_score(cs, n, bins, mode);

    score_settings st;
    settings(&st, mode, bins);
    st.as_of_fixed = as_of;
    segment_map map;
    segment_map_default(&map, bins);
    score_breakpoints bp;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 0, &bp), 0);
    assert_int_equal(bp.customers, n);
    score_rescore_all(&st, &bp, &map, s, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        const store_customer *sc = store_at_const(s, i);
        assert_int_equal(score_recency_days(as_of, sc->last_ts), cs[i].rec);
        if (sc->r != cs[i].r || sc->f != cs[i].f || sc->m != cs[i].m)
            fail_msg("dist %d bins %d mode %d n %zu: customer %s: got r%d f%d m%d, want r%d f%d "
                     "m%d",
                     (int)d, bins, (int)mode, n, cs[i].id, sc->r, sc->f, sc->m, cs[i].r, cs[i].f,
                     cs[i].m);
    }
    /* Table order = a full sort by tie key. */
    rcust **p = malloc(n * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = &cs[i];
    sort_mode = mode;
    qsort(p, n, sizeof *p, cmp_tie);
    size_t m, *order = score_tie_order(&st, s, &m);
    assert_int_equal(m, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(order[i], (size_t)(p[i] - cs));
    free(order);
    free(p);
    free(cs);
    store_free(s);
}

static void test_random_against_sort(void **state) {
    (void)state;
    const int64_t far = 16000000000LL; /* year 2477: recency leaves the histogram */
    random_round(5000, DIST_MIXED, 5, SCORE_TIE_CUSTOMER_ID, AS_OF, 1);
    random_round(5000, DIST_MIXED, 5, SCORE_TIE_FIRST_ORDER, AS_OF, 2);
    random_round(5000, DIST_MIXED, 9, SCORE_TIE_CUSTOMER_ID, AS_OF, 3);
    random_round(5000, DIST_MIXED, 3, SCORE_TIE_FIRST_ORDER, AS_OF, 4);
    random_round(5000, DIST_MIXED, 5, SCORE_TIE_CUSTOMER_ID, far, 5);
    random_round(3000, DIST_SAME, 5, SCORE_TIE_CUSTOMER_ID, AS_OF, 6);
    random_round(3000, DIST_SAME, 5, SCORE_TIE_FIRST_ORDER, far, 7);
    random_round(4000, DIST_ASCENDING, 5, SCORE_TIE_CUSTOMER_ID, AS_OF, 8);
    random_round(4000, DIST_ASCENDING, 7, SCORE_TIE_CUSTOMER_ID, far, 9);
    random_round(4000, DIST_FEW_VALUES, 5, SCORE_TIE_FIRST_ORDER, AS_OF, 10);
    for (size_t n = 1; n <= 40; n++) /* around the insertion-sort threshold */
        random_round(n, DIST_MIXED, 5, (score_tie_break)(n % 2), AS_OF, 100 + n);
}

/* ---- the FLO seed data ---- */

static char *path_join(const char *env, const char *rel) {
    const char *dir = getenv(env);
    if (!dir)
        fail_msg("%s is not set (ctest sets it)", env);
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static uint64_t fnv1a(uint64_t h, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static uint32_t parse_date(const char *p) {
    int y, m, d;
    assert_int_equal(sscanf(p, "%4d-%2d-%2d", &y, &m, &d), 3);
    return (uint32_t)(days_from_civil(y, m, d) * DAY);
}

/* "799.38" / "139.9" / "4.0" -> cents (at most two decimals in this file). */
static int64_t parse_cents(const char *p, size_t len) {
    int64_t units = 0, frac = 0;
    size_t i = 0;
    for (; i < len && p[i] != '.'; i++)
        units = units * 10 + (p[i] - '0');
    int digits = 0;
    for (i++; i < len; i++, digits++)
        frac = frac * 10 + (p[i] - '0');
    assert_true(digits <= 2);
    return units * 100 + (digits == 1 ? frac * 10 : frac);
}

/* The SPEC §6 table in tie order, hashed; also returns the f column. */
static uint64_t table_hash(const store *s, const score_breakpoints *bp, const score_settings *st,
                           const segment_map *map, size_t *rows) {
    static const char header[] = "customer_id,recency,frequency,monetary,r,f,m,segment\n";
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, header, strlen(header));
    size_t n, *order = score_tie_order(st, s, &n);
    assert_non_null(order);
    for (size_t i = 0; i < n; i++) {
        const store_customer *c = store_at_const(s, order[i]);
        size_t klen;
        const char *key = store_key(s, c, &klen);
        char line[256];
        int len =
            snprintf(line, sizeof line, "%.*s,%lld,%u,%lld.%02lld,%d,%d,%d,%s\n", (int)klen, key,
                     (long long)score_recency_days(bp->as_of, c->last_ts), c->frequency,
                     (long long)(c->monetary_cents / 100), (long long)(c->monetary_cents % 100),
                     c->r, c->f, c->m, segment_name(map, c->segment));
        h = fnv1a(h, line, (size_t)len);
    }
    free(order);
    *rows = n;
    return h;
}

#define FLO_GOLDEN_HASH      0xd98e6e94d7a15366ULL /* FNV-1a 64 of tests/data/flo_golden.csv */
#define FLO_FIRST_ORDER_HASH 0x627e961f753c13ccULL /* seed_rfm.py --tie-break first_order */

/* The golden table, loaded straight into a store (no reader involved), must
 * score back to itself: 19,945 customers against pandas. */
static void test_flo_golden_table(void **state) {
    (void)state;
    char *path = path_join("RFM_SOURCE", "tests/data/flo_golden.csv");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    free(path);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    uint64_t filehash = fnv1a(0xcbf29ce484222325ULL, line, strlen(line));
    typedef struct row {
        char id[40];
        int r, f, m;
        char seg[32];
    } row;
    row *rows = malloc(20000 * sizeof *rows);
    assert_non_null(rows);
    size_t n = 0;
    store *s = store_new();
    while (fgets(line, sizeof line, f)) {
        filehash = fnv1a(filehash, line, strlen(line));
        assert_true(n < 20000);
        row *w = &rows[n++];
        long long rec;
        unsigned freq;
        char money[32];
        assert_int_equal(sscanf(line, "%39[^,],%lld,%u,%31[^,],%d,%d,%d,%31[^\n]", w->id, &rec,
                                &freq, money, &w->r, &w->f, &w->m, w->seg),
                         8);
        bool created;
        store_customer *c = store_upsert(s, w->id, strlen(w->id), &created);
        assert_true(created);
        c->frequency = freq;
        c->last_ts = (uint32_t)(AS_OF - rec * DAY);
        c->first_ts = c->last_ts;
        c->monetary_cents = parse_cents(money, strlen(money));
        store_note_ts(s, c->last_ts);
    }
    fclose(f);
    assert_int_equal(n, 19945);
    assert_true(filehash == FLO_GOLDEN_HASH);

    score_settings st;
    settings(&st, SCORE_TIE_CUSTOMER_ID, 5);
    segment_map map;
    segment_map_default(&map, 5);
    score_breakpoints bp;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 0, &bp), 0);
    assert_int_equal(bp.customers, n);
    score_rescore_all(&st, &bp, &map, s, NULL, NULL);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const store_customer *c = store_at_const(s, i);
        if (c->r != rows[i].r || c->f != rows[i].f || c->m != rows[i].m ||
            strcmp(segment_name(&map, c->segment), rows[i].seg)) {
            if (bad++ < 5)
                print_error("%s: got %d%d%d %s, golden %d%d%d %s\n", rows[i].id, c->r, c->f, c->m,
                            segment_name(&map, c->segment), rows[i].r, rows[i].f, rows[i].m,
                            rows[i].seg);
        }
    }
    assert_int_equal(bad, 0);
    size_t nrows;
    assert_true(table_hash(s, &bp, &st, &map, &nrows) == FLO_GOLDEN_HASH);
    free(rows);
    store_free(s);
}

/* From the raw FLO file, event clock: the seed table in both tie modes. */
static void test_flo_raw_both_modes(void **state) {
    (void)state;
    char *path = path_join("RFM_SHARED", "data/flo_data_20k.csv");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    free(path);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    store *s = store_new();
    while (fgets(line, sizeof line, f)) {
        const char *fld[12];
        size_t flen[12];
        const char *p = line;
        for (int i = 0; i < 11; i++) { /* the 12th field may be quoted; unused */
            const char *comma = strchr(p, ',');
            assert_non_null(comma);
            fld[i] = p;
            flen[i] = (size_t)(comma - p);
            p = comma + 1;
        }
        bool created;
        store_customer *c = store_upsert(s, fld[0], flen[0], &created);
        assert_true(created);
        c->first_ts = parse_date(fld[3]);
        c->last_ts = parse_date(fld[4]);
        c->frequency =
            (uint32_t)(parse_cents(fld[7], flen[7]) / 100 + parse_cents(fld[8], flen[8]) / 100);
        c->monetary_cents = parse_cents(fld[9], flen[9]) + parse_cents(fld[10], flen[10]);
        store_note_ts(s, c->last_ts);
    }
    fclose(f);
    assert_int_equal(store_count(s), 19945);

    score_settings st;
    score_settings_default(&st); /* event clock: newest day + 2 = 2021-06-01 */
    segment_map map;
    segment_map_default(&map, 5);
    score_breakpoints bp;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, 0, &bp), 0);
    assert_int_equal(bp.as_of, AS_OF);
    score_rescore_all(&st, &bp, &map, s, NULL, NULL);
    size_t rows;
    assert_true(table_hash(s, &bp, &st, &map, &rows) == FLO_GOLDEN_HASH);
    assert_int_equal(rows, 19945);
    uint8_t *fcol = malloc(rows);
    assert_non_null(fcol);
    for (size_t i = 0; i < rows; i++)
        fcol[i] = store_at_const(s, i)->f;

    st.tie_break = SCORE_TIE_FIRST_ORDER;
    assert_int_equal(score_breakpoints_compute(&st, s, 0, bp.version, &bp), 0);
    size_t changed = score_rescore_all(&st, &bp, &map, s, NULL, NULL);
    assert_true(table_hash(s, &bp, &st, &map, &rows) == FLO_FIRST_ORDER_HASH);
    size_t fdiff = 0;
    for (size_t i = 0; i < rows; i++)
        fdiff += fcol[i] != store_at_const(s, i)->f;
    assert_int_equal(fdiff, 3468);   /* pandas: f differs for 3,468 customers */
    assert_int_equal(changed, 1853); /* and the segment for 1,853 */
    free(fcol);
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
        cmocka_unit_test(test_random_against_sort),
        cmocka_unit_test(test_flo_golden_table),
        cmocka_unit_test(test_flo_raw_both_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
