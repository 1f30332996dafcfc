/*
 * order: what one order does to a customer (SPEC §2, §3) — frequency, first
 * and last time, monetary in cents, categories and channels; refunds;
 * duplicates within the window documented in src/engine/order.c; the engine's own
 * limits; and that the prefetching batch path leaves exactly the state and
 * results the one-by-one path does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/order.h"

#define S(x) ((order_str){x, sizeof(x) - 1})

static order mk(const char *cust, const char *oid, int64_t ts, int64_t cents) {
    return (order){.customer_id = {cust, strlen(cust)},
                   .order_id = {oid, strlen(oid)},
                   .ts = ts,
                   .amount_cents = cents};
}

static order_result apply(store *s, const char *cust, const char *oid, int64_t ts, int64_t cents) {
    order o = mk(cust, oid, ts, cents);
    return order_apply(s, &o, NULL);
}

static void test_frequency_times_money(void **state) {
    (void)state;
    store *s = store_new();
    store_customer *c = NULL;
    order o = mk("c1", "o1", 2000, 1050);
    assert_int_equal(order_apply(s, &o, &c), ORDER_APPLIED);
    assert_non_null(c);
    assert_ptr_equal(store_get(s, "c1", 2), c);
    assert_int_equal(c->frequency, 1);
    assert_int_equal(c->first_ts, 2000);
    assert_int_equal(c->last_ts, 2000);
    assert_int_equal(c->monetary_cents, 1050);
    assert_int_equal(store_max_ts(s), 2000);

    /* Out of order in time: first and last are min and max, not arrival. */
    assert_int_equal(apply(s, "c1", "o2", 1000, 0), ORDER_APPLIED); /* 0 is an order */
    assert_int_equal(apply(s, "c1", "o3", 3000, 99), ORDER_APPLIED);
    assert_int_equal(apply(s, "c1", "o4", 1500, 1), ORDER_APPLIED);
    assert_int_equal(apply(s, "c1", "o5", 2500, 0), ORDER_APPLIED);
    assert_int_equal(c->frequency, 5);
    assert_int_equal(c->first_ts, 1000);
    assert_int_equal(c->last_ts, 3000);
    assert_int_equal(c->monetary_cents, 1150);
    assert_int_equal(store_max_ts(s), 3000);

    /* Cents add exactly: a thousand 0.10 orders are 100.00, not 99.99999. */
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(apply(s, "dimes", id, 100 + i, 10), ORDER_APPLIED);
    }
    store_customer *d = store_get(s, "dimes", 5);
    assert_int_equal(d->frequency, 1000);
    assert_int_equal(d->monetary_cents, 10000);
    assert_int_equal(d->first_ts, 100);
    assert_int_equal(d->last_ts, 1099);
    /* Another customer's older orders do not lower max_ts. */
    assert_int_equal(store_max_ts(s), 3000);

    /* A customer whose only order is worth 0 is a customer with one order. */
    assert_int_equal(apply(s, "free", "f1", 4000, 0), ORDER_APPLIED);
    store_customer *f = store_get(s, "free", 4);
    assert_non_null(f);
    assert_int_equal(f->frequency, 1);
    assert_int_equal(f->monetary_cents, 0);
    assert_int_equal(f->first_ts, 4000);
    assert_int_equal(store_max_ts(s), 4000);
    assert_int_equal(store_count(s), 3);

    /* The sum saturates instead of overflowing. */
    assert_int_equal(apply(s, "rich", "r1", 1, INT64_MAX - 5), ORDER_APPLIED);
    assert_int_equal(apply(s, "rich", "r2", 1, 100), ORDER_APPLIED);
    assert_true(store_get(s, "rich", 4)->monetary_cents == INT64_MAX);
    assert_int_equal(store_get(s, "rich", 4)->frequency, 2);
    store_free(s);
}

