/*
 * changelog records: random customers round-tripped into stores that intern
 * names in another order and under another segment map; every kind of bad
 * record refused with the store unchanged; tombstones; idempotence and
 * replacement; and the FLO seed data, read by rfm's reader, restored from
 * its records into a store that scores and tabulates the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/changelog.h"
#include "rfm/order.h"
#include "rfm/reader.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"
#include "test_rng.h"
#include "util/strbuf.h"

static const char *const cat_names[] = {"shoes", "bags", "kids", "sport", "outdoor", "men", "women",
                                        "watch", "café", "home", "books", "garden!", "toys"};
static const char *const chan_names[] = {"Android App", "iOS App", "Desktop", "Mobile", "Offline"};
#define NCATS  (sizeof cat_names / sizeof cat_names[0])
#define NCHANS (sizeof chan_names / sizeof chan_names[0])

/* The default map's rules in reverse order (they do not overlap, so every RF
 * code names the same segment), which numbers the names the other way round,
 * and one more name no code reaches (its rule comes after the one for 11). */
static void shuffled_map(segment_map *m) {
    segment_map def;
    segment_map_default(&def, 5);
    segment_map_init(m, 5);
    char err[128];
    for (int i = def.nrules - 1; i >= 0; i--)
        assert_int_equal(segment_map_add(m, def.rules[i].pattern, def.names[def.rules[i].segment],
                                         err, sizeof err),
                         0);
    assert_int_equal(segment_map_add(m, "11", "brand_new", err, sizeof err), 0);
    for (int r = 1; r <= 5; r++)
        for (int f = 1; f <= 5; f++)
            assert_string_equal(segment_name(m, segment_of(m, r, f)),
                                segment_name(&def, segment_of(&def, r, f)));
    assert_int_not_equal(segment_find(m, "hibernating"), segment_find(&def, "hibernating"));
}

/* A customer's categories (or channels) as a sorted, comparable string. */
static void names_of(const store *s, unsigned mask, int max,
                     const char *(*name_of)(const store *, int), char *out, size_t cap) {
    const char *list[16];
    int n = 0;
    for (int bit = 0; bit < max; bit++)
        if ((mask >> bit) & 1) {
            list[n] = name_of(s, bit);
            assert_non_null(list[n]);
            n++;
        }
    for (int i = 1; i < n; i++) /* insertion sort: a handful of names */
        for (int j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
            const char *t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(out, list[i], cap - strlen(out) - 2);
        strcat(out, "|");
    }
}

/* a (of sa, map ma) and b (of sb, map mb) mean the same customer. */
static void assert_same(const store *sa, const store_customer *a, const segment_map *ma,
                        const store *sb, const store_customer *b, const segment_map *mb) {
    size_t la, lb;
    const char *ka = store_key(sa, a, &la), *kb = store_key(sb, b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ka, kb, la);
    assert_int_equal(a->first_ts, b->first_ts);
    assert_int_equal(a->last_ts, b->last_ts);
    assert_int_equal(a->frequency, b->frequency);
    assert_int_equal(a->monetary_cents, b->monetary_cents);
    assert_memory_equal(a->recent, b->recent, sizeof a->recent);
    assert_int_equal(a->recent_next, b->recent_next);
    assert_int_equal(a->r, b->r);
    assert_int_equal(a->f, b->f);
    assert_int_equal(a->m, b->m);
    assert_string_equal(segment_name(ma, a->segment), segment_name(mb, b->segment));
    char na[1024], nb[1024];
    names_of(sa, a->categories, STORE_MAX_CATEGORIES, store_category_name, na, sizeof na);
    names_of(sb, b->categories, STORE_MAX_CATEGORIES, store_category_name, nb, sizeof nb);
    assert_string_equal(na, nb);
    names_of(sa, a->channels, STORE_MAX_CHANNELS, store_channel_name, na, sizeof na);
    names_of(sb, b->channels, STORE_MAX_CHANNELS, store_channel_name, nb, sizeof nb);
    assert_string_equal(na, nb);
}

