/*
 * fuzz_snapshot — snapshot_load on arbitrary files.
 *
 * A snapshot is read back after crashes, disk trouble and version mix-ups, and
 * snapshot.c promises that even a hand-made file with valid checksums is
 * decoded without trusting any length in it. Random bytes, though, never get
 * past the checksums, so each input is loaded twice:
 *  - as it is, for the framing and checksum checks;
 *  - with every checksum it has room for recomputed (header, each block it
 *    can walk, the whole file), which is the hand-made file: the mutations
 *    then reach the block decoders and the store they build.
 * The loader only reads from a path (it maps the file), so the input goes
 * into a memory-backed file once per load.
 *
 * A file that loads is written back with snapshot_write and must load again
 * with the same customers: what the loader accepts, the writer must be able
 * to save, or the next periodic snapshot of that state would be unreadable.
 */
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fuzz.h"
#include "rfm/snapshot.h"

/* The layout constants of include/rfm/snapshot.h, as the file has them. */
#define HEADER_SIZE 64
#define BLOCK_HEAD  16
#define BLOCK_SUM   8
#define BLOCK_END   0x454e44u

static void put_sum(unsigned char *at, const unsigned char *from, size_t n) {
    uint64_t sum = XXH3_64bits(from, n);
    memcpy(at, &sum, 8);
}

/* Recompute the checksums of p in place, as far as its framing allows. */
static void fix_checksums(unsigned char *p, size_t size) {
    if (size < HEADER_SIZE)
        return;
    put_sum(p + 56, p, 56);
    size_t off = HEADER_SIZE;
    for (;;) {
        if (size - off < BLOCK_HEAD + BLOCK_SUM)
            return;
        uint32_t type;
        uint64_t len;
        memcpy(&type, p + off, 4);
        memcpy(&len, p + off + 8, 8);
        if (len > size - off - BLOCK_HEAD - BLOCK_SUM)
            return;
        put_sum(p + off + BLOCK_HEAD + len, p + off, BLOCK_HEAD + len);
        off += BLOCK_HEAD + len + BLOCK_SUM;
        if (type == BLOCK_END)
            break;
    }
    if (size - off == BLOCK_SUM)
        put_sum(p + off, p, off);
}

static void round_trip(store *s, const snapshot_info *in, const segment_map *map) {
    snapshot_source src = {
        .store = s,
        .settings = &in->settings,
        .bp = &in->bp,
        .segments = map,
        .offsets = in->offsets,
        .noffsets = in->noffsets,
        .created_ms = in->created_ms,
    };
    char err[512];
    const char *path = fuzz_file(1, "", 0);
    if (snapshot_write(path, &src, err, sizeof err)) {
        fprintf(stderr, "a loaded snapshot does not write back: %s\n", err);
        abort();
    }
    store *again = NULL;
    snapshot_info in2;
    if (snapshot_load(path, snapshot_fingerprint(&in->settings), map, &again, &in2, err,
                      sizeof err)) {
        fprintf(stderr, "a loaded snapshot, written back, does not load: %s\n", err);
        abort();
    }
    FUZZ_CHECK(store_count(again) == store_count(s));
    FUZZ_CHECK(in2.noffsets == in->noffsets);
    snapshot_info_free(&in2);
    store_free(again);
}

static void load(const void *data, size_t size, const segment_map *map) {
    const char *path = fuzz_file(0, data, size);
    store *s = NULL;
    snapshot_info in;
    char err[512] = "";
    if (snapshot_load(path, 0, map, &s, &in, err, sizeof err)) {
        FUZZ_CHECK(err[0] && !s && !in.offsets);
        return;
    }
    FUZZ_CHECK(s && store_count(s) == in.customers);
    round_trip(s, &in, map);
    snapshot_info_free(&in);
    store_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static segment_map map;
    if (!map.bins)
        segment_map_default(&map, 5);
    load(data, size, &map);
    unsigned char *fixed = malloc(size ? size : 1);
    FUZZ_CHECK(fixed);
    memcpy(fixed, data, size);
    fix_checksums(fixed, size);
    if (memcmp(fixed, data, size))
        load(fixed, size, &map);
    free(fixed);
    return 0;
}