static void test_categories_channels(void **state) {
    (void)state;
    store *s = store_new();
    store_customer *c;
    order_str cats[] = {S("KADIN"), S("ERKEK")};
    order o = mk("c1", "o1", 2000, 1050);
    o.categories = cats;
    o.ncategories = 2;
    o.channel = S("Android App");
    assert_int_equal(order_apply(s, &o, &c), ORDER_APPLIED);
    int kadin = store_intern_category(s, "KADIN", 5), erkek = store_intern_category(s, "ERKEK", 5);
    int android = store_intern_channel(s, "Android App", 11);
    assert_true(kadin >= 0 && erkek >= 0 && kadin != erkek && android >= 0);
    assert_int_equal(c->categories, (1u << kadin) | (1u << erkek));
    assert_int_equal(c->channels, 1u << android);

    /* A second customer shares the interned bits; sets accumulate per customer. */
    order_str cats2[] = {S("ERKEK"), S("COCUK"), S("ERKEK")};
    o = mk("c2", "o1", 2000, 1);
    o.categories = cats2;
    o.ncategories = 3;
    o.channel = S("Offline");
    store_customer *c2;
    assert_int_equal(order_apply(s, &o, &c2), ORDER_APPLIED);
    int cocuk = store_intern_category(s, "COCUK", 5);
    int offline = store_intern_channel(s, "Offline", 7);
    assert_int_equal(c2->categories, (1u << erkek) | (1u << cocuk));
    assert_int_equal(c2->channels, 1u << offline);
    assert_string_equal(store_category_name(s, cocuk), "COCUK");
    assert_string_equal(store_channel_name(s, offline), "Offline");

    o.customer_id = S("c1");
    o.order_id = S("o2");
    assert_int_equal(order_apply(s, &o, NULL), ORDER_APPLIED);
    assert_int_equal(c->categories, (1u << kadin) | (1u << erkek) | (1u << cocuk));
    assert_int_equal(c->channels, (1u << android) | (1u << offline));

    /* No channel, no categories: nothing added. */
    assert_int_equal(apply(s, "c3", "o1", 1, 1), ORDER_APPLIED);
    assert_int_equal(store_get(s, "c3", 2)->categories, 0);
    assert_int_equal(store_get(s, "c3", 2)->channels, 0);

    /* Past the store's 16 categories the order still counts; the extra
     * categories are just not remembered. */
    char names[20][8];
    order_str many[20];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "x%d", i);
        many[i] = (order_str){names[i], strlen(names[i])};
    }
    o = mk("c4", "o1", 5, 5);
    o.categories = many;
    o.ncategories = 20;
    store_customer *c4;
    assert_int_equal(order_apply(s, &o, &c4), ORDER_APPLIED);
    assert_int_equal(c4->frequency, 1);
    /* KADIN, ERKEK, COCUK took 3 bits, so x0..x12 got the other 13. */
    assert_int_equal(c4->categories, 0xffffu & ~((1u << kadin) | (1u << erkek) | (1u << cocuk)));
    assert_string_equal(store_category_name(s, 15), "x12");
    assert_int_equal(store_intern_category(s, "x13", 3), -1);
    store_free(s);
}

