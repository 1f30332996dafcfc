/*
 * rfmctl — the batch and inspection front end of rfmd. This file only
 * dispatches to a subcommand; see rfmctl.h.
 */
#include <stdio.h>
#include <string.h>

#include "rfmctl.h"

#ifndef RFM_VERSION
#define RFM_VERSION "0.1.0"
#endif

static const struct {
    const char *name;
    int (*main)(int, char **);
    const char *help;
} commands[] = {
    {"score", rfmctl_score_main, "score order files and print the segment table"},
    {"summary", rfmctl_summary_main, "per segment: customers and mean recency/frequency/monetary"},
    {"snapshot", rfmctl_snapshot_main, "verify, describe or dump rfmd snapshot files"},
    {"report", rfmctl_report_main, "segment table and R x F grid, as text and as an HTML page"},
    {"audience", rfmctl_audience_main,
     "campaign list: customers by segment, category, order value"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: rfmctl COMMAND [OPTIONS] ...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n'rfmctl COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return RFMCTL_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return RFMCTL_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("rfmctl %s\n", RFM_VERSION);
        return RFMCTL_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "rfmctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RFMCTL_USAGE;
}
