/*
 * snapshot: round trip of everything a snapshot holds, every kind of bad
 * file (truncated anywhere, any bit flipped, other version, other settings,
 * junk), failing writes (file size limit, missing directory), and the
 * directory rules (names, order, pruning, temporary files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rfm/order.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/snapshot.h"
#include "rfm/store.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define NCUST 70000 /* more than one customer block */

typedef struct fx {
    char dir[256];
    store *s;
    score_settings st;
    segment_map map;
    score_breakpoints bp;
    snapshot_offset offs[3];
} fx;

static void add_order(store *s, const char *cid, const char *oid, int64_t ts, int64_t cents,
                      const char *cat) {
    order o = {0};
    o.customer_id = (order_str){cid, strlen(cid)};
    o.order_id = (order_str){oid, strlen(oid)};
    o.ts = ts;
    o.amount_cents = cents;
    order_str c = {cat, cat ? strlen(cat) : 0};
    if (cat) {
        o.categories = &c;
        o.ncategories = 1;
    }
    assert_int_not_equal(order_apply(s, &o, NULL), ORDER_INVALID);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/rfm-snap-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    f->s = store_new();
    static const char *cats[] = {"KADIN", "ERKEK", "COCUK", NULL};
    for (int i = 0; i < NCUST; i++) {
        char cid[160], oid[32];
        /* Ids of every length 1..128, long shared prefixes included. */
        int len = 1 + i % 128;
        snprintf(cid, sizeof cid, "%0*d", len, i);
        for (int k = 0; k <= i % 3; k++) {
            snprintf(oid, sizeof oid, "o-%d-%d", i, k);
            add_order(f->s, cid, oid, 1600000000 + (i % 500) * 86400 + k, 100 + i % 9973,
                      cats[i % 4]);
        }
    }
    score_settings_default(&f->st);
    segment_map_default(&f->map, 5);
    assert_int_equal(score_breakpoints_compute(&f->st, f->s, 0, 0, &f->bp), 0);
    score_rescore_all(&f->st, &f->bp, &f->map, f->s, NULL, NULL);
    const char *topics[] = {"orders", "orders", "more.orders"};
    for (int i = 0; i < 3; i++) {
        snprintf(f->offs[i].topic, sizeof f->offs[i].topic, "%s", topics[i]);
        f->offs[i].partition = i;
        f->offs[i].next = 1000 * i + 7;
        f->offs[i].redo_from = f->offs[i].next - i; /* one partition with nothing to redo */
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    store_free(f->s);
    free(f);
    return 0;
}

static snapshot_source source(fx *f, int64_t created) {
    return (snapshot_source){.store = f->s,
                             .settings = &f->st,
                             .bp = &f->bp,
                             .segments = &f->map,
                             .offsets = f->offs,
                             .noffsets = 3,
                             .created_ms = created};
}

static void save(fx *f, int64_t created, char *path, size_t len) {
    char err[512];
    snapshot_source src = source(f, created);
    if (snapshot_save(f->dir, &src, path, len, err, sizeof err))
        fail_msg("save: %s", err);
}

static void *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    rewind(fp);
    void *p = malloc(*len ? *len : 1);
    assert_int_equal(fread(p, 1, *len, fp), *len);
    fclose(fp);
    return p;
}

static void spit(const char *path, const void *p, size_t len) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void test_round_trip(void **state) {
    fx *f = *state;
    char path[512], err[512];
    save(f, 1700000000123, path, sizeof path);
    store *got = NULL;
    snapshot_info in;
    if (snapshot_load(path, snapshot_fingerprint(&f->st), &f->map, &got, &in, err, sizeof err))
        fail_msg("load: %s", err);
    assert_int_equal(in.version, SNAPSHOT_VERSION);
    assert_int_equal(in.created_ms, 1700000000123);
    assert_int_equal(in.customers, NCUST);
    assert_int_equal(store_count(got), NCUST);
    assert_int_equal(store_max_ts(got), store_max_ts(f->s));
    assert_int_equal(in.settings.bins, 5);
    assert_int_equal(in.noffsets, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(in.offsets[i].topic, f->offs[i].topic);
        assert_int_equal(in.offsets[i].partition, f->offs[i].partition);
        assert_int_equal(in.offsets[i].next, f->offs[i].next);
        assert_int_equal(in.offsets[i].redo_from, f->offs[i].redo_from);
    }
    assert_int_equal(in.bp.version, f->bp.version);
    assert_int_equal(in.bp.as_of, f->bp.as_of);
    assert_int_equal(in.bp.customers, f->bp.customers);
    assert_memory_equal(in.bp.r_edges, f->bp.r_edges, sizeof f->bp.r_edges);
    assert_memory_equal(in.bp.m_edges, f->bp.m_edges, sizeof f->bp.m_edges);
    for (int k = 1; k < 5; k++) {
        assert_int_equal(in.bp.f_cuts[k].frequency, f->bp.f_cuts[k].frequency);
        assert_memory_equal(in.bp.f_cuts[k].key, f->bp.f_cuts[k].key, f->bp.f_cuts[k].key_len);
    }
    for (int b = 0; b < STORE_MAX_CATEGORIES; b++) {
        const char *a = store_category_name(f->s, b), *c = store_category_name(got, b);
        assert_true((a == NULL) == (c == NULL));
        if (a)
            assert_string_equal(a, c);
    }
    for (size_t i = 0; i < NCUST; i++) {
        const store_customer *a = store_at_const(f->s, i), *b = store_at_const(got, i);
        size_t la, lb;
        const char *ka = store_key(f->s, a, &la), *kb = store_key(got, b, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ka, kb, la);
        store_customer x = *a, y = *b;
        x.key_ref = y.key_ref = 0;
        assert_memory_equal(&x, &y, sizeof x);
        assert_ptr_equal(store_get(got, ka, la), b); /* the index works too */
    }
    /* A re-sent order is still a duplicate after the restore. */
    order o = {0};
    o.order_id = (order_str){"o-9-0", 5};
    o.ts = 1600000000;
    o.amount_cents = 100;
    store_customer *c9 = store_get(got, "0000000009", 10);
    assert_non_null(c9);
    o.customer_id = (order_str){"0000000009", 10};
    uint32_t fr = c9->frequency;
    assert_int_equal(order_apply(got, &o, NULL), ORDER_DUPLICATE);
    assert_int_equal(c9->frequency, fr);
    snapshot_info_free(&in);
    store_free(got);
}

