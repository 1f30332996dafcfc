/*
 * rfmctl — internal interface between the rfmctl dispatcher and its
 * subcommands. Each subcommand lives in its own tools/rfmctl_*.c file and
 * reuses the engine; nothing here re-implements scoring.
 */
#ifndef RFMCTL_H
#define RFMCTL_H

/* Exit codes, sysexits-style so scripts can tell a usage error from bad data. */
#define RFMCTL_OK     0
#define RFMCTL_FAIL   1  /* the command ran and failed (unreadable input, ...) */
#define RFMCTL_USAGE  64 /* bad command line */
#define RFMCTL_CONFIG 78 /* bad configuration file */

int rfmctl_score_main(int argc, char **argv);   /* "score" */
int rfmctl_summary_main(int argc, char **argv); /* "summary" */

#endif
