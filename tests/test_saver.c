/*
 * saver — per-partition checkpoints (src/rfmd/saver.h) on a temporary
 * snapshot.dir, without Kafka: three partitions written by one forked child
 * and loaded back (customers, input offsets and the changelog entry), a
 * partition saved in-process while the child is outstanding (its newer state
 * wins), fallback past a corrupted newest file, every file corrupted (-2), a
 * partition with no directory or an empty one (0) or a file in its place
 * (-1), other settings (-2), snapshot.keep per partition, old-layout files
 * in the root ignored and left alone, and saver_drop_partition. The saver
 * logs to stderr; the tests assert what it returns and leaves on disk.
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
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rfm/config.h"
#include "rfm/snapshot.h"
#include "rfm/store.h"
#include "rfmd/saver.h"

#define CHANGELOG "rfmd-changelog"

typedef struct fx {
    char root[256];
    config cfg;
    saver *sv;
    score_breakpoints bp;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "%s/rfm-saver-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->root));
    assert_int_equal(config_defaults(&f->cfg), 0);
    free(f->cfg.snapshot.dir);
    f->cfg.snapshot.dir = strdup(f->root);
    f->cfg.snapshot.keep = 3;
    f->sv = saver_new(&f->cfg);
    assert_non_null(f->sv);
    char err[512];
    assert_int_equal(saver_prepare(f->sv, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    saver_free(f->sv);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    config_free(&f->cfg);
    free(f);
    return 0;
}

/* n customers "p<part>-<i>" (tag changes their order totals). */
static store *make_store(int part, int n, int tag) {
    store *s = store_new();
    assert_non_null(s);
    for (int i = 0; i < n; i++) {
        char id[32];
        int len = snprintf(id, sizeof id, "p%d-%d", part, i);
        bool created;
        store_customer *c = store_upsert(s, id, (size_t)len, &created);
        assert_non_null(c);
        c->frequency = 1 + (uint32_t)(i % 4);
        c->first_ts = 1600000000u + (uint32_t)i * 86400u;
        c->last_ts = c->first_ts + 86400u;
        c->monetary_cents = 1000 + i * 7 + tag;
        store_note_ts(s, c->last_ts);
    }
    return s;
}

/* Partition p's input position and changelog position. */
static void make_offsets(snapshot_offset o[2], int p, int64_t base) {
    memset(o, 0, 2 * sizeof *o);
    snprintf(o[0].topic, sizeof o[0].topic, "orders");
    o[0].partition = p;
    o[0].next = base + 100;
    o[0].redo_from = base + 90;
    snprintf(o[1].topic, sizeof o[1].topic, CHANGELOG);
    o[1].partition = p;
    o[1].next = o[1].redo_from = base + 500;
}

static char *part_dir(const fx *f, int p) {
    static char dir[512];
    assert_int_equal(snapshot_partition_dir(f->root, p, dir, sizeof dir), 0);
    return dir;
}

static size_t count_snaps(const fx *f, int p) {
    char **paths, err[256];
    size_t n;
    assert_int_equal(snapshot_list(part_dir(f, p), &paths, &n, err, sizeof err), 0);
    snapshot_list_free(paths, n);
    return n;
}

static void flip_newest(const fx *f, int p, size_t which) {
    char **paths, err[256];
    size_t n;
    assert_int_equal(snapshot_list(part_dir(f, p), &paths, &n, err, sizeof err), 0);
    assert_true(which < n);
    int fd = open(paths[which], O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, 200), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, 200), 1);
    close(fd);
    snapshot_list_free(paths, n);
}

/* Save partition p in-process with n customers. */
static void save_one(fx *f, int p, int n, int64_t base) {
    store *s = make_store(p, n, (int)base);
    snapshot_offset o[2];
    make_offsets(o, p, base);
    saver_part part = {.partition = p, .store = s, .offsets = o, .noffsets = 2};
    assert_int_equal(saver_save_partition(f->sv, &part, &f->bp, "test"), 0);
    store_free(s);
}

/* 1 and the customer count of the loaded checkpoint, or the return value. */
static int load(fx *f, int p, uint64_t *customers, snapshot_info *keep) {
    store *st = NULL;
    snapshot_info info;
    char err[512] = "";
    int rc = saver_load_partition(f->sv, p, &st, &info, err, sizeof err);
    if (rc != 1) {
        assert_null(st);
        if (rc < 0)
            assert_true(err[0]);
        return rc;
    }
    assert_non_null(st);
    assert_int_equal(store_count(st), info.customers);
    *customers = info.customers;
    store_free(st);
    if (keep)
        *keep = info;
    else
        snapshot_info_free(&info);
    return 1;
}

