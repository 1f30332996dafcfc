/*
 * order: what one order does to a customer (SPEC §2, §3), duplicates within
 * the documented window, refunds, limits, and that the prefetching batch path
 * leaves exactly the state the one-by-one path does.
 */
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

static void test_orders(void **state) {
    (void)state;
    store *s = store_new();
    order o = mk("c1", "o1", 2000, 1050);
    order_str cats[] = {S("KADIN"), S("ERKEK")};
    o.categories = cats;
    o.ncategories = 2;
    o.channel = S("Android App");
    store_customer *c;
    assert_int_equal(order_apply(s, &o, &c), ORDER_APPLIED);
    assert_non_null(c);
    o = mk("c1", "o2", 1000, 0); /* earlier, zero value: still an order */
    assert_int_equal(order_apply(s, &o, NULL), ORDER_APPLIED);
    o = mk("c1", "o3", 3000, 99);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_APPLIED);
    assert_int_equal(c->frequency, 3);
    assert_int_equal(c->first_ts, 1000);
    assert_int_equal(c->last_ts, 3000);
    assert_int_equal(c->monetary_cents, 1149);
    assert_int_equal(c->categories, 3);
    assert_int_equal(c->channels, 1);
    assert_int_equal(store_max_ts(s), 3000);
    store_free(s);
}

static void test_refunds(void **state) {
    (void)state;
    store *s = store_new();
    order o = mk("ghost", "r1", 1000, -500);
    store_customer *c;
    assert_int_equal(order_apply(s, &o, &c), ORDER_REFUND_UNKNOWN);
    assert_null(c);
    assert_int_equal(store_count(s), 0);
    o = mk("c", "X", 1000, 1000);
    assert_int_equal(order_apply(s, &o, &c), ORDER_APPLIED);
    /* A refund under the same id as its order is not a duplicate of it. */
    o = mk("c", "X", 5000, -300);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_REFUNDED);
    assert_int_equal(c->monetary_cents, 700);
    assert_int_equal(c->frequency, 1);
    assert_int_equal(c->last_ts, 1000); /* a refund is no order */
    assert_int_equal(order_apply(s, &o, NULL), ORDER_DUPLICATE);
    o = mk("c", "big", 5000, -100000);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_REFUNDED);
    assert_int_equal(c->monetary_cents, 0); /* never below 0 */
    store_free(s);
}

static void test_duplicates_window(void **state) {
    (void)state;
    store *s = store_new();
    order o = mk("c", "a", 1000, 100);
    store_customer *c;
    assert_int_equal(order_apply(s, &o, &c), ORDER_APPLIED);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_DUPLICATE);
    const char *ids[] = {"b", "c", "d"};
    /* "a" is still caught with 2 orders after it, forgotten after 3. */
    for (int i = 0; i < 3; i++) {
        if (i == 2) {
            o = mk("c", "a", 1000, 100);
            assert_int_equal(order_apply(s, &o, NULL), ORDER_DUPLICATE);
        }
        o = mk("c", ids[i], 1000, 100);
        assert_int_equal(order_apply(s, &o, NULL), ORDER_APPLIED);
    }
    o = mk("c", "a", 1000, 100);
    assert_int_equal(order_apply(s, &o, NULL), ORDER_APPLIED);
    assert_int_equal(c->frequency, 5);
    store_free(s);
}

static void test_invalid(void **state) {
    (void)state;
    store *s = store_new();
    char long_id[130];
    memset(long_id, 'x', sizeof long_id);
    long_id[129] = 0;
    order bad[] = {mk("", "o", 1, 1),   mk(long_id, "o", 1, 1),
                   mk("c", "", 1, 1),   mk("c", long_id, 1, 1),
                   mk("c", "o", -1, 1), mk("c", "o", ORDER_TS_MAX + 1, 1)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(order_apply(s, &bad[i], NULL), ORDER_INVALID);
    assert_int_equal(store_count(s), 0);
    order ok = mk("c", "o", ORDER_TS_MAX, 1);
    assert_int_equal(order_apply(s, &ok, NULL), ORDER_APPLIED);
    store_free(s);
}

static void test_batch_equals_single(void **state) {
    (void)state;
    enum { N = 10000 };
    static char cust[N][16], oid[N][16];
    order *os = malloc(N * sizeof *os);
    assert_non_null(os);
    uint64_t x = 42;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(cust[i], sizeof cust[i], "c%llu", (unsigned long long)(x >> 33) % 700);
        /* Every seventh order repeats an earlier id: duplicates in the mix. */
        snprintf(oid[i], sizeof oid[i], "o%zu", i % 7 ? i : i / 2);
        int64_t cents = (int64_t)((x >> 20) % 10000) - (i % 5 == 0 ? 12000 : 0);
        os[i] = mk(cust[i], oid[i], 1000 + (int64_t)((x >> 40) % 100000), cents);
    }
    size_t sizes[] = {0, 1, 7, 100, N};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        store *a = store_new(), *b = store_new();
        order_result *ra = malloc((n + 1) * sizeof *ra), *rb = malloc((n + 1) * sizeof *rb);
        for (size_t i = 0; i < n; i++)
            ra[i] = order_apply(a, &os[i], NULL);
        order_apply_batch(b, os, n, rb, NULL);
        assert_int_equal(store_count(a), store_count(b));
        if (n)
            assert_memory_equal(ra, rb, n * sizeof *ra);
        for (size_t i = 0; i < store_count(a); i++)
            assert_memory_equal(store_at(a, i), store_at(b, i), sizeof(store_customer));
        assert_int_equal(store_max_ts(a), store_max_ts(b));
        free(ra);
        free(rb);
        store_free(a);
        store_free(b);
    }
    free(os);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders),
        cmocka_unit_test(test_refunds),
        cmocka_unit_test(test_duplicates_window),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_batch_equals_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