/* A store whose names went in another order, with other names first. */
static store *other_store(void) {
    store *s = store_new();
    assert_non_null(s);
    assert_int_equal(store_intern_category(s, "unrelated", 9), 0);
    assert_int_equal(store_intern_category(s, "toys", 4), 1);
    assert_int_equal(store_intern_channel(s, "Phone", 5), 0);
    assert_int_equal(store_intern_channel(s, "Offline", 7), 1);
    return s;
}

static store *random_store(size_t n, const segment_map *map) {
    store *s = store_new();
    assert_non_null(s);
    for (size_t i = 0; i < NCATS; i++)
        assert_int_equal(store_intern_category(s, cat_names[i], strlen(cat_names[i])), (int)i);
    for (size_t i = 0; i < NCHANS; i++)
        assert_int_equal(store_intern_channel(s, chan_names[i], strlen(chan_names[i])), (int)i);
    for (size_t i = 0; i < n; i++) {
        char id[64];
        int len = snprintf(id, sizeof id, "c-%llx-%zu", (unsigned long long)(rnd() >> 20), i);
        bool created;
        store_customer *c = store_upsert(s, id, (size_t)len, &created);
        assert_non_null(c);
        c->frequency = (uint32_t)(rnd() % 4 ? rnd() % 50 : rnd());
        c->first_ts = (uint32_t)rnd();
        c->last_ts = c->first_ts + (uint32_t)(rnd() % 1000000);
        if (c->last_ts < c->first_ts)
            c->last_ts = c->first_ts;
        c->monetary_cents = (int64_t)(rnd() >> (rnd() % 63 + 1));
        for (int k = 0; k < STORE_RECENT_ORDERS; k++)
            c->recent[k] = rnd() % 5 ? (uint32_t)rnd() : 0;
        c->recent_next = (uint8_t)(rnd() % STORE_RECENT_ORDERS);
        c->categories = (uint16_t)(rnd() & ((1u << NCATS) - 1));
        c->channels = (uint8_t)(rnd() & ((1u << NCHANS) - 1));
        c->r = (uint8_t)(rnd() % 6);
        c->f = (uint8_t)(rnd() % 6);
        c->m = (uint8_t)(rnd() % 6);
        c->segment = (uint8_t)(rnd() % (map->nsegments + 1));
        store_note_ts(s, c->last_ts);
    }
    return s;
}

/* Encode every customer of a, apply into b; each must mean the same there. */
static void copy_all(const store *a, const segment_map *ma, store *b, const segment_map *mb) {
    strbuf buf = STRBUF_INIT;
    char err[256];
    for (size_t i = 0; i < store_count(a); i++) {
        const store_customer *c = store_at_const(a, i);
        strbuf_reset(&buf);
        assert_int_equal(changelog_encode(a, c, ma, &buf, err, sizeof err), 0);
        assert_true(buf.len >= CHANGELOG_MIN_BYTES);
        assert_int_equal((unsigned char)buf.p[0], CHANGELOG_VERSION);
        size_t klen;
        const char *key = store_key(a, c, &klen);
        if (changelog_apply(b, key, klen, buf.p, buf.len, mb, err, sizeof err) != CHANGELOG_APPLIED)
            fail_msg("customer %zu refused: %s", i, err);
    }
    strbuf_free(&buf);
}

static void test_round_trip(void **state) {
    (void)state;
    rng_state = 12;
    segment_map ma, mb;
    segment_map_default(&ma, 5);
    shuffled_map(&mb);
    store *a = random_store(3000, &ma);
    store *b = other_store();
    copy_all(a, &ma, b, &mb);
    assert_int_equal(store_count(b), store_count(a));
    assert_int_equal(store_max_ts(b), store_max_ts(a));
    for (size_t i = 0; i < store_count(a); i++) {
        const store_customer *c = store_at_const(a, i);
        size_t klen;
        const char *key = store_key(a, c, &klen);
        const store_customer *d = store_get(b, key, klen);
        assert_non_null(d);
        assert_same(a, c, &ma, b, d, &mb);
        /* The index differs (the maps number names differently), the name not. */
        if (c->segment)
            assert_int_equal(d->segment, segment_find(&mb, segment_name(&ma, c->segment)));
    }
    /* Back again, into a store with the original order: the same bytes. */
    store *a2 = random_store(0, &ma);
    copy_all(b, &mb, a2, &ma);
    strbuf x = STRBUF_INIT, y = STRBUF_INIT;
    char err[256];
    for (size_t i = 0; i < store_count(a); i++) {
        strbuf_reset(&x);
        strbuf_reset(&y);
        assert_int_equal(changelog_encode(a, store_at_const(a, i), &ma, &x, err, sizeof err), 0);
        assert_int_equal(changelog_encode(a2, store_at_const(a2, i), &ma, &y, err, sizeof err), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.p, y.p, x.len);
    }
    strbuf_free(&x);
    strbuf_free(&y);
    store_free(a);
    store_free(a2);
    store_free(b);
}