static void test_start_and_load(void **state) {
    fx *f = *state;
    assert_int_equal(saver_start(f->sv, NULL, 0, &f->bp, "none"), 0);
    assert_false(saver_busy(f->sv));
    store *s[3];
    snapshot_offset o[3][2];
    saver_part parts[3];
    for (int p = 0; p < 3; p++) {
        s[p] = make_store(p, 10 * (p + 1), 0);
        make_offsets(o[p], p, 1000 * p);
        parts[p] = (saver_part){.partition = p, .store = s[p], .offsets = o[p], .noffsets = 2};
    }
    assert_int_equal(saver_start(f->sv, parts, 3, &f->bp, "test"), 0);
    assert_true(saver_busy(f->sv));
    assert_int_equal(saver_start(f->sv, parts, 3, &f->bp, "again"), -1); /* one at a time */
    for (int p = 0; p < 3; p++)
        store_free(s[p]); /* the child has its own image */
    assert_int_equal(saver_wait(f->sv, 30000), 1);
    assert_false(saver_busy(f->sv));
    const saver_stats *st = saver_get_stats(f->sv);
    assert_int_equal(st->written, 1);
    assert_int_equal(st->failed, 0);
    assert_true(st->last_bytes > 0);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(count_snaps(f, p), 1);
        uint64_t n;
        snapshot_info info;
        assert_int_equal(load(f, p, &n, &info), 1);
        assert_int_equal(n, 10 * (p + 1));
        assert_int_equal(info.noffsets, 2);
        assert_string_equal(info.offsets[0].topic, "orders");
        assert_int_equal(info.offsets[0].partition, p);
        assert_int_equal(info.offsets[0].next, 1000 * p + 100);
        assert_int_equal(info.offsets[0].redo_from, 1000 * p + 90);
        assert_string_equal(info.offsets[1].topic, CHANGELOG);
        assert_int_equal(info.offsets[1].partition, p);
        assert_int_equal(info.offsets[1].next, 1000 * p + 500);
        assert_int_equal(info.offsets[1].redo_from, 1000 * p + 500);
        snapshot_info_free(&info);
    }
    assert_int_equal(st->restored_customers, 60);
    assert_true(st->restore_ms >= 3);
}

/* A revoke saves partition 1 while the child is outstanding: both succeed,
 * the names never collide, and the newest checkpoint of partition 1 is the
 * revoke's (newer) state whatever order the two renames happened in. */
static void test_save_while_child(void **state) {
    fx *f = *state;
    store *s[3];
    snapshot_offset o[3][2];
    saver_part parts[3];
    for (int p = 0; p < 3; p++) {
        s[p] = make_store(p, p == 1 ? 50000 : 20, 0); /* partition 1 takes a while */
        make_offsets(o[p], p, 0);
        parts[p] = (saver_part){.partition = p, .store = s[p], .offsets = o[p], .noffsets = 2};
    }
    for (int round = 0; round < 3; round++) {
        assert_int_equal(saver_start(f->sv, parts, 3, &f->bp, "interval"), 0);
        assert_true(saver_busy(f->sv));
        save_one(f, 1, 7 + round, 9000 + round); /* the revoke's newer state */
        save_one(f, 2, 3, 9000 + round);
        assert_int_equal(saver_wait(f->sv, 60000), 1);
        uint64_t n;
        assert_int_equal(load(f, 1, &n, NULL), 1);
        assert_int_equal(n, 7 + (uint64_t)round);
        assert_int_equal(load(f, 2, &n, NULL), 1);
        assert_int_equal(n, 3);
        assert_int_equal(load(f, 0, &n, NULL), 1);
        assert_int_equal(n, 20);
    }
    assert_int_equal(saver_get_stats(f->sv)->failed, 0);
    /* No temporary file is left anywhere. */
    for (int p = 0; p < 3; p++)
        assert_int_equal(snapshot_clean_temps(part_dir(f, p)), 0);
    for (int p = 0; p < 3; p++)
        store_free(s[p]);
}

