/*
 * rfmctl snapshot verify|info|dump — look into rfmd's snapshot files without
 * a running daemon, through the same loader rfmd restores with.
 *
 * A directory argument means what rfmd would do with it: verify checks every
 * snapshot in it, info and dump use the newest one that verifies. Scores and
 * segments are printed as the snapshot holds them (as of its last rescore);
 * dump uses the snapshot's own settings and segment names, so it needs no
 * configuration file.
 *
 * A directory with partition-<N> subdirectories (rfmd's per-partition
 * checkpoints: one store per input partition) stands for all of them: verify
 * checks every file of every partition, info describes the newest valid one
 * of each and the totals (a partition with files and none valid is named,
 * the others still described, and info exits 1), dump prints their union as
 * one table (refused when a partition has no valid file) — the bytes
 * one store holding every customer prints (rfmctl_print_table_set). Old
 * layout files beside the partition directories are not read (rfmd ignores
 * them too); a directory with only those behaves as before.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rfm/snapshot.h"
#include "rfm/timefmt.h"
#include "rfmctl.h"

static void usage(FILE *out) {
    fprintf(out, "usage: rfmctl snapshot verify FILE|DIR...\n"
                 "       rfmctl snapshot info FILE|DIR\n"
                 "       rfmctl snapshot dump FILE|DIR\n"
                 "\n"
                 "  verify  check header, every block checksum and the whole-file checksum;\n"
                 "          prints OK or the reason per file; exit 1 if any is bad\n"
                 "  info    when taken, customers, input offsets, breakpoints\n"
                 "  dump    the segment table (customer_id,recency,frequency,monetary,r,f,m,\n"
                 "          segment) of the snapshot's state, in tie order\n"
                 "\n"
                 "A DIR stands for its snapshots: all of them for verify, the newest valid\n"
                 "one for info and dump. A DIR with partition-<N> subdirectories stands for\n"
                 "every partition: verify checks all their files, info describes the newest\n"
                 "valid snapshot of each and the totals, dump prints their union as one table.\n"
                 "A partition with snapshots and none valid: info names it and exits 1, dump\n"
                 "refuses (its customers would be missing).\n");
}

static int is_dir(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

/* Load FILE, or the newest valid snapshot of dir; path receives which. 0,
 * -1 after a message, -2 (no message) when dir holds no snapshot file. */
static int open_one(const char *arg, store **out, snapshot_info *info, char *path, size_t pathlen) {
    char err[1024];
    if (!is_dir(arg)) {
        snprintf(path, pathlen, "%s", arg);
        if (!snapshot_load(arg, 0, NULL, out, info, err, sizeof err))
            return 0;
        fprintf(stderr, "rfmctl snapshot: %s: %s\n", arg, err);
        return -1;
    }
    char **paths;
    size_t n;
    if (snapshot_list(arg, &paths, &n, err, sizeof err)) {
        fprintf(stderr, "rfmctl snapshot: %s\n", err);
        return -1;
    }
    int rc = n ? -1 : -2;
    for (size_t i = 0; i < n && rc; i++) {
        if (!snapshot_load(paths[i], 0, NULL, out, info, err, sizeof err)) {
            snprintf(path, pathlen, "%s", paths[i]);
            rc = 0;
        } else {
            fprintf(stderr, "rfmctl snapshot: skipping %s: %s\n", paths[i], err);
        }
    }
    if (rc == -1)
        fprintf(stderr, "rfmctl snapshot: no valid snapshot in %s\n", arg);
    snapshot_list_free(paths, n);
    return rc;
}

/* The partitions of a partitioned dir (NULL, 0 when it is none). -1 after a
 * message. */
static int partitions_of(const char *arg, int32_t **parts, size_t *n) {
    *parts = NULL;
    *n = 0;
    if (!is_dir(arg))
        return 0;
    char err[1024];
    if (snapshot_list_partitions(arg, parts, n, err, sizeof err)) {
        fprintf(stderr, "rfmctl snapshot: %s\n", err);
        return -1;
    }
    return 0;
}