/* Segments by name: unknown names and no map read as index 0. */
static void test_segments_by_name(void **state) {
    (void)state;
    segment_map ma, mb, small;
    segment_map_default(&ma, 5);
    shuffled_map(&mb);
    segment_map_init(&small, 5);
    char err[256];
    assert_int_equal(segment_map_add(&small, "[1-5][1-5]", "everyone", err, sizeof err), 0);
    store *a = store_new(), *b = store_new();
    bool created;
    store_customer *c = store_upsert(a, "k", 1, &created);
    c->frequency = 1;
    strbuf buf = STRBUF_INIT;
    for (int seg = 0; seg <= ma.nsegments + 1; seg++) {
        c->segment = (uint8_t)seg;
        strbuf_reset(&buf);
        assert_int_equal(changelog_encode(a, c, &ma, &buf, err, sizeof err), 0);
        int want = seg >= 1 && seg <= ma.nsegments ? segment_find(&mb, ma.names[seg]) : 0;
        assert_int_equal(changelog_apply(b, "k", 1, buf.p, buf.len, &mb, err, sizeof err), 0);
        assert_int_equal(store_get(b, "k", 1)->segment, want);
        assert_int_equal(changelog_apply(b, "k", 1, buf.p, buf.len, &small, err, sizeof err), 0);
        assert_int_equal(store_get(b, "k", 1)->segment, 0);
        assert_int_equal(changelog_apply(b, "k", 1, buf.p, buf.len, NULL, err, sizeof err), 0);
        assert_int_equal(store_get(b, "k", 1)->segment, 0);
    }
    /* Without a map nothing is written for the segment. */
    c->segment = 3;
    strbuf_reset(&buf);
    assert_int_equal(changelog_encode(a, c, NULL, &buf, err, sizeof err), 0);
    assert_int_equal(buf.len, CHANGELOG_MIN_BYTES);
    strbuf_free(&buf);
    store_free(a);
    store_free(b);
}

/* ---- bad records ---- */

typedef struct rec {
    unsigned char b[512];
    size_t len;
} rec;

static void r_put(rec *r, const void *p, size_t n) {
    assert_true(r->len + n <= sizeof r->b);
    memcpy(r->b + r->len, p, n);
    r->len += n;
}
static void r_u8(rec *r, uint8_t v) {
    r_put(r, &v, 1);
}
static void r_u32(rec *r, uint32_t v) {
    r_put(r, &v, 4);
}
static void r_name(rec *r, const char *s, size_t n) {
    r_u32(r, (uint32_t)n);
    r_put(r, s, n);
}

/* A valid record built by hand, with hooks to break each part. */
typedef struct spec {
    uint8_t version, recent_next, r, f, m;
    uint32_t first_ts, last_ts, frequency;
    int64_t cents;
    const char *segment;
    size_t seglen;
    int ncats, nchans; /* counts written */
    const char *cats[20], *chans[10];
    size_t catlen[20]; /* 0 = strlen */
} spec;

static spec good(void) {
    return (spec){.version = 1,
                  .recent_next = 2,
                  .r = 5,
                  .f = 4,
                  .m = 3,
                  .first_ts = 100,
                  .last_ts = 200,
                  .frequency = 7,
                  .cents = 12345,
                  .segment = "champions",
                  .ncats = 2,
                  .cats = {"shoes", "bags"},
                  .nchans = 1,
                  .chans = {"Offline"}};
}

