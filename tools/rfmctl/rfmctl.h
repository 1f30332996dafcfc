/*
 * rfmctl — internal interface between the rfmctl dispatcher and its
 * subcommands. Each subcommand lives in its own tools/rfmctl_*.c file and
 * reuses the engine; nothing here re-implements scoring.
 */
#ifndef RFMCTL_H
#define RFMCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rfm/config.h"
#include "rfm/order.h"
#include "rfm/reader.h"
#include "rfm/score.h"
#include "rfm/segment_totals.h"
#include "rfm/snapshot.h"
#include "rfm/store.h"

/* Exit codes, sysexits-style so scripts can tell a usage error from bad data. */
#define RFMCTL_OK     0
#define RFMCTL_FAIL   1  /* the command ran and failed (unreadable input, ...) */
#define RFMCTL_USAGE  64 /* bad command line */
#define RFMCTL_CONFIG 78 /* bad configuration file */

int rfmctl_score_main(int argc, char **argv);    /* "score" */
int rfmctl_summary_main(int argc, char **argv);  /* "summary" */
int rfmctl_snapshot_main(int argc, char **argv); /* "snapshot" */
int rfmctl_report_main(int argc, char **argv);   /* "report" */
int rfmctl_audience_main(int argc, char **argv); /* "audience" */

/* --- batch scoring shared by every command that reads order files
 * (rfmctl_score.c) --- */

/* A command's own long option taking a value. */
typedef struct rfmctl_opt {
    const char *name;
    const char **value;
} rfmctl_opt;

typedef struct rfmctl_cmd {
    const char *name;
    const char *synopsis;   /* after "rfmctl NAME"; NULL = the batch one */
    const char *prints;     /* ends "scores every customer ... and prints " */
    const char *help;       /* help lines of its own options, or NULL */
    const rfmctl_opt *opts; /* its own options, {0}-terminated, or NULL */
    const char *format;     /* default --format; NULL = required */
} rfmctl_cmd;

typedef struct rfmctl_batch {
    config cfg;
    reader_options ropt;
    const char *format; /* as given, NULL when none */
    char **files;
    int nfiles;
    store *st;
    score_breakpoints bp;
    uint64_t results[ORDER_INVALID + 1];
} rfmctl_batch;

/* Parse the command line into b (settings, format, files). RFMCTL_OK, -1
 * after --help, or an exit code after a message. */
int rfmctl_batch_parse(rfmctl_batch *b, const rfmctl_cmd *cmd, int argc, char **argv);
/* Read b->files into a fresh store and score it. RFMCTL_OK or an exit code. */
int rfmctl_batch_load(rfmctl_batch *b, const rfmctl_cmd *cmd);
void rfmctl_batch_free(rfmctl_batch *b);
void rfmctl_batch_usage(FILE *out, const rfmctl_cmd *cmd);

/* --- snapshots (rfmctl_snapshot.c) --- */

/* What a snapshot argument stands for: a FILE; the newest valid snapshot of
 * an old-layout DIR; or, for a DIR with partition-<N> subdirectories, the
 * newest valid snapshot of every partition that has any (n of them). */
typedef struct rfmctl_snapset {
    size_t n;
    store **stores;       /* [n], owned */
    snapshot_info *infos; /* [n] */
    char **paths;         /* [n]: the file each was loaded from */
    int32_t *partitions;  /* [n]: its partition, -1 when not partitioned */
    bool partitioned;
    /* Opened with `partial`: the partitions that have snapshot files and
     * none valid (each reason printed), not among the n. */
    int32_t *unusable;
    size_t nunusable;
    /* The one whose settings, segment names and breakpoints speak for the
     * set: the highest breakpoints version (all share settings and names). */
    size_t head;
} rfmctl_snapset;

/* Open arg as above. Every loaded snapshot must have the same settings
 * fingerprint and segment names. A partition with files and none valid
 * fails the open — the set would lack its customers — unless `partial`
 * (info, which describes what is there): then it goes to `unusable`. 0, or
 * -1 after a message (nothing to free); -1 also when no snapshot at all is
 * valid. */
int rfmctl_snapset_open(const char *arg, bool partial, rfmctl_snapset *set);
void rfmctl_snapset_free(rfmctl_snapset *set);

/* The recency reference of the set: the head's breakpoints' as_of, or when
 * none was ever computed, score_as_of_set over all stores. */
int64_t rfmctl_snapset_as_of(const rfmctl_snapset *set);

/* names[i] = the head's name of segment index i, for every index. */
void rfmctl_snapset_names(const rfmctl_snapset *set, const char *names[SEGMENT_MAX + 1]);

/* --- tables (rfmctl_table.c) --- */

/* names[i] = the map's name of segment index i, for every index. */
void rfmctl_segment_names(const segment_map *m, const char *names[SEGMENT_MAX + 1]);

/* Print the SPEC §6 table of every scored customer in tie order; recency
 * as of `as_of`; segment_names[i] names segment index i. 0 or -1. */
int rfmctl_print_table(FILE *out, const score_settings *st, int64_t as_of, const store *s,
                       const char *const *segment_names);

/* The same table for every customer of stores[0..nstores) (ids unique across
 * them): the bytes one store holding them all prints. 0 or -1. */
int rfmctl_print_table_set(FILE *out, const score_settings *st, int64_t as_of,
                           const store *const *stores, size_t nstores,
                           const char *const *segment_names);

/* segment_totals (who counts: include/rfm/segment_totals.h) into acc; segs
 * receives the segments that have customers, by name (as the seeds'
 * groupby("segment") prints them). Returns how many. */
int rfmctl_segment_stats(const store *s, int64_t as_of, const char *const *names,
                         segment_total acc[SEGMENT_MAX + 1], uint8_t segs[SEGMENT_MAX + 1]);

/* rfmctl_segment_stats over every customer of stores[0..nstores). */
int rfmctl_segment_stats_set(const store *const *stores, size_t nstores, int64_t as_of,
                             const char *const *names, segment_total acc[SEGMENT_MAX + 1],
                             uint8_t segs[SEGMENT_MAX + 1]);

/* --- report (rfmctl_report.c, rfmctl_report_html.c) --- */

typedef struct rfmctl_report {
    const char *source; /* what was read, for the reader of the report */
    int bins;
    int64_t as_of;
    uint64_t customers;
    const char *names[SEGMENT_MAX + 1];
    segment_total acc[SEGMENT_MAX + 1];
    uint8_t order[SEGMENT_MAX + 1];
    int nseg;
    uint64_t grid[SEGMENT_BINS_MAX + 1][SEGMENT_BINS_MAX + 1];    /* [r][f] customers */
    const char *cell[SEGMENT_BINS_MAX + 1][SEGMENT_BINS_MAX + 1]; /* [r][f] segment */
} rfmctl_report;

/* The report as one self-contained HTML page. 0, or -1 on a write error. */
int rfmctl_report_html(FILE *out, const rfmctl_report *r);

#endif