void rfmctl_snapset_free(rfmctl_snapset *set) {
    for (size_t i = 0; i < set->n; i++) {
        store_free(set->stores[i]);
        snapshot_info_free(&set->infos[i]);
        free(set->paths[i]);
    }
    free(set->stores);
    free(set->infos);
    free(set->paths);
    free(set->partitions);
    free(set->unusable);
    memset(set, 0, sizeof *set);
}

/* Settings and names every snapshot of a set must share. */
static int same_kind(const snapshot_info *a, const snapshot_info *b) {
    if (a->fingerprint != b->fingerprint || a->nsegments != b->nsegments)
        return 0;
    for (int i = 0; i <= a->nsegments; i++)
        if (strcmp(a->segments[i], b->segments[i]))
            return 0;
    return 1;
}

int rfmctl_snapset_open(const char *arg, bool partial, rfmctl_snapset *set) {
    memset(set, 0, sizeof *set);
    int32_t *parts;
    size_t np;
    if (partitions_of(arg, &parts, &np))
        return -1;
    size_t cap = np ? np : 1;
    set->stores = calloc(cap, sizeof *set->stores);
    set->infos = calloc(cap, sizeof *set->infos);
    set->paths = calloc(cap, sizeof *set->paths);
    set->partitions = calloc(cap, sizeof *set->partitions);
    set->unusable = calloc(cap, sizeof *set->unusable);
    set->partitioned = np > 0;
    if (!set->stores || !set->infos || !set->paths || !set->partitions || !set->unusable) {
        fprintf(stderr, "rfmctl snapshot: out of memory\n");
        free(parts);
        rfmctl_snapset_free(set);
        return -1;
    }
    char path[4096];
    int rc = 0;
    if (!np) {
        rc = open_one(arg, &set->stores[0], &set->infos[0], path, sizeof path);
        if (rc == -2)
            fprintf(stderr, "rfmctl snapshot: no valid snapshot in %s\n", arg);
        if (!rc) {
            set->paths[0] = strdup(path);
            set->partitions[0] = -1;
            set->n = 1;
        }
    }
    for (size_t i = 0; i < np && !rc; i++) {
        char dir[4096];
        size_t k = set->n;
        if (snapshot_partition_dir(arg, parts[i], dir, sizeof dir)) {
            fprintf(stderr, "rfmctl snapshot: %s: directory name too long\n", arg);
            rc = -1;
            break;
        }
        rc = open_one(dir, &set->stores[k], &set->infos[k], path, sizeof path);
        if (rc == -2) {
            fprintf(stderr, "rfmctl snapshot: note: %s has no snapshot\n", dir);
            rc = 0;
            continue;
        }
        if (rc == -1 && partial) {
            set->unusable[set->nunusable++] = parts[i];
            rc = 0;
            continue;
        }
        if (rc)
            break;
        set->paths[k] = strdup(path);
        set->partitions[k] = parts[i];
        set->n++;
        if (!same_kind(&set->infos[0], &set->infos[k])) {
            fprintf(stderr,
                    "rfmctl snapshot: %s and %s were written under different settings or "
                    "segment names: they do not make one state\n",
                    set->paths[0], set->paths[k]);
            rc = -1;
        }
        if (set->infos[k].bp.version > set->infos[set->head].bp.version)
            set->head = k;
    }
    free(parts);
    if (!rc && !set->n) {
        fprintf(stderr, "rfmctl snapshot: no valid snapshot in %s\n", arg);
        rc = -1;
    }
    for (size_t k = 0; !rc && k < set->n; k++)
        if (!set->paths[k]) {
            fprintf(stderr, "rfmctl snapshot: out of memory\n");
            rc = -1;
        }
    if (rc) {
        rfmctl_snapset_free(set);
        return -1;
    }
    return 0;
}

int64_t rfmctl_snapset_as_of(const rfmctl_snapset *set) {
    const snapshot_info *h = &set->infos[set->head];
    if (h->bp.version)
        return h->bp.as_of;
    return score_as_of_set(&h->settings, (const store *const *)set->stores, set->n, 0);
}

void rfmctl_snapset_names(const rfmctl_snapset *set, const char *names[SEGMENT_MAX + 1]) {
    const snapshot_info *h = &set->infos[set->head];
    for (int i = 0; i <= SEGMENT_MAX; i++)
        names[i] = h->segments[i <= h->nsegments ? i : 0];
}