static void test_refunds(void **state) {
    (void)state;
    store *s = store_new();
    store_customer *c = (store_customer *)&c;
    order o = mk("ghost", "r1", 1000, -500);
    assert_int_equal(order_apply(s, &o, &c), ORDER_REFUND_UNKNOWN);
    assert_null(c);
    assert_int_equal(store_count(s), 0);
    assert_null(store_get(s, "ghost", 5));
    assert_int_equal(store_max_ts(s), 0);

    o = mk("c", "X", 1000, 1000);
    assert_int_equal(order_apply(s, &o, &c), ORDER_APPLIED);
    /* A refund under the same id as its order is not a duplicate of it, and
     * touches neither frequency nor the order times nor max_ts. */
    store_customer *t = NULL;
    o = mk("c", "X", 5000, -300);
    assert_int_equal(order_apply(s, &o, &t), ORDER_REFUNDED);
    assert_ptr_equal(t, c);
    assert_int_equal(c->monetary_cents, 700);
    assert_int_equal(c->frequency, 1);
    assert_int_equal(c->first_ts, 1000);
    assert_int_equal(c->last_ts, 1000);
    assert_int_equal(store_max_ts(s), 1000);
    o = mk("c", "X2", 500, -300); /* dated before the first order */
    assert_int_equal(order_apply(s, &o, NULL), ORDER_REFUNDED);
    assert_int_equal(c->first_ts, 1000);
    assert_int_equal(c->monetary_cents, 400);
    assert_int_equal(store_count(s), 1);
    /* Re-sending a refund is a duplicate, applied once. */
    o = mk("c", "R2", 5000, -100);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_REFUNDED);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_DUPLICATE);
    assert_int_equal(c->monetary_cents, 300);
    /* Monetary never goes below 0; a later order adds from 0. */
    o = mk("c", "big", 5000, -100000);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_REFUNDED);
    assert_int_equal(c->monetary_cents, 0);
    assert_int_equal(c->frequency, 1);
    o = mk("c", "huge", 5000, INT64_MIN);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_REFUNDED);
    assert_int_equal(c->monetary_cents, 0);
    assert_int_equal(apply(s, "c", "Y", 2000, 250), ORDER_APPLIED);
    assert_int_equal(c->monetary_cents, 250);
    assert_int_equal(c->frequency, 2);
    assert_int_equal(c->last_ts, 2000);
    /* The refund of a known customer's unknown order still applies: rfmd
     * cannot know every past order, only the customer. */
    assert_int_equal(apply(s, "c", "never-seen", 2000, -50), ORDER_REFUNDED);
    assert_int_equal(c->monetary_cents, 200);
    /* Refund for another unknown customer, once the store is not empty. */
    assert_int_equal(apply(s, "other", "Y", 2000, -1), ORDER_REFUND_UNKNOWN);
    assert_int_equal(store_count(s), 1);

    /* A record with no orders yet (made by store_upsert, as a snapshot load
     * could) is no customer to refund; its first order sets both times. */
    bool created;
    store_customer *bare = store_upsert(s, "bare", 4, &created);
    bare->first_ts = 77;
    assert_int_equal(apply(s, "bare", "r", 2000, -10), ORDER_REFUND_UNKNOWN);
    assert_int_equal(bare->monetary_cents, 0);
    assert_int_equal(apply(s, "bare", "o", 3000, 10), ORDER_APPLIED);
    assert_int_equal(bare->first_ts, 3000);
    assert_int_equal(bare->last_ts, 3000);
    assert_int_equal(bare->frequency, 1);
    store_free(s);
}

static void test_duplicates(void **state) {
    (void)state;
    store *s = store_new();
    store_customer *c, *t = NULL;
    order o = mk("c", "a", 1000, 100);
    o.channel = S("Web");
    assert_int_equal(order_apply(s, &o, &c), ORDER_APPLIED);
    /* The same id again, even with other values, changes nothing. */
    order_str cat = S("KADIN");
    o = mk("c", "a", 9000, 555);
    o.channel = S("Offline");
    o.categories = &cat;
    o.ncategories = 1;
    assert_int_equal(order_apply(s, &o, &t), ORDER_DUPLICATE);
    assert_ptr_equal(t, c); /* the customer it was a duplicate for */
    assert_int_equal(c->frequency, 1);
    assert_int_equal(c->monetary_cents, 100);
    assert_int_equal(c->last_ts, 1000);
    assert_int_equal(c->categories, 0);
    assert_int_equal(c->channels, 1u << store_intern_channel(s, "Web", 3));
    assert_int_equal(store_max_ts(s), 1000);
    /* Order ids are per customer: another customer may reuse one. */
    assert_int_equal(apply(s, "d", "a", 1000, 100), ORDER_APPLIED);
    assert_int_equal(store_count(s), 2);
    /* Ids compare as bytes: "a\0" is not "a". */
    o = mk("c", "a", 1000, 1);
    o.order_id = S("a\0");
    assert_int_equal(order_apply(s, &o, NULL), ORDER_APPLIED);
    assert_int_equal(c->frequency, 2);
    store_free(s);
}

/* src/engine/order.c: the last STORE_RECENT_ORDERS (3) orders and refunds of a
 * customer are remembered; an id 3 back is caught, 4 back is new again. */
