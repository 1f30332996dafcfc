/*
 * snapshot — the customer state on disk, in the spirit of Redis' RDB file:
 * written whole from a consistent view of the store, into a temporary file
 * that is fsynced and renamed into place, so a reader sees either the old
 * snapshot or the complete new one, never a torn one.
 *
 * A snapshot holds everything needed to continue exactly where it was taken:
 * the scoring settings (and a fingerprint of them), the newest order time,
 * the interned category/channel names, the segment names, the breakpoints,
 * every customer record with its id (dedup fingerprints included, so a
 * re-sent order is still recognised after a restart), and — supplied by the
 * caller, since the engine knows nothing of Kafka — the input position the
 * state corresponds to: for every topic-partition, the next offset to read.
 *
 * File layout (little-endian; format version SNAPSHOT_VERSION):
 *
 *   header  64 bytes: magic "RFMDSNAP", version, header size, created (unix
 *           ms), settings fingerprint, customers, 8 reserved, XXH3-64 of the
 *           first 56 bytes
 *   blocks  each: type u32, count u32, payload length u64, payload, XXH3-64
 *           of those 16 header bytes and the payload
 *             META      settings, newest order time, names, breakpoints
 *             OFFSETS   count x (topic, partition, next offset, redo from)
 *             CUSTOMERS up to SNAPSHOT_BLOCK_CUSTOMERS records each
 *             END       customers and blocks written (count check)
 *   trailer XXH3-64 of every byte before it
 *
 * A loader checks the header, every block and the whole file before it
 * touches a store, then builds a fresh store; the caller's state is only
 * replaced when everything succeeded ("never loaded half-way").
 */
#ifndef RFM_SNAPSHOT_H
#define RFM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"

#define SNAPSHOT_VERSION         2
#define SNAPSHOT_BLOCK_CUSTOMERS 65536
#define SNAPSHOT_TOPIC_MAX       255 /* Kafka allows 249 */

typedef struct snapshot_offset {
    char topic[SNAPSHOT_TOPIC_MAX + 1];
    int32_t partition;
    int64_t next; /* every message below it is in the state */
    /* Messages in [redo_from, next) are in the state, but what they caused
     * (segment events, dead-letter copies) may not have been delivered when
     * the snapshot was taken: whoever restores it re-reads them to publish
     * again, without applying them again. redo_from == next: nothing to redo. */
    int64_t redo_from;
} snapshot_offset;

/* What a snapshot is written from. */
typedef struct snapshot_source {
    const store *store;
    const score_settings *settings;
    const score_breakpoints *bp;
    const segment_map *segments;
    const snapshot_offset *offsets;
    size_t noffsets;
    int64_t created_ms; /* unix ms */
} snapshot_source;

/* What a snapshot says about itself (snapshot_load fills it). */
typedef struct snapshot_info {
    uint32_t version;
    int64_t created_ms;
    uint64_t fingerprint;
    uint64_t customers;
    uint64_t file_bytes;
    score_settings settings; /* as_of_fixed is 0 */
    uint32_t max_ts;
    score_breakpoints bp;
    int nsegments; /* segment names at write time, [0] = unclassified */
    char segments[SEGMENT_MAX + 1][SEGMENT_NAME_MAX + 1];
    snapshot_offset *offsets; /* owned; snapshot_info_free */
    size_t noffsets;
} snapshot_info;

/* The settings a snapshot's state depends on (bins, tie break, clock,
 * as_of offset, record layout, dedup window) as one number: a snapshot
 * written under other settings is refused rather than misread. */
uint64_t snapshot_fingerprint(const score_settings *st);

/* Write src to exactly `path` (created or truncated) and fsync it. 0, or -1
 * with a reason in err. The caller publishes it (snapshot_save does). */
int snapshot_write(const char *path, const snapshot_source *src, char *err, size_t errlen);

/* Verify and read `path`. With want_fingerprint != 0 a snapshot of other
 * settings is refused. With out != NULL a new store is built and handed
 * over; segment indices are mapped by name onto `map` (when not NULL; names
 * the map lacks become 0, unclassified, until the next rescore). On failure
 * nothing is allocated or handed out. 0, or -1 with the reason in err. */
int snapshot_load(const char *path, uint64_t want_fingerprint, const segment_map *map, store **out,
                  snapshot_info *info, char *err, size_t errlen);

void snapshot_info_free(snapshot_info *info);

/* --- snapshot directories (snapshot_dir.c) ---
 * Files are named rfmd-<created unix ms, 15 digits>.snap, so name order is
 * age order; a snapshot in progress is a hidden .tmp file beside them, named
 * after its writer's pid too (.rfmd-<ms>-<pid>.snap.tmp).
 *
 * Partitioned layout (one store per input partition): <root>/partition-<N>/
 * (N decimal, no padding) is partition N's own snapshot directory. */

/* Write src into dir under a fresh name: temporary file, fsync, rename,
 * fsync of the directory. path receives the final name. The name is never
 * older than the newest one present, and an existing snapshot is never
 * replaced (a name another writer took meanwhile moves this one to the next
 * stamp), so two processes may save into one dir at once. 0 or -1 (err). */
int snapshot_save(const char *dir, const snapshot_source *src, char *path, size_t pathlen,
                  char *err, size_t errlen);

/* Snapshot files in dir, newest first, as full paths (caller frees with
 * snapshot_list_free). 0, or -1 with err (dir unreadable). */
int snapshot_list(const char *dir, char ***paths, size_t *n, char *err, size_t errlen);
void snapshot_list_free(char **paths, size_t n);

/* Delete all but the newest `keep` snapshots; returns how many went. */
int snapshot_prune(const char *dir, int keep);

/* Remove temporary files a killed writer left behind; returns how many.
 * Only while no writer works in dir: it does not tell a live writer's file
 * from a dead one's. */
int snapshot_clean_temps(const char *dir);

/* buf = <root>/partition-<partition>. 0, or -1 when it does not fit or the
 * partition is negative. */
int snapshot_partition_dir(const char *root, int32_t partition, char *buf, size_t len);

/* The partitions that have a directory under root (partition-<N> entries
 * that are directories, N canonical decimal within int32), ascending, into a
 * malloc'd *parts (caller frees; NULL when none). 0, or -1 with err (root
 * unreadable, out of memory). */
int snapshot_list_partitions(const char *root, int32_t **parts, size_t *n, char *err,
                             size_t errlen);

#endif
