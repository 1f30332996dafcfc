/*
 * rfmctl snapshot verify|info|dump — look into rfmd's snapshot files without
 * a running daemon, through the same loader rfmd restores with.
 *
 * A directory argument means what rfmd would do with it: verify checks every
 * snapshot in it, info and dump use the newest one that verifies. Scores and
 * segments are printed as the snapshot holds them (as of its last rescore);
 * dump uses the snapshot's own settings and segment names, so it needs no
 * configuration file.
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
                 "one for info and dump.\n");
}

static int is_dir(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

int rfmctl_snapshot_open(const char *arg, store **out, snapshot_info *info, char *path,
                         size_t pathlen) {
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
    int rc = -1;
    for (size_t i = 0; i < n && rc; i++) {
        if (!snapshot_load(paths[i], 0, NULL, out, info, err, sizeof err)) {
            snprintf(path, pathlen, "%s", paths[i]);
            rc = 0;
        } else {
            fprintf(stderr, "rfmctl snapshot: skipping %s: %s\n", paths[i], err);
        }
    }
    if (rc)
        fprintf(stderr, "rfmctl snapshot: no valid snapshot in %s\n", arg);
    snapshot_list_free(paths, n);
    return rc;
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

static int cmd_verify(int argc, char **argv) {
    int bad = 0, seen = 0;
    for (int i = 0; i < argc; i++) {
        if (!is_dir(argv[i])) {
            bad += verify_one(argv[i]);
            seen++;
            continue;
        }
        char **paths, err[1024];
        size_t n;
        if (snapshot_list(argv[i], &paths, &n, err, sizeof err)) {
            fprintf(stderr, "rfmctl snapshot: %s\n", err);
            return RFMCTL_FAIL;
        }
        for (size_t k = 0; k < n; k++)
            bad += verify_one(paths[k]);
        seen += (int)n;
        if (!n)
            printf("%s: no snapshots\n", argv[i]);
        snapshot_list_free(paths, n);
    }
    return bad || !seen ? RFMCTL_FAIL : RFMCTL_OK;
}

static void print_edges(const char *what, const double *e, int n) {
    printf("  %-9s", what);
    for (int k = 0; k < n; k++)
        printf(" %.6g", e[k]);
    printf("\n");
}

static int cmd_info(const char *arg) {
    store *s = NULL;
    snapshot_info in;
    char path[4096];
    if (rfmctl_snapshot_open(arg, &s, &in, path, sizeof path))
        return RFMCTL_FAIL;
    char when[40], newest[16];
    timefmt_rfc3339_ms(in.created_ms, when, sizeof when);
    timefmt_date(in.max_ts, newest, sizeof newest);
    const score_settings *st = &in.settings;
    printf("file:         %s (%" PRIu64 " bytes, format %u)\n", path, in.file_bytes, in.version);
    printf("taken:        %s\n", when);
    printf("customers:    %" PRIu64 "\n", in.customers);
    printf("newest order: %s\n", in.max_ts ? newest : "-");
    printf("settings:     bins %d, tie_break %s, clock %s, as_of_offset_days %d "
           "(fingerprint %016" PRIx64 ")\n",
           st->bins, st->tie_break == SCORE_TIE_FIRST_ORDER ? "first_order" : "customer_id",
           st->clock == SCORE_CLOCK_WALL ? "wall" : "event", st->as_of_offset_days, in.fingerprint);
    printf("offsets:      %zu partition(s)\n", in.noffsets);
    for (size_t i = 0; i < in.noffsets; i++) {
        const snapshot_offset *o = &in.offsets[i];
        printf("  %s [%d] next %" PRId64, o->topic, (int)o->partition, o->next);
        if (o->redo_from < o->next)
            printf(" (events of %" PRId64 "..%" PRId64 " are re-published on restore)",
                   o->redo_from, o->next - 1);
        printf("\n");
    }
    if (in.bp.version) {
        char as_of[16];
        timefmt_date(in.bp.as_of, as_of, sizeof as_of);
        printf("breakpoints:  version %" PRIu64 ", as of %s, over %zu customers\n", in.bp.version,
               as_of, in.bp.customers);
        print_edges("recency", in.bp.r_edges, in.bp.bins + 1);
        print_edges("frequency", in.bp.f_edges, in.bp.bins + 1);
        print_edges("monetary", in.bp.m_edges, in.bp.bins + 1);
    } else {
        printf("breakpoints:  none yet (no rescore before this snapshot)\n");
    }
    printf("segments:    ");
    for (int i = 1; i <= in.nsegments; i++)
        printf(" %s", in.segments[i]);
    printf("\n");
    snapshot_info_free(&in);
    store_free(s);
    return RFMCTL_OK;
}

static int cmd_dump(const char *arg) {
    store *s = NULL;
    snapshot_info in;
    char path[4096];
    if (rfmctl_snapshot_open(arg, &s, &in, path, sizeof path))
        return RFMCTL_FAIL;
    const char *names[SEGMENT_MAX + 1];
    for (int i = 0; i <= SEGMENT_MAX; i++)
        names[i] = in.segments[i <= in.nsegments ? i : 0];
    int64_t as_of = in.bp.version ? in.bp.as_of : score_as_of(&in.settings, s, 0);
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    int rc = rfmctl_print_table(stdout, &in.settings, as_of, s, names);
    snapshot_info_free(&in);
    store_free(s);
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
