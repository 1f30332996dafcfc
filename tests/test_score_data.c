/*
 * score at scale: the FLO seed data (19,945 customers) against the pandas
 * golden table and pandas hashes, and randomized stores against full sorts
 * (the selection, histogram and bucket paths against the obvious algorithm).
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

#include "flo_raw.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"
#include "test_rng.h"

#define AS_OF 1622505600LL /* 2021-06-01T00:00:00Z */
#define DAY   86400LL

static void settings(score_settings *st, score_tie_break tie, int bins) {
    score_settings_default(st);
    st->as_of_fixed = AS_OF;
    st->tie_break = tie;
    st->bins = bins;
}

/* ---- randomized: selection and histograms against full sorts ---- */

typedef struct rcust {
    char id[48];
    size_t len;
    uint32_t freq, first;
    int64_t rec, cents;
    int r, f, m;
} rcust;

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
        c->monetary_cents = flo_raw_cents(money, strlen(money));
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
    flo_raw_row row;
    while (flo_raw_next(f, line, sizeof line, &row)) {
        bool created;
        store_customer *c = store_upsert(s, row.id, row.id_len, &created);
        assert_true(created);
        c->first_ts = row.first_ts;
        c->last_ts = row.last_ts;
        c->frequency = row.frequency;
        c->monetary_cents = row.cents;
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
        cmocka_unit_test(test_random_against_sort),
        cmocka_unit_test(test_flo_golden_table),
        cmocka_unit_test(test_flo_raw_both_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