static void test_duplicate_window(void **state) {
    (void)state;
    assert_int_equal(STORE_RECENT_ORDERS, 3);
    store *s = store_new();
    assert_int_equal(apply(s, "c", "a", 1000, 100), ORDER_APPLIED);
    assert_int_equal(apply(s, "c", "b", 1000, 100), ORDER_APPLIED);
    assert_int_equal(apply(s, "c", "c", 1000, 100), ORDER_APPLIED);
    /* a is 3 back: caught. Duplicates do not move the window. */
    assert_int_equal(apply(s, "c", "a", 1000, 100), ORDER_DUPLICATE);
    assert_int_equal(apply(s, "c", "a", 1000, 100), ORDER_DUPLICATE);
    assert_int_equal(apply(s, "c", "c", 1000, 100), ORDER_DUPLICATE);
    assert_int_equal(apply(s, "c", "d", 1000, 100), ORDER_APPLIED);
    /* a is now 4 back: accepted again (the documented limit). */
    assert_int_equal(apply(s, "c", "a", 1000, 100), ORDER_APPLIED);
    assert_int_equal(apply(s, "c", "b", 1000, 100), ORDER_APPLIED);   /* b: 4 back too */
    assert_int_equal(apply(s, "c", "d", 1000, 100), ORDER_DUPLICATE); /* d: 3 back */
    store_customer *c = store_get(s, "c", 1);
    assert_int_equal(c->frequency, 6);
    assert_int_equal(c->monetary_cents, 600);

    /* Refunds take places in the window too. */
    assert_int_equal(apply(s, "e", "x", 1000, 100), ORDER_APPLIED);
    assert_int_equal(apply(s, "e", "r1", 1000, -1), ORDER_REFUNDED);
    assert_int_equal(apply(s, "e", "r2", 1000, -1), ORDER_REFUNDED);
    assert_int_equal(apply(s, "e", "x", 1000, 100), ORDER_DUPLICATE);
    assert_int_equal(apply(s, "e", "r1", 1000, -1), ORDER_DUPLICATE);
    assert_int_equal(apply(s, "e", "r3", 1000, -1), ORDER_REFUNDED);
    assert_int_equal(apply(s, "e", "x", 1000, 100), ORDER_APPLIED);
    c = store_get(s, "e", 1);
    assert_int_equal(c->frequency, 2);
    assert_int_equal(c->monetary_cents, 197);

    /* The window is per customer: other customers' orders do not push it. */
    assert_int_equal(apply(s, "f", "a", 1000, 100), ORDER_APPLIED);
    for (int i = 0; i < 10; i++) {
        char id[8];
        snprintf(id, sizeof id, "g%d", i);
        assert_int_equal(apply(s, "g", id, 1000, 1), ORDER_APPLIED);
    }
    assert_int_equal(apply(s, "f", "a", 1000, 100), ORDER_DUPLICATE);

    /* Fingerprints: never 0 (the empty marker), refund and order differ. */
    assert_true(order_fingerprint("a", 1, 0) != 0);
    assert_true(order_fingerprint("a", 1, 0) != order_fingerprint("a", 1, 1));
    assert_int_equal(order_fingerprint("a", 1, 1), order_fingerprint("a", 1, 1));
    assert_true(order_fingerprint("a", 1, 0) != order_fingerprint("b", 1, 0));
    store_free(s);
}

static void test_invalid(void **state) {
    (void)state;
    store *s = store_new();
    char id129[ORDER_ID_MAX + 2], id128[ORDER_ID_MAX + 1];
    memset(id129, 'x', ORDER_ID_MAX + 1);
    id129[ORDER_ID_MAX + 1] = 0;
    memset(id128, 'y', ORDER_ID_MAX);
    id128[ORDER_ID_MAX] = 0;
    order bad[] = {
        mk("", "o", 1, 1),          mk(id129, "o", 1, 1),       mk("c", "", 1, 1),
        mk("c", id129, 1, 1),       mk("c", "o", -1, 1),        mk("c", "o", ORDER_TS_MAX + 1, 1),
        mk("c", "o", INT64_MIN, 1), mk("c", "o", INT64_MAX, 1), mk("", "o", 1, -1),
        mk("c", "", 1, -1),         mk("c", "o", -1, -1),       mk(id129, "o", 1, -1),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_customer *c = (store_customer *)&c;
        errno = 0;
        assert_int_equal(order_apply(s, &bad[i], &c), ORDER_INVALID);
        assert_null(c);
        assert_int_equal(errno, EINVAL);
    }
    assert_int_equal(store_count(s), 0);
    assert_int_equal(store_max_ts(s), 0);

    /* Invalid orders for an existing customer leave it untouched. */
    store_customer *c;
    order ok = mk("c", "o", 100, 1);
    assert_int_equal(order_apply(s, &ok, &c), ORDER_APPLIED);
    store_customer before = *c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(order_apply(s, &bad[i], NULL), ORDER_INVALID);
    assert_memory_equal(c, &before, sizeof before);
    assert_int_equal(store_count(s), 1);
    assert_int_equal(store_max_ts(s), 100);

    /* The limits themselves are accepted. */
    order edge[] = {mk(id128, id128, ORDER_TS_MAX, 1), mk("z", "o", ORDER_TS_MIN, 1)};
    assert_int_equal(order_apply(s, &edge[0], &c), ORDER_APPLIED);
    assert_int_equal(c->last_ts, UINT32_MAX);
    assert_int_equal(store_max_ts(s), UINT32_MAX);
    assert_int_equal(order_apply(s, &edge[1], &c), ORDER_APPLIED);
    assert_int_equal(c->first_ts, 0);
    assert_int_equal(c->last_ts, 0);
    assert_int_equal(c->frequency, 1);
    assert_int_equal(store_count(s), 3);
    assert_non_null(store_get(s, id128, ORDER_ID_MAX));

    assert_string_equal(order_result_name(ORDER_APPLIED), "applied");
    assert_string_equal(order_result_name(ORDER_REFUNDED), "refunded");
    assert_string_equal(order_result_name(ORDER_DUPLICATE), "duplicate");
    assert_string_equal(order_result_name(ORDER_REFUND_UNKNOWN), "refund_unknown_customer");
    assert_string_equal(order_result_name(ORDER_INVALID), "invalid");
    store_free(s);
}

