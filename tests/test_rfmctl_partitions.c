/*
 * rfmctl snapshot verify|info|dump and report --snapshot on a partitioned
 * snapshot directory (<dir>/partition-<N>/, rfmd's per-partition
 * checkpoints) against one snapshot of a single store holding every
 * customer: the FLO seed data (../shared/data/flo_data_20k.csv) split over
 * three partition stores by a hash of the id, scored with breakpoints of the
 * set (bit for bit the single store's). The dump of the directory must be
 * byte-identical to the single snapshot's, for both tie breaks; report's
 * figures identical but for the source line; info's total "customers:" line
 * the single one's; verify lists every file of every partition. Old-layout
 * files beside the partitions, an empty partition directory and a corrupted
 * older file change none of that (verify reports the bad one). A partition
 * whose every file is bad: dump refuses naming it; info describes the
 * others, names it and exits 1.
 *
 * Needs RFM_SHARED and RFM_BIN (ctest sets them): rfmctl is $RFM_BIN/rfmctl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flo_raw.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/snapshot.h"
#include "rfm/store.h"

#define NPART 3

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put(store *s, const flo_raw_row *row) {
    bool created = false;
    store_customer *r = store_upsert(s, row->id, row->id_len, &created);
    assert_non_null(r);
    assert_true(created);
    r->frequency = row->frequency;
    r->first_ts = row->first_ts;
    r->last_ts = row->last_ts;
    r->monetary_cents = row->cents;
    store_note_ts(s, row->last_ts);
}

/* The whole file into ref, and by id hash into parts[]. */
static size_t load_flo(store *ref, store *parts[NPART]) {
    char line[1024];
    FILE *f = flo_raw_open(line, sizeof line);
    size_t n = 0;
    flo_raw_row row;
    while (flo_raw_next(f, line, sizeof line, &row)) {
        put(ref, &row);
        put(parts[fnv1a(row.id, row.id_len) % NPART], &row);
        n++;
    }
    fclose(f);
    return n;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void save(const char *dir, const store *s, const score_settings *st,
                 const score_breakpoints *bp, const segment_map *map, int p, int64_t created) {
    snapshot_offset o[2] = {0};
    snprintf(o[0].topic, sizeof o[0].topic, "orders");
    o[0].partition = p;
    o[0].next = 1000 + p;
    o[0].redo_from = 990 + p;
    snprintf(o[1].topic, sizeof o[1].topic, "rfmd-changelog");
    o[1].partition = p;
    o[1].next = o[1].redo_from = 5000 + p;
    snapshot_source src = {.store = s,
                           .settings = st,
                           .bp = bp,
                           .segments = map,
                           .offsets = o,
                           .noffsets = p < 0 ? 0 : 2,
                           .created_ms = created};
    char path[4096], err[512];
    mkdir(dir, 0750);
    if (snapshot_save(dir, &src, path, sizeof path, err, sizeof err))
        fail_msg("snapshot_save %s: %s", dir, err);
}

static void one_tie_break(score_tie_break tie) {
    const char *bin = getenv("RFM_BIN");
    assert_non_null(bin);
    assert_non_null(getenv("RFM_SHARED"));
    char root[256];
    snprintf(root, sizeof root, "%s/rfm-ctlparts-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(root));

    score_settings st;
    score_settings_default(&st);
    st.tie_break = tie;
    segment_map map;
    segment_map_default(&map, 5);
    store *ref = store_new(), *parts[NPART];
    for (int p = 0; p < NPART; p++)
        assert_non_null(parts[p] = store_new());
    size_t n = load_flo(ref, parts);
    assert_int_equal(n, 19945);
    score_breakpoints bp, bps;
    assert_int_equal(score_breakpoints_compute(&st, ref, 0, 6, &bp), 0);
    assert_int_equal(
        score_breakpoints_compute_set(&st, (const store *const *)parts, NPART, 0, 6, &bps), 0);
    assert_memory_equal(bp.r_edges, bps.r_edges, sizeof bp.r_edges);
    score_rescore_all(&st, &bp, &map, ref, NULL, NULL);
    for (int p = 0; p < NPART; p++)
        score_rescore_all(&st, &bps, &map, parts[p], NULL, NULL);

    char single[400], part[400], dir[512];
    snprintf(single, sizeof single, "%s/single", root);
    snprintf(part, sizeof part, "%s/parts", root);
    save(single, ref, &st, &bp, &map, -1, 1700000000000);
    mkdir(part, 0750);
    /* Beside the partitions: an old-layout file of partition 0 only, and an
     * empty partition directory; neither may count. */
    save(part, parts[0], &st, &bp, &map, -1, 1700000009000);
    snprintf(dir, sizeof dir, "%s/partition-7", part);
    assert_int_equal(mkdir(dir, 0750), 0);
    for (int p = 0; p < NPART; p++) {
        assert_int_equal(snapshot_partition_dir(part, p, dir, sizeof dir), 0);
        /* An older checkpoint (another state: partition 0's customers), then
         * the newest. */
        save(dir, parts[0], &st, &bp, &map, p, 1700000000000);
        save(dir, parts[p], &st, &bps, &map, p, 1700000001000 + p);
    }

    /* dump: byte for byte. */
    assert_int_equal(sh("'%s/rfmctl' snapshot dump '%s' > '%s/a.csv'", bin, single, root), 0);
    assert_int_equal(sh("'%s/rfmctl' snapshot dump '%s' > '%s/b.csv'", bin, part, root), 0);
    assert_int_equal(sh("cmp '%s/a.csv' '%s/b.csv'", root, root), 0);
    assert_int_equal(sh("test $(wc -l < '%s/b.csv') -eq %zu", root, n + 1), 0);
    /* report: the same figures, another source. */
    assert_int_equal(
        sh("'%s/rfmctl' report --snapshot '%s' | tail -n +2 > '%s/a.txt'", bin, single, root), 0);
    assert_int_equal(
        sh("'%s/rfmctl' report --snapshot '%s' | tail -n +2 > '%s/b.txt'", bin, part, root), 0);
    assert_int_equal(sh("cmp '%s/a.txt' '%s/b.txt'", root, root), 0);
    assert_int_equal(sh("'%s/rfmctl' report --snapshot '%s' | head -1 | grep -q '^%zu customers "
                        "as of .*(3 partition snapshots in parts)'",
                        bin, part, n),
                     0);
    /* info: the total, each partition, its changelog entry. */
    assert_int_equal(sh("'%s/rfmctl' snapshot info '%s' > '%s/info.txt'", bin, part, root), 0);
    assert_int_equal(sh("grep -qx 'customers: *%zu' '%s/info.txt'", n, root), 0);
    assert_int_equal(sh("grep -c '^customers:' '%s/info.txt' | grep -qx 1", root), 0);
    assert_int_equal(sh("grep -c '^partition [0-2]:$' '%s/info.txt' | grep -qx 3", root), 0);
    assert_int_equal(
        sh("awk '/^  customers:/ { t += $2 } END { exit t != %zu }' '%s/info.txt'", n, root), 0);
    assert_int_equal(sh("grep -c '^    rfmd-changelog \\[[0-2]\\] next 500[0-2]$' '%s/info.txt' | "
                        "grep -qx 3",
                        root),
                     0);
    assert_int_equal(sh("grep -c 'are re-published on restore' '%s/info.txt' | grep -qx 3", root),
                     0);
    /* verify: every file of every partition, not the old-layout one. */
    assert_int_equal(sh("'%s/rfmctl' snapshot verify '%s' > '%s/v.txt'", bin, part, root), 0);
    assert_int_equal(sh("grep -c '/partition-[0-2]/rfmd-[0-9]*\\.snap: OK (' '%s/v.txt' | "
                        "grep -qx %d",
                        root, 2 * NPART),
                     0);
    assert_int_equal(sh("grep -q 'partition-7: no snapshots' '%s/v.txt'", root), 0);
    assert_int_equal(sh("grep -q '1 snapshot(s) of the old layout' '%s/v.txt'", root), 0);
    /* A corrupted older file: verify fails and names it; dump is unchanged. */
    assert_int_equal(sh("f=$(ls '%s'/partition-1/rfmd-*.snap | head -1) && "
                        "printf 'X' | dd of=\"$f\" bs=1 seek=300 conv=notrunc status=none",
                        part),
                     0);
    assert_int_equal(sh("'%s/rfmctl' snapshot verify '%s' > '%s/v.txt'", bin, part, root), 1);
    assert_int_equal(sh("grep -c ': BAD: ' '%s/v.txt' | grep -qx 1", root), 0);
    assert_int_equal(sh("'%s/rfmctl' snapshot dump '%s' | cmp - '%s/a.csv'", bin, part, root), 0);
    /* A partition whose every file is bad: dump refuses. */
    assert_int_equal(sh("for f in '%s'/partition-2/rfmd-*.snap; do printf 'X' | dd of=\"$f\" bs=1 "
                        "seek=300 conv=notrunc status=none; done",
                        part),
                     0);
    assert_int_equal(
        sh("'%s/rfmctl' snapshot dump '%s' > /dev/null 2>'%s/dump.err'", bin, part, root), 1);
    assert_int_equal(sh("grep -q 'no valid snapshot in .*/partition-2' '%s/dump.err'", root), 0);
    /* ... info still describes the other two, names it, and exits 1. */
    assert_int_equal(
        sh("'%s/rfmctl' snapshot info '%s' > '%s/info.txt' 2>/dev/null", bin, part, root), 1);
    assert_int_equal(sh("grep -q '(2 partitions with a snapshot, 1 with no valid one)' "
                        "'%s/info.txt'",
                        root),
                     0);
    assert_int_equal(sh("grep -c '^partition [01]:$' '%s/info.txt' | grep -qx 2", root), 0);
    assert_int_equal(
        sh("grep -A1 '^partition 2:$' '%s/info.txt' | grep -q 'no valid snapshot'", root), 0);
    assert_int_equal(sh("awk '/^  customers:/ { t += $2 } /^customers:/ { c = $2 } "
                        "END { exit !(t > 0 && t == c && c < %zu) }' '%s/info.txt'",
                        n, root),
                     0);

    assert_int_equal(sh("rm -rf '%s'", root), 0);
    store_free(ref);
    for (int p = 0; p < NPART; p++)
        store_free(parts[p]);
}

static void test_customer_id(void **state) {
    (void)state;
    one_tie_break(SCORE_TIE_CUSTOMER_ID);
}

static void test_first_order(void **state) {
    (void)state;
    one_tie_break(SCORE_TIE_FIRST_ORDER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_customer_id),
        cmocka_unit_test(test_first_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
