/*
 * store: the customer table's contract — every key found again, before,
 * during and after incremental growth; indices and pointers stable; limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/store.h"

static size_t make_key(char *buf, size_t i) {
    return (size_t)snprintf(buf, 64, "c-%08zx-0000-4000-8000-%012zx", i * 2654435761u, i);
}

static void test_lengths_and_bytes(void **state) {
    (void)state;
    store *s = store_new();
    bool created;
    char k[STORE_KEY_MAX + 1];
    memset(k, 'x', sizeof k);
    assert_null(store_upsert(s, k, 0, &created));
    assert_null(store_upsert(s, k, STORE_KEY_MAX + 1, &created));
    assert_non_null(store_upsert(s, k, STORE_KEY_MAX, &created));
    assert_true(created);
    assert_non_null(store_upsert(s, "a", 1, &created));
    /* Embedded NUL and keys differing only in their last byte. */
    assert_non_null(store_upsert(s, "ab\0c", 4, &created));
    assert_true(created);
    assert_non_null(store_upsert(s, "ab\0d", 4, &created));
    assert_true(created);
    assert_int_equal(store_count(s), 4);
    size_t len;
    const char *key = store_key(s, store_get(s, "ab\0d", 4), &len);
    assert_int_equal(len, 4);
    assert_memory_equal(key, "ab\0d", 4);
    assert_null(store_get(s, "ab", 2));
    assert_int_equal(store_get(s, k, STORE_KEY_MAX)->key_ref, store_at(s, 0)->key_ref);
    /* Upsert of an existing key returns the same record. */
    store_customer *a = store_get(s, "a", 1);
    assert_ptr_equal(store_upsert(s, "a", 1, &created), a);
    assert_false(created);
    store_free(s);
}

static void test_growth(void **state) {
    (void)state;
    enum { N = 1000000 };
    store *s = store_new();
    store_customer **ptrs = malloc(N * sizeof *ptrs);
    assert_non_null(ptrs);
    char k[64];
    /* From 1024 slots at 3/4 load, 1M keys take 11 doublings. */
    for (size_t i = 0; i < N; i++) {
        size_t len = make_key(k, i);
        bool created;
        ptrs[i] = store_upsert(s, k, len, &created);
        assert_non_null(ptrs[i]);
        assert_true(created);
        ptrs[i]->frequency = (uint32_t)i;
        /* Right after each power-of-two boundary a migration is under way:
         * every key so far must still be found, in either table. */
        if (i >= 1000 && (i & (i - 1)) == 0 && i <= 65536)
            for (size_t j = 0; j <= i; j++) {
                size_t l = make_key(k, j);
                assert_ptr_equal(store_get(s, k, l), ptrs[j]);
            }
    }
    /* The table holding 1M keys has at least 1M / (3/4) slots of 8 bytes. */
    assert_true(store_memory(s) > (size_t)N * 44 + (size_t)N * 8 * 4 / 3);
    assert_int_equal(store_count(s), N);
    for (size_t i = 0; i < N; i++) {
        size_t len = make_key(k, i);
        store_customer *c = store_get(s, k, len);
        assert_ptr_equal(c, ptrs[i]);        /* pointers never moved */
        assert_ptr_equal(store_at(s, i), c); /* index = insertion order */
        assert_int_equal(c->frequency, i);
        size_t kl;
        const char *key = store_key(s, c, &kl);
        assert_int_equal(kl, len);
        assert_memory_equal(key, k, len);
        assert_ptr_equal(store_get_hashed(s, k, len, store_hash(k, len)), c);
    }
    assert_null(store_get(s, "absent", 6));
    /* Bytes per customer with 40-byte ids stays near the documented budget. */
    assert_true(store_memory(s) / N < 120);
    free(ptrs);
    store_free(s);
}

static void test_intern(void **state) {
    (void)state;
    store *s = store_new();
    char name[16];
    for (int i = 0; i < STORE_MAX_CATEGORIES; i++) {
        snprintf(name, sizeof name, "cat%d", i);
        assert_int_equal(store_intern_category(s, name, strlen(name)), i);
    }
    assert_int_equal(store_intern_category(s, "cat3", 4), 3);
    assert_int_equal(store_intern_category(s, "one-more", 8), -1);
    assert_string_equal(store_category_name(s, 15), "cat15");
    assert_null(store_category_name(s, 16));
    for (int i = 0; i < STORE_MAX_CHANNELS; i++) {
        snprintf(name, sizeof name, "ch%d", i);
        assert_int_equal(store_intern_channel(s, name, strlen(name)), i);
    }
    assert_int_equal(store_intern_channel(s, "x", 1), -1);
    assert_int_equal(store_max_ts(s), 0);
    store_note_ts(s, 100);
    store_note_ts(s, 50);
    assert_int_equal(store_max_ts(s), 100);
    store_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_bytes),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_intern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