/* ---- batch == sequential --------------------------------------------------- */

enum { BATCH_N = 10000, BATCH_CUSTOMERS = 4000 };

typedef struct batch_input {
    char cust[BATCH_N][24];
    char oid[BATCH_N][16];
    order_str cats[BATCH_N][2];
    order o[BATCH_N];
} batch_input;

static const order_str cat_pool[] = {S("KADIN"), S("ERKEK"), S("COCUK"), S("AKTIFSPOR"),
                                     S("AKTIFCOCUK")};
static const order_str chan_pool[] = {S("Android App"), S("Ios App"), S("Desktop"), S("Mobile"),
                                      S("Offline")};

/* New customers throughout (enough to grow the index mid-batch), repeats,
 * re-sent ids, refunds of known and unknown customers, invalid orders. */
static void batch_fill(batch_input *in) {
    uint64_t x = 42;
    for (size_t i = 0; i < BATCH_N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = x >> 16;
        size_t cust = (size_t)(r % BATCH_CUSTOMERS);
        if (i > 0 && r % 11 == 0) {
            /* Re-send an earlier order, same customer and id. */
            in->o[i] = in->o[(size_t)(r >> 20) % i];
            continue;
        }
        snprintf(in->cust[i], sizeof in->cust[i], "cust-%zu", cust);
        snprintf(in->oid[i], sizeof in->oid[i], "o%zu", i);
        int64_t cents = (int64_t)((r >> 8) % 100000);
        if (r % 7 == 0)
            cents = -cents - 1; /* refund, often of a customer not seen yet */
        if (r % 13 == 0 && i > 0)
            snprintf(in->oid[i], sizeof in->oid[i], "o%zu", (size_t)(r >> 24) % i); /* old id */
        int64_t ts = 1600000000 + (int64_t)((r >> 30) % 40000000);
        if (r % 97 == 0)
            ts = -5; /* invalid */
        in->o[i] = mk(in->cust[i], in->oid[i], ts, cents);
        if (r % 97 == 1)
            in->o[i].order_id.len = 0; /* invalid */
        in->cats[i][0] = cat_pool[(r >> 3) % 5];
        in->cats[i][1] = cat_pool[(r >> 6) % 5];
        in->o[i].categories = in->cats[i];
        in->o[i].ncategories = (size_t)(r % 3);
        if (r % 4)
            in->o[i].channel = chan_pool[(r >> 9) % 5];
    }
}