static rec build(const spec *s) {
    rec r = {.len = 0};
    r_u8(&r, s->version);
    r_u32(&r, s->first_ts);
    r_u32(&r, s->last_ts);
    r_u32(&r, s->frequency);
    r_put(&r, &s->cents, 8);
    for (uint32_t k = 1; k <= 3; k++)
        r_u32(&r, k * 1000);
    r_u8(&r, s->recent_next);
    r_u8(&r, s->r);
    r_u8(&r, s->f);
    r_u8(&r, s->m);
    size_t seglen = s->seglen ? s->seglen : strlen(s->segment);
    r_u8(&r, (uint8_t)seglen);
    r_put(&r, s->segment, seglen);
    r_u8(&r, (uint8_t)s->ncats);
    for (int i = 0; i < s->ncats; i++)
        r_name(&r, s->cats[i], s->catlen[i] ? s->catlen[i] : strlen(s->cats[i]));
    r_u8(&r, (uint8_t)s->nchans);
    for (int i = 0; i < s->nchans; i++)
        r_name(&r, s->chans[i], strlen(s->chans[i]));
    return r;
}

/* The neighbour every refusal must leave as it was. */
typedef struct fixture {
    store *s;
    segment_map map;
    store_customer before;
    int ncats, nchans;
} fixture;

static int count_names(const store *s, const char *(*name_of)(const store *, int)) {
    int n = 0;
    while (name_of(s, n))
        n++;
    return n;
}

static void fixture_init(fixture *fx) {
    segment_map_default(&fx->map, 5);
    fx->s = store_new();
    char err[256];
    spec sp = good();
    rec r = build(&sp);
    assert_int_equal(changelog_apply(fx->s, "neighbour", 9, r.b, r.len, &fx->map, err, sizeof err),
                     CHANGELOG_APPLIED);
    fx->before = *store_get(fx->s, "neighbour", 9);
    fx->ncats = count_names(fx->s, store_category_name);
    fx->nchans = count_names(fx->s, store_channel_name);
}

static void assert_unchanged(const fixture *fx) {
    assert_int_equal(store_count(fx->s), 1);
    assert_memory_equal(store_get(fx->s, "neighbour", 9), &fx->before, sizeof fx->before);
    assert_int_equal(count_names(fx->s, store_category_name), fx->ncats);
    assert_int_equal(count_names(fx->s, store_channel_name), fx->nchans);
}

static void refused(fixture *fx, const char *key, size_t klen, const rec *r, const char *msg) {
    char err[256] = "";
    changelog_result res = changelog_apply(fx->s, key, klen, r ? r->b : NULL, r ? r->len : 0,
                                           &fx->map, err, sizeof err);
    if (res != CHANGELOG_BAD || !strstr(err, msg))
        fail_msg("want refusal \"%s\", got %d \"%s\"", msg, (int)res, err);
    assert_unchanged(fx);
}

