/*
 * rfmctl — internal interface between the rfmctl dispatcher and its
 * subcommands. Each subcommand lives in its own tools/rfmctl_*.c file and
 * reuses the engine; nothing here re-implements scoring.
 */
#ifndef RFMCTL_H
#define RFMCTL_H

#include <stdint.h>
#include <stdio.h>

#include "rfm/score.h"
#include "rfm/store.h"

/* Exit codes, sysexits-style so scripts can tell a usage error from bad data. */
#define RFMCTL_OK     0
#define RFMCTL_FAIL   1  /* the command ran and failed (unreadable input, ...) */
#define RFMCTL_USAGE  64 /* bad command line */
#define RFMCTL_CONFIG 78 /* bad configuration file */

int rfmctl_score_main(int argc, char **argv);    /* "score" */
int rfmctl_summary_main(int argc, char **argv);  /* "summary" */
int rfmctl_snapshot_main(int argc, char **argv); /* "snapshot" */

/* Print the SPEC §6 table of every scored customer in tie order; recency
 * as of `as_of`; segment_names[i] names segment index i. 0 or -1. */
int rfmctl_print_table(FILE *out, const score_settings *st, int64_t as_of, const store *s,
                       const char *const *segment_names);

#endif