static void test_corrupt_fallback(void **state) {
    fx *f = *state;
    save_one(f, 0, 5, 1);
    save_one(f, 0, 6, 2);
    save_one(f, 0, 7, 3);
    uint64_t n;
    assert_int_equal(load(f, 0, &n, NULL), 1);
    assert_int_equal(n, 7);
    flip_newest(f, 0, 0);
    assert_int_equal(load(f, 0, &n, NULL), 1);
    assert_int_equal(n, 6);
    flip_newest(f, 0, 1);
    flip_newest(f, 0, 2);
    assert_int_equal(load(f, 0, &n, NULL), -2);
    /* No directory, an empty one: a fresh partition. A file in its place:
     * unusable. */
    assert_int_equal(load(f, 9, &n, NULL), 0);
    assert_int_equal(mkdir(part_dir(f, 8), 0750), 0);
    assert_int_equal(load(f, 8, &n, NULL), 0);
    int fd = open(part_dir(f, 7), O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(load(f, 7, &n, NULL), -1);
    /* Other settings: refused by fingerprint. */
    save_one(f, 3, 4, 1);
    f->cfg.scoring.bins = 4;
    assert_int_equal(load(f, 3, &n, NULL), -2);
    f->cfg.scoring.bins = 5;
    assert_int_equal(load(f, 3, &n, NULL), 1);
}

static void test_keep_per_partition(void **state) {
    fx *f = *state;
    f->cfg.snapshot.keep = 2;
    for (int i = 0; i < 4; i++)
        save_one(f, 0, 5 + i, i);
    save_one(f, 1, 5, 0);
    assert_int_equal(count_snaps(f, 0), 2);
    assert_int_equal(count_snaps(f, 1), 1);
    store *s = make_store(1, 3, 0);
    snapshot_offset o[2];
    make_offsets(o, 1, 0);
    saver_part part = {.partition = 1, .store = s, .offsets = o, .noffsets = 2};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(saver_start(f->sv, &part, 1, &f->bp, "interval"), 0);
        assert_int_equal(saver_wait(f->sv, 30000), 1);
    }
    assert_int_equal(count_snaps(f, 0), 2);
    assert_int_equal(count_snaps(f, 1), 2);
    uint64_t n;
    assert_int_equal(load(f, 0, &n, NULL), 1);
    assert_int_equal(n, 8);
    store_free(s);
}

static void test_old_layout_ignored(void **state) {
    fx *f = *state;
    /* An old-layout snapshot in the root, a partition with a killed
     * writer's temporary file. */
    store *s = make_store(0, 4, 0);
    snapshot_source src = {.store = s,
                           .settings = &f->cfg.scoring,
                           .bp = &f->bp,
                           .segments = &f->cfg.segments,
                           .created_ms = 1700000000000};
    char path[512], err[512];
    assert_int_equal(snapshot_save(f->root, &src, path, sizeof path, err, sizeof err), 0);
    save_one(f, 2, 3, 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/.rfmd-000000000000001-1.snap.tmp", part_dir(f, 2));
    int fd = open(tmp, O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    saver *again = saver_new(&f->cfg);
    assert_non_null(again);
    assert_int_equal(saver_prepare(again, err, sizeof err), 0); /* logs the notice */
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* left alone */
    assert_int_not_equal(stat(tmp, &st), 0);
    saver_free(again);
    uint64_t n;
    assert_int_equal(load(f, 0, &n, NULL), 0); /* not loaded as partition 0 */
    assert_int_equal(load(f, 2, &n, NULL), 1);
    assert_int_equal(n, 3);
    store_free(s);
    /* A root that is a file: unusable. */
    char file[600];
    snprintf(file, sizeof file, "%s/plain", f->root);
    fd = open(file, O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    config c2 = f->cfg;
    c2.snapshot.dir = file;
    saver *bad = saver_new(&c2);
    assert_int_equal(saver_prepare(bad, err, sizeof err), -1);
    saver_free(bad);
}

static void test_drop(void **state) {
    fx *f = *state;
    save_one(f, 4, 3, 0);
    save_one(f, 4, 4, 1);
    save_one(f, 5, 4, 1);
    assert_int_equal(saver_drop_partition(f->sv, 4), 2);
    uint64_t n;
    assert_int_equal(load(f, 4, &n, NULL), 0);
    assert_int_equal(load(f, 5, &n, NULL), 1);
    assert_int_equal(saver_drop_partition(f->sv, 4), 0);
    assert_int_equal(saver_drop_partition(f->sv, 11), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_while_child, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_per_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_layout_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