static void test_bad_records(void **state) {
    (void)state;
    fixture fx;
    fixture_init(&fx);
    spec sp;
    rec r;

    sp = good();
    sp.version = 2;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "version 2 is not known");
    sp.version = 0;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "version 0 is not known");

    /* Every prefix of a valid record is truncated. */
    sp = good();
    r = build(&sp);
    for (size_t n = 1; n < r.len; n++) {
        rec cut = r;
        cut.len = n;
        refused(&fx, "x", 1, &cut, "truncated");
    }
    rec longer = r;
    r_u8(&longer, 0);
    refused(&fx, "x", 1, &longer, "1 trailing bytes");

    static const char *const many[] = {"c0",  "c1",  "c2",  "c3",  "c4",  "c5",
                                       "c6",  "c7",  "c8",  "c9",  "c10", "c11",
                                       "c12", "c13", "c14", "c15", "c16", "c17"};
    sp = good();
    memcpy(sp.cats, many, sizeof many);
    sp.ncats = STORE_MAX_CATEGORIES + 1;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "17 category names (at most 16)");
    sp = good();
    memcpy(sp.chans, many, sizeof sp.chans);
    sp.nchans = STORE_MAX_CHANNELS + 1;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "9 channel names (at most 8)");
    sp = good();
    sp.recent_next = 3;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "recent_next 3 out of range");
    sp = good();
    sp.f = SCORE_BINS_MAX + 1;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "scores r5 f10 m3 out of range");
    sp = good();
    sp.cents = -1;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "monetary_cents -1 below 0");
    sp = good();
    sp.first_ts = 300;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "first_ts 300 after last_ts 200");

    sp = good();
    sp.cats[1] = "";
    sp.catlen[1] = 0;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "category name 2 is empty");
    sp = good();
    sp.cats[0] = "a\0b";
    sp.catlen[0] = 3;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "category name 1 is holding a NUL byte");
    sp = good();
    sp.cats[1] = "caf\xe9"; /* latin-1 */
    r = build(&sp);
    refused(&fx, "x", 1, &r, "category name 2 is not UTF-8");
    sp = good();
    sp.chans[0] = "\xed\xa0\x80"; /* a surrogate */
    r = build(&sp);
    refused(&fx, "x", 1, &r, "channel name 1 is not UTF-8");
    sp = good();
    sp.cats[1] = "shoes";
    r = build(&sp);
    refused(&fx, "x", 1, &r, "category \"shoes\" named twice");
    sp = good();
    sp.segment = "\xc3";
    r = build(&sp);
    refused(&fx, "x", 1, &r, "segment name not UTF-8");
    char longseg[SEGMENT_NAME_MAX + 2];
    memset(longseg, 's', sizeof longseg - 1);
    longseg[sizeof longseg - 1] = '\0';
    sp = good();
    sp.segment = longseg;
    r = build(&sp);
    refused(&fx, "x", 1, &r, "segment name too long");
    /* A name length past the end of the value. */
    sp = good();
    r = build(&sp);
    uint32_t huge = UINT32_MAX;
    memcpy(r.b + CHANGELOG_FIXED_BYTES + 1 + strlen("champions") + 1, &huge, 4);
    refused(&fx, "x", 1, &r, "truncated in category name 1");

    /* Keys. */
    r = build(&(spec){.version = 1, .segment = ""});
    refused(&fx, "", 0, &r, "key of 0 bytes");
    refused(&fx, NULL, 5, &r, "key of 0 bytes");
    char key[STORE_KEY_MAX + 1];
    memset(key, 'k', sizeof key);
    refused(&fx, key, sizeof key, &r, "key of 129 bytes (1..128)");
    refused(&fx, "", 0, NULL, "key of 0 bytes"); /* even a tombstone needs its key */

    /* The category table full: 16 names (shoes, bags, n0..n13), and the
     * record brings one more. */
    char name[14][8];
    for (int i = 0; i < 14; i++) {
        snprintf(name[i], sizeof name[i], "n%d", i);
        store_intern_category(fx.s, name[i], strlen(name[i]));
    }
    fx.ncats = count_names(fx.s, store_category_name);
    assert_int_equal(fx.ncats, 16);
    sp = good();
    sp.cats[1] = "one-more";
    r = build(&sp);
    refused(&fx, "x", 1, &r, "category table is full (16 of 16 names), the record needs 1 more");
    /* Names the table already has still apply. */
    sp = good();
    sp.cats[1] = "n13";
    r = build(&sp);
    char err[256];
    assert_int_equal(changelog_apply(fx.s, "x", 1, r.b, r.len, &fx.map, err, sizeof err),
                     CHANGELOG_APPLIED);
    assert_int_equal(store_count(fx.s), 2);
    for (int i = 0; i < 6; i++) {
        char ch[8];
        snprintf(ch, sizeof ch, "ch%d", i);
        store_intern_channel(fx.s, ch, strlen(ch));
    }
    assert_int_equal(count_names(fx.s, store_channel_name), 7);
    sp = good();
    sp.chans[1] = "ch0";
    sp.chans[2] = "new1";
    sp.chans[3] = "new2";
    sp.nchans = 4;
    r = build(&sp);
    /* fx.s now holds "x" too: the refusal must leave both as they are. */
    store_customer x_before = *store_get(fx.s, "x", 1);
    char e2[256] = "";
    assert_int_equal(changelog_apply(fx.s, "x", 1, r.b, r.len, &fx.map, e2, sizeof e2),
                     CHANGELOG_BAD);
    assert_non_null(strstr(e2, "channel table is full (7 of 8 names), the record needs 1 more"));
    assert_memory_equal(store_get(fx.s, "x", 1), &x_before, sizeof x_before);
    assert_int_equal(count_names(fx.s, store_channel_name), 7);
    store_free(fx.s);
}