static void assert_same_store(store *a, store *b) {
    assert_int_equal(store_count(a), store_count(b));
    assert_int_equal(store_max_ts(a), store_max_ts(b));
    for (size_t i = 0; i < store_count(a); i++) {
        const store_customer *x = store_at(a, i), *y = store_at(b, i);
        assert_int_equal(x->monetary_cents, y->monetary_cents);
        assert_int_equal(x->first_ts, y->first_ts);
        assert_int_equal(x->last_ts, y->last_ts);
        assert_int_equal(x->frequency, y->frequency);
        assert_int_equal(x->categories, y->categories);
        assert_int_equal(x->channels, y->channels);
        assert_int_equal(x->r, y->r);
        assert_int_equal(x->f, y->f);
        assert_int_equal(x->m, y->m);
        assert_int_equal(x->segment, y->segment);
        assert_int_equal(x->recent_next, y->recent_next);
        assert_memory_equal(x->recent, y->recent, sizeof x->recent);
        size_t lx, ly;
        const char *kx = store_key(a, x, &lx), *ky = store_key(b, y, &ly);
        assert_int_equal(lx, ly);
        assert_memory_equal(kx, ky, lx);
        assert_memory_equal(x, y, sizeof *x); /* and nothing else differs */
    }
    for (int i = 0; i < STORE_MAX_CATEGORIES; i++) {
        const char *na = store_category_name(a, i), *nb = store_category_name(b, i);
        assert_true((na == NULL) == (nb == NULL));
        if (na)
            assert_string_equal(na, nb);
    }
    for (int i = 0; i < STORE_MAX_CHANNELS; i++) {
        const char *na = store_channel_name(a, i), *nb = store_channel_name(b, i);
        assert_true((na == NULL) == (nb == NULL));
        if (na)
            assert_string_equal(na, nb);
    }
}

static void test_batch_equals_single(void **state) {
    (void)state;
    batch_input *in = malloc(sizeof *in);
    assert_non_null(in);
    batch_fill(in);
    const size_t sizes[] = {0, 1, 7, 100, BATCH_N};
    order_result *ra = malloc(BATCH_N * sizeof *ra), *rb = malloc(BATCH_N * sizeof *rb);
    store_customer **oa = malloc(BATCH_N * sizeof *oa), **ob = malloc(BATCH_N * sizeof *ob);
    assert_true(ra && rb && oa && ob);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        for (int pass = 0; pass < 2; pass++) {
            /* pass 1 starts from a store already holding customers. */
            store *a = store_new(), *b = store_new();
            if (pass) {
                for (size_t i = BATCH_N / 2; i < BATCH_N; i++) {
                    order_apply(a, &in->o[i], NULL);
                    order_apply(b, &in->o[i], NULL);
                }
            }
            size_t before = store_count(a);
            for (size_t i = 0; i < n; i++)
                ra[i] = order_apply(a, &in->o[i], &oa[i]);
            order_apply_batch(b, in->o, n, rb, ob);
            assert_same_store(a, b);
            size_t hist[ORDER_INVALID + 1] = {0};
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(ra[i], rb[i]);
                hist[ra[i]]++;
                /* The customer touched is the one at the same index. */
                assert_true((oa[i] == NULL) == (ob[i] == NULL));
                if (oa[i]) {
                    size_t len;
                    const char *ka = store_key(a, oa[i], &len);
                    assert_ptr_equal(store_get(b, ka, len), ob[i]);
                }
            }
            if (n == BATCH_N) {
                /* The mix really has every kind of order in it. */
                for (int r = ORDER_APPLIED; r <= ORDER_INVALID; r++)
                    assert_true(hist[r] > 10);
                if (!pass)
                    assert_true(store_count(a) > 1024); /* grew the index mid-batch */
            }
            assert_true(store_count(a) >= before);
            /* Without results or out arrays, the same state. */
            store *c = store_new();
            if (pass)
                for (size_t i = BATCH_N / 2; i < BATCH_N; i++)
                    order_apply(c, &in->o[i], NULL);
            order_apply_batch(c, in->o, n, NULL, NULL);
            assert_same_store(a, c);
            store_free(a);
            store_free(b);
            store_free(c);
        }
    }
    /* A long input applied in uneven batches equals one sequential pass. */
    store *a = store_new(), *b = store_new();
    for (size_t i = 0; i < BATCH_N; i++)
        ra[i] = order_apply(a, &in->o[i], NULL);
    for (size_t i = 0, step = 1; i < BATCH_N; i += step, step = step * 3 % 257 + 1) {
        size_t n = i + step > BATCH_N ? BATCH_N - i : step;
        order_apply_batch(b, in->o + i, n, rb + i, NULL);
    }
    assert_memory_equal(ra, rb, BATCH_N * sizeof *ra);
    assert_same_store(a, b);
    store_free(a);
    store_free(b);
    free(ra);
    free(rb);
    free(oa);
    free(ob);
    free(in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frequency_times_money),
        cmocka_unit_test(test_categories_channels),
        cmocka_unit_test(test_refunds),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_duplicate_window),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_batch_equals_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