static void test_segments_mapped_by_name(void **state) {
    fx *f = *state;
    char path[512], err[512];
    save(f, 1700000000000, path, sizeof path);
    /* Same names, other order, one missing: indices follow the names. */
    segment_map other;
    segment_map_init(&other, 5);
    assert_int_equal(segment_map_add(&other, "[1-5][1-5]", "champions", err, sizeof err), 0);
    store *got = NULL;
    snapshot_info in;
    assert_int_equal(snapshot_load(path, 0, &other, &got, &in, err, sizeof err), 0);
    int champs = segment_find(&f->map, "champions");
    size_t seen = 0;
    for (size_t i = 0; i < NCUST; i++) {
        const store_customer *a = store_at_const(f->s, i), *b = store_at_const(got, i);
        if (a->segment == champs) {
            assert_int_equal(b->segment, segment_find(&other, "champions"));
            seen++;
        } else {
            assert_int_equal(b->segment, 0);
        }
    }
    assert_true(seen > 0);
    snapshot_info_free(&in);
    store_free(got);
}

static void expect_bad(const char *path, uint64_t fp, const char *reason) {
    char err[512] = "";
    store *got = (store *)0x1;
    snapshot_info in;
    int rc = snapshot_load(path, fp, NULL, &got, &in, err, sizeof err);
    if (rc == 0)
        fail_msg("a bad snapshot loaded (expected: %s)", reason);
    assert_ptr_equal(got, (store *)0x1); /* nothing handed out */
    assert_null(in.offsets);
    if (!strstr(err, reason))
        fail_msg("reason '%s' does not say '%s'", err, reason);
}

static void test_truncated_anywhere(void **state) {
    fx *f = *state;
    char path[512], bad[600];
    save(f, 1700000000000, path, sizeof path);
    size_t len;
    unsigned char *p = slurp(path, &len);
    snprintf(bad, sizeof bad, "%s/cut", f->dir);
    size_t cuts[] = {0, 1, 63, 64, 65, 100, len / 3, len / 2, len - 9, len - 8, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(bad, p, cuts[i]);
        expect_bad(bad, 0, cuts[i] == len - 8 || cuts[i] == len - 1 ? "truncated" : "");
    }
    free(p);
}

static void test_any_bit_flip(void **state) {
    fx *f = *state;
    char path[512], bad[600];
    save(f, 1700000000000, path, sizeof path);
    size_t len;
    unsigned char *p = slurp(path, &len);
    snprintf(bad, sizeof bad, "%s/flip", f->dir);
    /* Every byte of the first 512 (header, meta, offsets, first records),
     * then 150 more spread over the file. */
    size_t tried = 0, stride = len / 150 + 1;
    for (size_t off = 0; off < len; off += off < 512 ? 1 : stride) {
        unsigned char keep = p[off];
        p[off] ^= (unsigned char)(1u << (off % 8));
        spit(bad, p, len);
        expect_bad(bad, 0, "");
        p[off] = keep;
        tried++;
    }
    p[len - 1] ^= 0x80;
    spit(bad, p, len);
    expect_bad(bad, 0, "whole-file checksum");
    assert_true(tried > 600);
    free(p);
}