static void test_tombstone(void **state) {
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char err[64];
    assert_int_equal(changelog_apply(fx.s, "neighbour", 9, "", 0, &fx.map, err, sizeof err),
                     CHANGELOG_TOMBSTONE);
    assert_int_equal(changelog_apply(fx.s, "absent", 6, NULL, 0, &fx.map, err, sizeof err),
                     CHANGELOG_TOMBSTONE);
    assert_unchanged(&fx);
    assert_null(store_get(fx.s, "absent", 6));
    store_free(fx.s);
}

/* The same record twice: the same state; a later record replaces it all. */
static void test_idempotent_and_replacing(void **state) {
    (void)state;
    fixture fx;
    fixture_init(&fx);
    spec sp = good();
    sp.ncats = 3;
    sp.cats[2] = "kids";
    rec r = build(&sp);
    char err[256];
    assert_int_equal(changelog_apply(fx.s, "k", 1, r.b, r.len, &fx.map, err, sizeof err), 0);
    store_customer once = *store_get(fx.s, "k", 1);
    assert_int_equal(changelog_apply(fx.s, "k", 1, r.b, r.len, &fx.map, err, sizeof err), 0);
    assert_memory_equal(store_get(fx.s, "k", 1), &once, sizeof once);
    assert_int_equal(store_count(fx.s), 2);
    assert_int_equal(once.segment, segment_find(&fx.map, "champions"));
    assert_int_equal(once.recent[2], 3000);

    spec later = {.version = 1,
                  .frequency = 9,
                  .first_ts = 50,
                  .last_ts = 60,
                  .cents = 1,
                  .segment = "",
                  .ncats = 1,
                  .cats = {"bags"}};
    r = build(&later);
    assert_int_equal(changelog_apply(fx.s, "k", 1, r.b, r.len, &fx.map, err, sizeof err), 0);
    const store_customer *c = store_get(fx.s, "k", 1);
    assert_int_equal(c->categories, 1u << store_intern_category(fx.s, "bags", 4));
    assert_int_equal(c->channels, 0);
    assert_int_equal(c->frequency, 9);
    assert_int_equal(c->segment, 0);
    assert_int_equal(c->r + c->f + c->m + c->recent_next, 0);
    assert_int_equal(c->recent[0], 1000);      /* build() always writes 1000, 2000, 3000 */
    assert_int_equal(store_max_ts(fx.s), 200); /* never lowered */
    assert_memory_equal(store_get(fx.s, "neighbour", 9), &fx.before, sizeof fx.before);
    store_free(fx.s);
}

