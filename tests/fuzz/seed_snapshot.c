/*
 * seed_snapshot — writes the snapshot seeds of tests/fuzz/corpus/snapshot:
 *
 *   seed_snapshot DIR
 *
 * The seeds must be real snapshot_write output, or the fuzzer would spend its
 * time rediscovering the format, and small, so each mutation is cheap. Three
 * files cover what the decoder branches on: a scored store under the default
 * settings, an empty store that was never scored (no breakpoints), and other
 * settings (3 bins, first_order tie break, wall clock) with a custom map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/order.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/snapshot.h"
#include "rfm/store.h"

static void add(store *s, const char *cid, const char *oid, int64_t ts, int64_t cents,
                const char *chan, const char *cat) {
    order_str c = {cat, cat ? strlen(cat) : 0};
    order o = {
        .customer_id = {cid, strlen(cid)},
        .order_id = {oid, strlen(oid)},
        .ts = ts,
        .amount_cents = cents,
        .channel = {chan ? chan : "", chan ? strlen(chan) : 0},
        .categories = cat ? &c : NULL,
        .ncategories = cat ? 1 : 0,
    };
    if (order_apply(s, &o, NULL) == ORDER_INVALID) {
        fprintf(stderr, "seed_snapshot: order %s refused\n", oid);
        exit(1);
    }
}

static void fill(store *s) {
    static const char *const chans[] = {"Android App", "Offline", "Desktop", NULL};
    static const char *const cats[] = {"KADIN", "ERKEK", "COCUK", NULL};
    for (int i = 0; i < 12; i++) {
        char cid[48], oid[32];
        snprintf(cid, sizeof cid, "%.*s%d", 1 + i * 3, "cc294636-19f0-11eb-8d74-000d3a38a36f", i);
        for (int k = 0; k <= i % 4; k++) {
            snprintf(oid, sizeof oid, "o-%d-%d", i, k);
            add(s, cid, oid, 1600000000 + i * 86400 * 9 + k * 3600, 1999 + i * 1234 + k,
                chans[(i + k) % 4], cats[i % 4]);
        }
    }
    add(s, "c0", "o-0-0", 1600000000, 1999, NULL, NULL);      /* a duplicate */
    add(s, "c1", "o-1-0", 1600086400, -500, "Offline", NULL); /* a refund */
}

static void write_seed(const char *dir, const char *name, store *s, const score_settings *st,
                       const segment_map *map, const snapshot_offset *offs, size_t noffs) {
    score_breakpoints bp;
    memset(&bp, 0, sizeof bp);
    if (store_count(s)) {
        if (score_breakpoints_compute(st, s, 1700000000, 1, &bp)) {
            fprintf(stderr, "seed_snapshot: breakpoints failed\n");
            exit(1);
        }
        score_rescore_all(st, &bp, map, s, NULL, NULL);
    }
    snapshot_source src = {.store = s,
                           .settings = st,
                           .bp = &bp,
                           .segments = map,
                           .offsets = offs,
                           .noffsets = noffs,
                           .created_ms = 1700000000123};
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (snapshot_write(path, &src, err, sizeof err)) {
        fprintf(stderr, "seed_snapshot: %s\n", err);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: seed_snapshot DIR\n");
        return 2;
    }
    snapshot_offset offs[2] = {{"orders", 0, 42, 40}, {"more.orders", 3, 7, 7}};
    score_settings st;
    segment_map map;

    store *s = store_new();
    fill(s);
    score_settings_default(&st);
    segment_map_default(&map, st.bins);
    write_seed(argv[1], "scored.snap", s, &st, &map, offs, 2);
    store_free(s);

    s = store_new();
    write_seed(argv[1], "empty.snap", s, &st, &map, NULL, 0);
    store_free(s);

    s = store_new();
    fill(s);
    st.bins = 3;
    st.tie_break = SCORE_TIE_FIRST_ORDER;
    st.clock = SCORE_CLOCK_WALL;
    st.as_of_offset_days = 0;
    char err[256];
    segment_map_init(&map, 3);
    if (segment_map_add(&map, "[1-2][1-3]", "low", err, sizeof err) ||
        segment_map_add(&map, "3[1-2]", "mid", err, sizeof err) ||
        segment_map_add(&map, "33", "top", err, sizeof err)) {
        fprintf(stderr, "seed_snapshot: %s\n", err);
        return 1;
    }
    write_seed(argv[1], "bins3.snap", s, &st, &map, offs, 1);
    store_free(s);
    return 0;
}