static int verify_one(const char *path) {
    char err[1024];
    snapshot_info info;
    if (snapshot_load(path, 0, NULL, NULL, &info, err, sizeof err)) {
        printf("%s: BAD: %s\n", path, err);
        return 1;
    }
    printf("%s: OK (%" PRIu64 " customers, %" PRIu64 " bytes)\n", path, info.customers,
           info.file_bytes);
    snapshot_info_free(&info);
    return 0;
}

/* Every snapshot file of one plain directory; *seen counts them. -1 after
 * a message when it cannot be listed, else how many are bad. */
static int verify_dir(const char *dir, int *seen) {
    char **paths, err[1024];
    size_t n;
    if (snapshot_list(dir, &paths, &n, err, sizeof err)) {
        fprintf(stderr, "rfmctl snapshot: %s\n", err);
        return -1;
    }
    int bad = 0;
    for (size_t k = 0; k < n; k++)
        bad += verify_one(paths[k]);
    *seen += (int)n;
    if (!n)
        printf("%s: no snapshots\n", dir);
    snapshot_list_free(paths, n);
    return bad;
}

static int cmd_verify(int argc, char **argv) {
    int bad = 0, seen = 0;
    for (int i = 0; i < argc; i++) {
        if (!is_dir(argv[i])) {
            bad += verify_one(argv[i]);
            seen++;
            continue;
        }
        int32_t *parts;
        size_t np;
        if (partitions_of(argv[i], &parts, &np))
            return RFMCTL_FAIL;
        if (!np) {
            int b = verify_dir(argv[i], &seen);
            if (b < 0)
                return RFMCTL_FAIL;
            bad += b;
            continue;
        }
        for (size_t k = 0; k < np; k++) {
            char dir[4096];
            int b = snapshot_partition_dir(argv[i], parts[k], dir, sizeof dir)
                        ? -1
                        : verify_dir(dir, &seen);
            if (b < 0) {
                free(parts);
                return RFMCTL_FAIL;
            }
            bad += b;
        }
        free(parts);
        char **old, err[1024];
        size_t nold;
        if (!snapshot_list(argv[i], &old, &nold, err, sizeof err) && nold)
            printf("%s: %zu snapshot(s) of the old layout beside the partitions, not checked "
                   "(rfmd ignores them)\n",
                   argv[i], nold);
        snapshot_list_free(old, nold);
    }
    return bad || !seen ? RFMCTL_FAIL : RFMCTL_OK;
}

static void print_edges(const char *what, const double *e, int n) {
    printf("  %-9s", what);
    for (int k = 0; k < n; k++)
        printf(" %.6g", e[k]);
    printf("\n");
}

static void print_offsets(const char *indent, const snapshot_info *in) {
    printf("%soffsets:%s%zu partition(s)\n", indent, *indent ? "    " : "      ", in->noffsets);
    for (size_t i = 0; i < in->noffsets; i++) {
        const snapshot_offset *o = &in->offsets[i];
        printf("%s  %s [%d] next %" PRId64, indent, o->topic, (int)o->partition, o->next);
        if (o->redo_from < o->next)
            printf(" (events of %" PRId64 "..%" PRId64 " are re-published on restore)",
                   o->redo_from, o->next - 1);
        printf("\n");
    }
}

/* One partition of a partitioned dir, indented under its heading. */
static void print_partition(const rfmctl_snapset *set, size_t k) {
    const snapshot_info *in = &set->infos[k];
    char when[40], newest[16];
    timefmt_rfc3339_ms(in->created_ms, when, sizeof when);
    timefmt_date(in->max_ts, newest, sizeof newest);
    printf("partition %d:\n", (int)set->partitions[k]);
    printf("  file:       %s (%" PRIu64 " bytes, format %u)\n", set->paths[k], in->file_bytes,
           in->version);
    printf("  taken:      %s\n", when);
    printf("  customers:  %" PRIu64 "\n", in->customers);
    printf("  newest order: %s\n", in->max_ts ? newest : "-");
    printf("  breakpoints: version %" PRIu64 "\n", in->bp.version);
    print_offsets("  ", in);
}