/* A name the store holds that the record cannot carry is refused at encode. */
static void test_encode_refuses(void **state) {
    (void)state;
    store *s = store_new();
    assert_int_equal(store_intern_category(s, "caf\xe9", 4), 0);
    bool created;
    store_customer *c = store_upsert(s, "k", 1, &created);
    c->categories = 1;
    strbuf buf = STRBUF_INIT;
    strbuf_puts(&buf, "kept");
    char err[256];
    assert_int_equal(changelog_encode(s, c, NULL, &buf, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not valid UTF-8"));
    assert_int_equal(buf.len, 4); /* cut back, the earlier bytes kept */
    assert_string_equal(buf.p, "kept");
    c->categories = 2; /* a bit no name was interned at */
    assert_int_equal(changelog_encode(s, c, NULL, &buf, err, sizeof err), -1);
    assert_non_null(strstr(err, "category bit 1 is set but names nothing"));
    strbuf_free(&buf);
    store_free(s);
}

/* ---- the FLO seed data ---- */

static int emit(void *ctx, const order *o) {
    order_result r = order_apply(ctx, o, NULL);
    assert_true(r != ORDER_INVALID);
    return 0;
}

/* One line of the rfmctl score table (SPEC §6) for customer idx. */
static int table_line(const store *s, size_t idx, const score_breakpoints *bp,
                      const segment_map *map, char *line, size_t cap) {
    const store_customer *c = store_at_const(s, idx);
    size_t klen;
    const char *key = store_key(s, c, &klen);
    return snprintf(line, cap, "%.*s,%lld,%u,%lld.%02lld,%d,%d,%d,%s", (int)klen, key,
                    (long long)score_recency_days(bp->as_of, c->last_ts), c->frequency,
                    (long long)(c->monetary_cents / 100), (long long)(c->monetary_cents % 100),
                    c->r, c->f, c->m, segment_name(map, c->segment));
}

static void test_flo_restore(void **state) {
    (void)state;
    const char *dir = getenv("RFM_SHARED");
    if (!dir)
        fail_msg("RFM_SHARED is not set (ctest sets it)");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/flo_data_20k.csv", dir);
    store *a = store_new();
    reader_options opt = {.format = READER_FLO};
    reader_stats rs;
    char err[256];
    if (reader_read_file(path, &opt, emit, a, &rs, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(store_count(a), 19945);

    score_settings st;
    score_settings_default(&st);
    segment_map ma, mb;
    segment_map_default(&ma, 5);
    shuffled_map(&mb);
    score_breakpoints bpa, bpb;
    assert_int_equal(score_breakpoints_compute(&st, a, 0, 0, &bpa), 0);
    score_rescore_all(&st, &bpa, &ma, a, NULL, NULL);

    store *b = other_store();
    copy_all(a, &ma, b, &mb);
    assert_int_equal(store_count(b), 19945);
    assert_int_equal(store_max_ts(b), store_max_ts(a));
    uint64_t freq = 0;
    for (size_t i = 0; i < store_count(a); i++) {
        const store_customer *c = store_at_const(a, i);
        size_t klen;
        const char *key = store_key(a, c, &klen);
        assert_same(a, c, &ma, b, store_get(b, key, klen), &mb);
        freq += c->frequency;
    }
    assert_int_equal(freq, 100219);

    /* Scored afresh, the restored store agrees with the original. */
    assert_int_equal(score_breakpoints_compute(&st, b, 0, 0, &bpb), 0);
    assert_int_equal(bpa.customers, bpb.customers);
    assert_int_equal(bpa.as_of, bpb.as_of);
    assert_memory_equal(bpa.r_edges, bpb.r_edges, sizeof bpa.r_edges);
    assert_memory_equal(bpa.f_edges, bpb.f_edges, sizeof bpa.f_edges);
    assert_memory_equal(bpa.m_edges, bpb.m_edges, sizeof bpa.m_edges);
    for (int k = 1; k < bpa.bins; k++) {
        assert_int_equal(bpa.f_cuts[k].valid, bpb.f_cuts[k].valid);
        assert_int_equal(bpa.f_cuts[k].frequency, bpb.f_cuts[k].frequency);
        assert_int_equal(bpa.f_cuts[k].key_len, bpb.f_cuts[k].key_len);
        assert_memory_equal(bpa.f_cuts[k].key, bpb.f_cuts[k].key, bpa.f_cuts[k].key_len);
    }
    assert_int_equal(score_rescore_all(&st, &bpb, &mb, b, NULL, NULL), 0);

    /* The rfmctl table, line by line in tie order. */
    size_t na, nb, *oa = score_tie_order(&st, a, &na), *ob = score_tie_order(&st, b, &nb);
    assert_non_null(oa);
    assert_non_null(ob);
    assert_int_equal(na, 19945);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        char la[512], lb[512];
        table_line(a, oa[i], &bpa, &ma, la, sizeof la);
        table_line(b, ob[i], &bpb, &mb, lb, sizeof lb);
        assert_string_equal(la, lb);
    }
    free(oa);
    free(ob);
    store_free(a);
    store_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_segments_by_name),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_tombstone),
        cmocka_unit_test(test_idempotent_and_replacing),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_flo_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