static void test_version_settings_junk(void **state) {
    fx *f = *state;
    char path[512], bad[600];
    save(f, 1700000000000, path, sizeof path);
    size_t len;
    unsigned char *p = slurp(path, &len);
    snprintf(bad, sizeof bad, "%s/other", f->dir);

    /* Another format version, with a header checksum that matches it. */
    unsigned char *q = malloc(len + 16);
    memcpy(q, p, len);
    q[8] = SNAPSHOT_VERSION + 1;
    spit(bad, q, len);
    expect_bad(bad, 0, "header checksum");
    uint64_t sum = XXH3_64bits(q, 56);
    memcpy(q + 56, &sum, 8);
    spit(bad, q, len);
    char want[64];
    snprintf(want, sizeof want, "format version %d", SNAPSHOT_VERSION + 1);
    expect_bad(bad, 0, want);

    /* Another settings fingerprint: refused when one is asked for. */
    score_settings other = f->st;
    other.bins = 4;
    expect_bad(path, snapshot_fingerprint(&other), "other scoring settings");

    /* Junk after the trailer, and no magic at all. */
    memcpy(q, p, len);
    memcpy(q + len, "trailing garbage", 16);
    spit(bad, q, len + 16);
    expect_bad(bad, 0, "");
    memcpy(q, "NOTASNAP", 8);
    spit(bad, q, len);
    expect_bad(bad, 0, "bad magic");
    expect_bad(f->dir, 0, "not a regular file");
    free(q);
    free(p);
}

static void test_failing_write_keeps_previous(void **state) {
    fx *f = *state;
    char first[512], err[512];
    save(f, 1700000000000, first, sizeof first);
    size_t len0;
    void *before = slurp(first, &len0);

    /* A file size limit makes write(2) fail half-way, as a full disk would. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {.rlim_cur = 100000, .rlim_max = 100000};
        setrlimit(RLIMIT_FSIZE, &rl);
        char path[512];
        snapshot_source src = source(f, 1700000001000);
        int rc = snapshot_save(f->dir, &src, path, sizeof path, err, sizeof err);
        _exit(rc == -1 && strstr(err, "File too large") ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    char **paths;
    size_t n;
    assert_int_equal(snapshot_list(f->dir, &paths, &n, err, sizeof err), 0);
    assert_int_equal(n, 1); /* the failed one left neither a snapshot ... */
    assert_string_equal(paths[0], first);
    snapshot_list_free(paths, n);
    assert_int_equal(snapshot_clean_temps(f->dir), 0); /* ... nor a temporary file */
    size_t len1;
    void *after = slurp(first, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    free(before);
    free(after);

    /* A directory that is not there. */
    char path[512], gone[300];
    snprintf(gone, sizeof gone, "%s/missing", f->dir);
    snapshot_source src = source(f, 1700000002000);
    assert_int_equal(snapshot_save(gone, &src, path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
}

static void test_directory_rules(void **state) {
    fx *f = *state;
    char p1[512], p2[512], p3[512], err[256];
    save(f, 5000, p1, sizeof p1);
    save(f, 5000, p2, sizeof p2); /* same clock reading: still a newer name */
    save(f, 4000, p3, sizeof p3); /* clock stepped back: still newer */
    assert_true(strcmp(p2, p1) > 0);
    assert_true(strcmp(p3, p2) > 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/.rfmd-000000000009999.snap.tmp", f->dir);
    spit(tmp, "x", 1);
    snprintf(tmp, sizeof tmp, "%s/notes.txt", f->dir);
    spit(tmp, "x", 1);

    char **paths;
    size_t n;
    assert_int_equal(snapshot_list(f->dir, &paths, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(paths[0], p3);
    assert_string_equal(paths[2], p1);
    snapshot_list_free(paths, n);

    assert_int_equal(snapshot_prune(f->dir, 2), 1);
    assert_int_equal(access(p1, F_OK), -1);
    assert_int_equal(access(p2, F_OK), 0);
    assert_int_equal(snapshot_clean_temps(f->dir), 1);
    assert_int_equal(access(tmp, F_OK), 0); /* not ours: left alone */
    assert_int_equal(snapshot_list("/nonexistent-rfm-dir", &paths, &n, err, sizeof err), -1);
}

static void test_empty_store(void **state) {
    fx *f = *state;
    store *empty = store_new();
    score_breakpoints none = {0};
    snapshot_source src = source(f, 1);
    src.store = empty;
    src.bp = &none;
    src.noffsets = 0;
    char path[512], err[256];
    assert_int_equal(snapshot_save(f->dir, &src, path, sizeof path, err, sizeof err), 0);
    store *got = NULL;
    snapshot_info in;
    assert_int_equal(snapshot_load(path, 0, NULL, &got, &in, err, sizeof err), 0);
    assert_int_equal(store_count(got), 0);
    assert_int_equal(in.bp.version, 0);
    assert_int_equal(in.noffsets, 0);
    snapshot_info_free(&in);
    store_free(got);
    store_free(empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_mapped_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_bit_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_settings_junk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_write_keeps_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
