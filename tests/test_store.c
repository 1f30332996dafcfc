/*
 * store: the customer table's contract (include/rfm/store.h) — every key
 * found again before, during and after incremental growth; indices and record
 * pointers stable; key limits and binary keys; the hashed entry points agree
 * with the plain ones; interning limits; max_ts; memory accounting.
 *
 * Growth is checked black-box: the only outside sign of a migration is
 * store_memory(), which counts both tables while one is being copied and
 * drops when the old table is freed. The growth test uses that to prove its
 * lookups really ran while migrations were under way, so it cannot pass
 * vacuously if growth stopped being incremental.
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

#define KEY_STRIDE 48

/* Distinct keys of varying length (11..~40 bytes), quick to generate. */
static size_t make_key(char *buf, size_t i) {
    int n = snprintf(buf, KEY_STRIDE, "c%zx-%zu", i * 2654435761u, i % 7 ? i : i * 1000003);
    return (size_t)n;
}

static uint64_t lcg(uint64_t *x) {
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static void assert_key(const store *s, const store_customer *c, const char *k, size_t len) {
    size_t kl = 0;
    const char *key = store_key(s, c, &kl);
    assert_int_equal(kl, len);
    assert_memory_equal(key, k, len);
}

static void test_key_lengths(void **state) {
    (void)state;
    store *s = store_new();
    assert_non_null(s);
    bool created = true;
    char k[STORE_KEY_MAX + 1];
    memset(k, 'x', sizeof k);

    assert_null(store_upsert(s, k, 0, &created));
    assert_false(created);
    assert_null(store_upsert(s, k, STORE_KEY_MAX + 1, &created));
    assert_false(created);
    assert_int_equal(store_count(s), 0);
    assert_null(store_get(s, k, 0));
    assert_null(store_get(s, k, STORE_KEY_MAX + 1));

    store_customer *one = store_upsert(s, "x", 1, &created);
    assert_non_null(one);
    assert_true(created);
    store_customer *max = store_upsert(s, k, STORE_KEY_MAX, &created);
    assert_non_null(max);
    assert_true(created);
    assert_true(one != max);
    assert_int_equal(store_count(s), 2);
    assert_ptr_equal(store_get(s, "x", 1), one);
    assert_ptr_equal(store_get(s, k, STORE_KEY_MAX), max);
    assert_key(s, one, "x", 1);
    assert_key(s, max, k, STORE_KEY_MAX);
    /* A 129-byte key whose first 128 bytes are a stored key is still no key. */
    assert_null(store_get(s, k, STORE_KEY_MAX + 1));
    assert_null(store_get(s, k, STORE_KEY_MAX - 1));
    assert_null(store_get(s, "xx", 2));
    assert_int_equal(store_count(s), 2);
    store_free(s);
}

static void test_binary_keys(void **state) {
    (void)state;
    store *s = store_new();
    bool created;
    /* Keys made of every byte value, NUL included, and NUL-only keys. */
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    store_customer *lo = store_upsert(s, all, 128, &created);       /* bytes 0..127 */
    store_customer *hi = store_upsert(s, all + 128, 128, &created); /* bytes 128..255 */
    store_customer *z1 = store_upsert(s, "\0", 1, &created);
    store_customer *z2 = store_upsert(s, "\0\0", 2, &created);
    store_customer *ff = store_upsert(s, "\xff", 1, &created);
    store_customer *ab = store_upsert(s, "ab", 2, &created);
    store_customer *abn = store_upsert(s, "ab\0", 3, &created);
    store_customer *abnc = store_upsert(s, "ab\0c", 4, &created);
    store_customer *abnd = store_upsert(s, "ab\0d", 4, &created);
    store_customer *p[] = {lo, hi, z1, z2, ff, ab, abn, abnc, abnd};
    size_t np = sizeof p / sizeof p[0];
    for (size_t i = 0; i < np; i++) {
        assert_non_null(p[i]);
        for (size_t j = 0; j < i; j++)
            assert_true(p[i] != p[j]);
    }
    assert_int_equal(store_count(s), np);
    assert_ptr_equal(store_get(s, all, 128), lo);
    assert_ptr_equal(store_get(s, all + 128, 128), hi);
    assert_ptr_equal(store_get(s, "\0", 1), z1);
    assert_ptr_equal(store_get(s, "\0\0", 2), z2);
    assert_ptr_equal(store_get(s, "\xff", 1), ff);
    assert_ptr_equal(store_get(s, "ab", 2), ab);
    assert_ptr_equal(store_get(s, "ab\0", 3), abn);
    assert_ptr_equal(store_get(s, "ab\0c", 4), abnc);
    assert_ptr_equal(store_get(s, "ab\0d", 4), abnd);
    assert_null(store_get(s, "\0\0\0", 3));
    assert_null(store_get(s, "ab\0e", 4));
    assert_null(store_get(s, "a", 1));
    assert_key(s, lo, all, 128);
    assert_key(s, hi, all + 128, 128);
    assert_key(s, abnd, "ab\0d", 4);
    assert_key(s, z2, "\0\0", 2);

    /* 128-byte keys differing only in the last byte, every value of it. */
    char k[STORE_KEY_MAX];
    memset(k, 'q', sizeof k);
    store_customer *last[256];
    for (int b = 0; b < 256; b++) {
        k[STORE_KEY_MAX - 1] = (char)b;
        last[b] = store_upsert(s, k, sizeof k, &created);
        assert_non_null(last[b]);
        assert_true(created);
    }
    for (int b = 0; b < 256; b++) {
        k[STORE_KEY_MAX - 1] = (char)b;
        assert_ptr_equal(store_get(s, k, sizeof k), last[b]);
        assert_ptr_equal(store_upsert(s, k, sizeof k, &created), last[b]);
        assert_false(created);
        assert_key(s, last[b], k, sizeof k);
    }
    assert_int_equal(store_count(s), np + 256);
    store_free(s);
}

static void test_upsert_existing(void **state) {
    (void)state;
    store *s = store_new();
    bool created;
    store_customer *a = store_upsert(s, "alice", 5, &created);
    assert_true(created);
    /* A fresh record is all zero apart from where its key lives. */
    assert_int_equal(a->frequency, 0);
    assert_int_equal(a->monetary_cents, 0);
    assert_int_equal(a->first_ts, 0);
    assert_int_equal(a->last_ts, 0);
    assert_int_equal(a->categories, 0);
    assert_int_equal(a->channels, 0);
    assert_int_equal(a->segment, 0);
    a->frequency = 7;
    a->monetary_cents = 1234;
    store_customer *b = store_upsert(s, "bob", 3, &created);
    assert_true(created);
    for (int i = 0; i < 3; i++) {
        created = true;
        assert_ptr_equal(store_upsert(s, "alice", 5, &created), a);
        assert_false(created);
    }
    /* The existing record is returned as is, not reset. */
    assert_int_equal(a->frequency, 7);
    assert_int_equal(a->monetary_cents, 1234);
    assert_int_equal(store_count(s), 2);
    assert_ptr_equal(store_at(s, 0), a);
    assert_ptr_equal(store_at(s, 1), b);
    assert_ptr_equal(store_at_const(s, 1), b);
    store_free(s);
}

/* Hashed and plain entry points are interchangeable on the same store. */
static void test_hashed_agree(void **state) {
    (void)state;
    enum { N = 20000 };
    store *s = store_new();
    char k[KEY_STRIDE];
    bool created;
    assert_int_equal(store_hash("abc", 3), store_hash("abc", 3));
    assert_true(store_hash("abc", 3) != store_hash("abd", 3));
    for (size_t i = 0; i < N; i++) {
        size_t len = make_key(k, i);
        uint64_t h = store_hash(k, len);
        store_customer *c;
        /* Alternate which flavour inserts, so each must find the other's keys. */
        if (i % 2) {
            c = store_upsert_hashed(s, k, len, h, &created);
        } else {
            store_prefetch_slot(s, h);
            store_prefetch_record(s, h);
            store_prefetch_key(s, h);
            c = store_upsert(s, k, len, &created);
        }
        assert_non_null(c);
        assert_true(created);
        assert_ptr_equal(store_get(s, k, len), c);
        assert_ptr_equal(store_get_hashed(s, k, len, h), c);
    }
    for (size_t i = 0; i < N; i++) {
        size_t len = make_key(k, i);
        uint64_t h = store_hash(k, len);
        store_customer *c = store_get(s, k, len);
        assert_non_null(c);
        assert_ptr_equal(store_get_hashed(s, k, len, h), c);
        assert_ptr_equal(store_upsert_hashed(s, k, len, h, &created), c);
        assert_false(created);
        assert_ptr_equal(store_upsert(s, k, len, &created), c);
        assert_false(created);
        assert_ptr_equal(store_at(s, i), c);
    }
    assert_int_equal(store_count(s), N);
    assert_null(store_get_hashed(s, "nope", 4, store_hash("nope", 4)));
    assert_null(store_get_hashed(s, k, 0, store_hash(k, 0)));
    assert_null(store_upsert_hashed(s, k, 0, store_hash(k, 0), &created));
    assert_null(store_upsert_hashed(s, k, STORE_KEY_MAX + 1, 0, &created));
    assert_int_equal(store_count(s), N);
    store_free(s);
}

/* Migration windows seen through store_memory(): a table allocation at the
 * insert that starts a migration, a drop of half that size at the call that
 * ends it. */
typedef struct growth_watch {
    size_t mem;
    size_t rise_step[64];
    size_t rise_bytes[64];
    size_t nrises;
    size_t drops;
    size_t window_steps; /* steps (insert + checks) spent inside migrations */
} growth_watch;

static void watch(growth_watch *w, const store *s, size_t step, bool was_insert) {
    size_t m = store_memory(s);
    if (m > w->mem && was_insert) {
        w->rise_step[w->nrises % 64] = step;
        w->rise_bytes[w->nrises % 64] = m - w->mem;
        w->nrises++;
    } else if (m < w->mem) {
        size_t d = w->mem - m;
        w->drops++;
        /* The allocation that started it was at least twice what was freed. */
        for (size_t r = w->nrises; r > 0 && r + 64 > w->nrises; r--)
            if (w->rise_bytes[(r - 1) % 64] >= 2 * d) {
                w->window_steps += step - w->rise_step[(r - 1) % 64];
                break;
            }
    }
    w->mem = m;
}

static void test_growth(void **state) {
    (void)state;
    enum { N = 1000000, FULL = 4096, SAMPLES = 3 };
    char *keys = malloc((size_t)N * KEY_STRIDE);
    unsigned char *lens = malloc(N);
    store_customer **ptrs = malloc(N * sizeof *ptrs);
    assert_non_null(keys);
    assert_non_null(lens);
    assert_non_null(ptrs);
    for (size_t i = 0; i < N; i++)
        lens[i] = (unsigned char)make_key(keys + i * KEY_STRIDE, i);
#define KEY(i) (keys + (size_t)(i)*KEY_STRIDE), lens[i]

    store *s = store_new();
    growth_watch w = {.mem = store_memory(s)};
    size_t mem0 = w.mem;
    uint64_t x = 7;
    for (size_t i = 0; i < N; i++) {
        bool created;
        ptrs[i] = store_upsert(s, KEY(i), &created);
        assert_non_null(ptrs[i]);
        assert_true(created);
        ptrs[i]->frequency = (uint32_t)i;
        watch(&w, s, i, true);
        assert_int_equal(store_count(s), i + 1);
        /* The next key is not in yet, whichever table a lookup searches. */
        if (i + 1 < N)
            assert_null(store_get(s, KEY(i + 1)));
        if (i < FULL) {
            /* Newest first: while a migration runs, keys inserted since it
             * began live only in the new table, older ones in the old. */
            for (size_t j = i + 1; j-- > 0;) {
                assert_ptr_equal(store_get(s, KEY(j)), ptrs[j]);
                watch(&w, s, i, false);
            }
        } else {
            assert_ptr_equal(store_get(s, KEY(i)), ptrs[i]);
            watch(&w, s, i, false);
            for (int k = 0; k < SAMPLES; k++) {
                size_t j = (size_t)(lcg(&x) % (i + 1));
                store_customer *c = store_get(s, KEY(j));
                assert_ptr_equal(c, ptrs[j]);
                assert_int_equal(c->frequency, j);
                assert_ptr_equal(store_at(s, j), c);
                watch(&w, s, i, false);
            }
        }
    }
    /* 1M keys from a small table: many doublings, each one incremental, with
     * lookups running inside the migrations for thousands of inserts. */
    print_message("growth: %zu migrations seen, %zu inserts inside them, %zu bytes/customer\n",
                  w.drops, w.window_steps, store_memory(s) / N);
    assert_true(w.drops >= 8);
    assert_true(w.window_steps >= 1000);

    /* After: every key found, index = insertion order, pointers never moved. */
    assert_int_equal(store_count(s), N);
    for (size_t i = 0; i < N; i++) {
        store_customer *c = store_get(s, KEY(i));
        assert_ptr_equal(c, ptrs[i]);
        assert_ptr_equal(store_at(s, i), c);
        assert_ptr_equal(store_at_const(s, i), c);
        assert_int_equal(c->frequency, i);
        assert_key(s, c, KEY(i));
    }
    assert_null(store_get(s, "absent", 6));
    assert_null(store_get(s, keys, (size_t)lens[0] - 1)); /* a prefix of a stored key */

    /* Memory grows with the table: at least a record and a slot per key, and
     * stays near the BENCHMARKS.md budget for ids this size. */
    size_t mem = store_memory(s);
    assert_true(mem > mem0);
    assert_true(mem >= (size_t)N * (sizeof(store_customer) + 8));
    assert_true(mem / N < 120);
#undef KEY
    free(ptrs);
    free(lens);
    free(keys);
    store_free(s);
}

static void test_intern(void **state) {
    (void)state;
    store *s = store_new();
    char name[16];
    assert_null(store_category_name(s, 0));
    assert_null(store_channel_name(s, 0));
    for (int i = 0; i < STORE_MAX_CATEGORIES; i++) {
        snprintf(name, sizeof name, "cat%d", i);
        assert_int_equal(store_intern_category(s, name, strlen(name)), i);
        assert_int_equal(store_intern_category(s, name, strlen(name)), i); /* same name */
    }
    /* Full: known names still resolve, new ones get -1. */
    assert_int_equal(store_intern_category(s, "cat3", 4), 3);
    assert_int_equal(store_intern_category(s, "cat15", 5), 15);
    assert_int_equal(store_intern_category(s, "one-more", 8), -1);
    assert_int_equal(store_intern_category(s, "one-more", 8), -1);
    /* The length counts, not a NUL: "cat1" is not "cat10". */
    assert_int_equal(store_intern_category(s, "cat10", 4), 1);
    for (int i = 0; i < STORE_MAX_CATEGORIES; i++) {
        snprintf(name, sizeof name, "cat%d", i);
        assert_string_equal(store_category_name(s, i), name);
    }
    assert_null(store_category_name(s, STORE_MAX_CATEGORIES));
    assert_null(store_category_name(s, -1));

    /* Channels are a separate, smaller set. */
    assert_int_equal(store_intern_channel(s, "cat0", 4), 0);
    assert_int_equal(store_intern_channel(s, "", 0), -1);
    for (int i = 1; i < STORE_MAX_CHANNELS; i++) {
        snprintf(name, sizeof name, "ch%d", i);
        assert_int_equal(store_intern_channel(s, name, strlen(name)), i);
    }
    assert_int_equal(store_intern_channel(s, "ch5", 3), 5);
    assert_int_equal(store_intern_channel(s, "x", 1), -1);
    assert_string_equal(store_channel_name(s, 0), "cat0");
    assert_string_equal(store_channel_name(s, 7), "ch7");
    assert_null(store_channel_name(s, STORE_MAX_CHANNELS));
    store_free(s);

    /* Names with a NUL would print as a different name: refused, not aliased. */
    s = store_new();
    assert_int_equal(store_intern_category(s, "ab", 2), 0);
    assert_int_equal(store_intern_category(s, "ab\0c", 4), -1);
    assert_int_equal(store_intern_category(s, "", 0), -1);
    assert_int_equal(store_intern_category(s, "Android App", 11), 1);
    assert_string_equal(store_category_name(s, 1), "Android App");
    assert_null(store_category_name(s, 2));
    store_free(s);
}

static void test_max_ts_and_memory(void **state) {
    (void)state;
    store *s = store_new();
    assert_int_equal(store_max_ts(s), 0);
    store_note_ts(s, 100);
    assert_int_equal(store_max_ts(s), 100);
    store_note_ts(s, 50);
    assert_int_equal(store_max_ts(s), 100);
    store_note_ts(s, UINT32_MAX);
    assert_int_equal(store_max_ts(s), UINT32_MAX);
    store_note_ts(s, 0);
    assert_int_equal(store_max_ts(s), UINT32_MAX);

    /* Memory never shrinks below what the records and keys need, and grows
     * as they are added. */
    size_t m0 = store_memory(s);
    assert_true(m0 > 0);
    bool created;
    store_upsert(s, "k", 1, &created);
    size_t m1 = store_memory(s);
    assert_true(m1 > m0); /* first record chunk and arena block */
    char k[KEY_STRIDE];
    for (size_t i = 0; i < 100000; i++) {
        size_t len = make_key(k, i);
        store_upsert(s, k, len, &created);
    }
    size_t m2 = store_memory(s);
    assert_true(m2 > m1);
    assert_true(m2 >= 100000 * sizeof(store_customer));
    store_free(s);
    store_free(NULL);
}

/* Counts from a file (a snapshot header) can be anything: one no table can
 * hold fails at once, even where n * 4 would wrap (it once looped forever). */
static void test_reserve_impossible(void **state) {
    (void)state;
    store *s = store_new();
    size_t huge[] = {SIZE_MAX, SIZE_MAX / 4 + 1, (size_t)1 << 62, ((size_t)1 << 61) + 1,
                     (size_t)1 << 40};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++)
        assert_int_equal(store_reserve(s, huge[i]), -1);
    assert_int_equal(store_reserve(s, 1000), 0);
    bool created;
    assert_non_null(store_upsert(s, "k", 1, &created));
    assert_true(created);
    store_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_lengths),
        cmocka_unit_test(test_binary_keys),
        cmocka_unit_test(test_upsert_existing),
        cmocka_unit_test(test_hashed_agree),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_intern),
        cmocka_unit_test(test_max_ts_and_memory),
        cmocka_unit_test(test_reserve_impossible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