static int cmd_info(const char *arg) {
    rfmctl_snapset set;
    if (rfmctl_snapset_open(arg, true, &set))
        return RFMCTL_FAIL;
    const snapshot_info *h = &set.infos[set.head];
    uint64_t customers = 0;
    uint32_t max_ts = 0;
    for (size_t k = 0; k < set.n; k++) {
        customers += set.infos[k].customers;
        if (set.infos[k].max_ts > max_ts)
            max_ts = set.infos[k].max_ts;
    }
    char when[40], newest[16];
    timefmt_date(max_ts, newest, sizeof newest);
    if (set.partitioned) {
        printf("directory:    %s (%zu partitions with a snapshot", arg, set.n);
        if (set.nunusable)
            printf(", %zu with no valid one", set.nunusable);
        printf(")\n");
        for (size_t k = 0; k < set.n; k++)
            print_partition(&set, k);
        for (size_t k = 0; k < set.nunusable; k++)
            printf("partition %d:\n  no valid snapshot (reasons above): not counted below; rfmd "
                   "rebuilds it from the changelog, or refuses to start without one\n",
                   (int)set.unusable[k]);
    } else {
        timefmt_rfc3339_ms(h->created_ms, when, sizeof when);
        printf("file:         %s (%" PRIu64 " bytes, format %u)\n", set.paths[0], h->file_bytes,
               h->version);
        printf("taken:        %s\n", when);
    }
    const score_settings *st = &h->settings;
    printf("customers:    %" PRIu64 "\n", customers);
    printf("newest order: %s\n", max_ts ? newest : "-");
    printf("settings:     bins %d, tie_break %s, clock %s, as_of_offset_days %d "
           "(fingerprint %016" PRIx64 ")\n",
           st->bins, st->tie_break == SCORE_TIE_FIRST_ORDER ? "first_order" : "customer_id",
           st->clock == SCORE_CLOCK_WALL ? "wall" : "event", st->as_of_offset_days, h->fingerprint);
    if (!set.partitioned)
        print_offsets("", h);
    if (h->bp.version) {
        char as_of[16];
        timefmt_date(h->bp.as_of, as_of, sizeof as_of);
        printf("breakpoints:  version %" PRIu64 ", as of %s, over %zu customers%s\n", h->bp.version,
               as_of, h->bp.customers, set.partitioned ? " (the newest of the partitions)" : "");
        print_edges("recency", h->bp.r_edges, h->bp.bins + 1);
        print_edges("frequency", h->bp.f_edges, h->bp.bins + 1);
        print_edges("monetary", h->bp.m_edges, h->bp.bins + 1);
    } else {
        printf("breakpoints:  none yet (no rescore before this snapshot)\n");
    }
    printf("segments:    ");
    for (int i = 1; i <= h->nsegments; i++)
        printf(" %s", h->segments[i]);
    printf("\n");
    /* What is there is described; that a partition is not, fails. */
    int rc = set.nunusable ? RFMCTL_FAIL : RFMCTL_OK;
    rfmctl_snapset_free(&set);
    return rc;
}

static int cmd_dump(const char *arg) {
    rfmctl_snapset set;
    if (rfmctl_snapset_open(arg, false, &set))
        return RFMCTL_FAIL;
    const char *names[SEGMENT_MAX + 1];
    rfmctl_snapset_names(&set, names);
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    int rc =
        rfmctl_print_table_set(stdout, &set.infos[set.head].settings, rfmctl_snapset_as_of(&set),
                               (const store *const *)set.stores, set.n, names);
    rfmctl_snapset_free(&set);
    return rc ? RFMCTL_FAIL : RFMCTL_OK;
}

int rfmctl_snapshot_main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? RFMCTL_USAGE : RFMCTL_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "verify") && argc >= 3)
        return cmd_verify(argc - 2, argv + 2);
    if (!strcmp(cmd, "info") && argc == 3)
        return cmd_info(argv[2]);
    if (!strcmp(cmd, "dump") && argc == 3)
        return cmd_dump(argv[2]);
    fprintf(stderr, "rfmctl snapshot: expected verify FILE|DIR..., info FILE|DIR or dump "
                    "FILE|DIR\n");
    usage(stderr);
    return RFMCTL_USAGE;
}
