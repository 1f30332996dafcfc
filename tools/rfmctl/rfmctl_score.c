/*
 * rfmctl score / summary — the batch scorer.
 *
 * Reads order files into a fresh store with the same order_apply the daemon
 * uses, computes breakpoints once and rescores everyone: the daemon's end
 * state for the same orders, whatever order they come in. That makes
 * `rfmctl score` both the analysts' tool and the reference the daemon's tests
 * compare against.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/config.h"
#include "rfm/money.h"
#include "rfm/order.h"
#include "rfm/reader.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/store.h"
#include "rfm/timefmt.h"
#include "rfmctl.h"

#define MAX_CMD_OPTS 8

static const struct option batch_opts[] = {{"format", required_argument, 0, 'f'},
                                           {"as-of", required_argument, 0, 'a'},
                                           {"tie-break", required_argument, 0, 't'},
                                           {"bins", required_argument, 0, 'b'},
                                           {"config", required_argument, 0, 'c'},
                                           {"refunds", no_argument, 0, 'R'},
                                           {"help", no_argument, 0, 'h'}};
#define NBATCH_OPTS (sizeof batch_opts / sizeof batch_opts[0])

void rfmctl_batch_usage(FILE *out, const rfmctl_cmd *cmd) {
    char fmt_note[64] = "required";
    if (cmd->format)
        snprintf(fmt_note, sizeof fmt_note, "default: %s", cmd->format);
    fprintf(out,
            "usage: rfmctl %s %s\n"
            "\n"
            "Reads historical orders (FILE may be '-' for stdin, '.gz' is decompressed),\n"
            "scores every customer as the daemon would and prints\n%s.\n"
            "\n"
            "%s"
            "  -f, --format FMT       flo | retail | jsonl (%s)\n"
            "  -a, --as-of DATE       score as of this day (YYYY-MM-DD) instead of the\n"
            "                         newest order's day + scoring.as_of_offset_days\n"
            "  -t, --tie-break MODE   customer_id | first_order (default: config or customer_id)\n"
            "  -b, --bins N           number of bins (default: config or 5)\n"
            "  -c, --config FILE      rfmd.yaml to take scoring, segments and fields from\n"
            "      --refunds          retail: cancellation invoices ('C...') become refunds\n"
            "  -h, --help             this text\n",
            cmd->name,
            cmd->synopsis ? cmd->synopsis : "--format flo|retail|jsonl [OPTIONS] FILE...",
            cmd->prints, cmd->help ? cmd->help : "", fmt_note);
}

static int emit_order(void *ctx, const order *o) {
    rfmctl_batch *b = ctx;
    order_result r = order_apply(b->st, o, NULL);
    if (r == ORDER_INVALID && errno == ENOMEM) {
        fprintf(stderr, "rfmctl: out of memory\n");
        return -1;
    }
    b->results[r]++;
    return 0;
}

int rfmctl_batch_parse(rfmctl_batch *b, const rfmctl_cmd *cmd, int argc, char **argv) {
    const char *name = cmd->name;
    struct option opts[NBATCH_OPTS + MAX_CMD_OPTS + 1] = {{0}};
    memcpy(opts, batch_opts, sizeof batch_opts);
    size_t nown = 0;
    for (; cmd->opts && cmd->opts[nown].name && nown < MAX_CMD_OPTS; nown++)
        opts[NBATCH_OPTS + nown] =
            (struct option){cmd->opts[nown].name, required_argument, 0, 256 + (int)nown};
    const char *as_of = NULL, *tie = NULL, *bins = NULL, *cfgpath = NULL;
    bool refunds = false;
    int ch;
    b->format = cmd->format;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "f:a:t:b:c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            b->format = optarg;
            break;
        case 'a':
            as_of = optarg;
            break;
        case 't':
            tie = optarg;
            break;
        case 'b':
            bins = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'R':
            refunds = true;
            break;
        case 'h':
            rfmctl_batch_usage(stdout, cmd);
            return -1;
        default:
            if (ch >= 256 && ch < 256 + (int)nown) {
                *cmd->opts[ch - 256].value = optarg;
                break;
            }
            rfmctl_batch_usage(stderr, cmd);
            return RFMCTL_USAGE;
        }
    }
    b->files = argv + optind;
    b->nfiles = argc - optind;
    /* No format is only an error once files are to be read (rfmctl_batch_load). */
    int fmt = b->format ? reader_format_parse(b->format) : READER_JSONL;
    if (fmt < 0) {
        fprintf(stderr, "rfmctl %s: unknown format '%s' (use flo, retail or jsonl)\n", name,
                b->format);
        return RFMCTL_USAGE;
    }

    char err[512];
    if (cfgpath ? config_load(&b->cfg, cfgpath, err, sizeof err) : config_defaults(&b->cfg)) {
        fprintf(stderr, "rfmctl %s: %s\n", name, cfgpath ? err : "out of memory");
        return cfgpath ? RFMCTL_CONFIG : RFMCTL_FAIL;
    }
    score_settings *ss = &b->cfg.scoring;
    if (tie) {
        if (!strcmp(tie, "customer_id"))
            ss->tie_break = SCORE_TIE_CUSTOMER_ID;
        else if (!strcmp(tie, "first_order"))
            ss->tie_break = SCORE_TIE_FIRST_ORDER;
        else {
            fprintf(stderr, "rfmctl %s: --tie-break must be customer_id or first_order\n", name);
            return RFMCTL_USAGE;
        }
    }
    if (bins) {
        char *end;
        long n = strtol(bins, &end, 10);
        if (*end || n < 2 || n > SCORE_BINS_MAX) {
            fprintf(stderr, "rfmctl %s: --bins must be 2..%d\n", name, SCORE_BINS_MAX);
            return RFMCTL_USAGE;
        }
        if (n != ss->bins) {
            ss->bins = (int)n;
            segment_map_default(&b->cfg.segments, ss->bins);
            if (ss->bins != 5 && b->cfg.segments.nrules == 0)
                fprintf(stderr,
                        "rfmctl %s: note: the default segment map is for 5 bins; "
                        "segments are 'unclassified' unless --config gives rules\n",
                        name);
        }
    }
    if (as_of) {
        int64_t t;
        if (timefmt_parse_rfc3339(as_of, strlen(as_of), &t)) {
            fprintf(stderr, "rfmctl %s: --as-of '%s' is not a date (YYYY-MM-DD)\n", name, as_of);
            return RFMCTL_USAGE;
        }
        ss->as_of_fixed = t;
    }
    b->ropt = (reader_options){.format = (reader_format)fmt,
                               .cancellations_as_refunds = refunds,
                               .fields = &b->cfg.fields};
    return RFMCTL_OK;
}

int rfmctl_batch_load(rfmctl_batch *b, const rfmctl_cmd *cmd) {
    const char *name = cmd->name;
    if (!b->format || !b->nfiles) {
        fprintf(stderr, "rfmctl %s: %s\n", name,
                !b->format ? "--format is required" : "no input file given");
        rfmctl_batch_usage(stderr, cmd);
        return RFMCTL_USAGE;
    }
    b->st = store_new();
    if (!b->st) {
        fprintf(stderr, "rfmctl %s: out of memory\n", name);
        return RFMCTL_FAIL;
    }
    char err[512];
    for (int i = 0; i < b->nfiles; i++) {
        reader_stats rs = {0};
        if (reader_read_file(b->files[i], &b->ropt, emit_order, b, &rs, err, sizeof err)) {
            fprintf(stderr, "rfmctl %s: %s\n", name, err);
            return RFMCTL_FAIL;
        }
        fprintf(stderr, "rfmctl: %s: %llu lines, %llu orders, %llu skipped, %llu bad\n",
                b->files[i], (unsigned long long)rs.lines, (unsigned long long)rs.orders,
                (unsigned long long)rs.skipped, (unsigned long long)rs.bad);
    }
    score_settings *ss = &b->cfg.scoring;
    if (score_breakpoints_compute(ss, b->st, 0, 0, &b->bp)) {
        fprintf(stderr, "rfmctl %s: out of memory while scoring\n", name);
        return RFMCTL_FAIL;
    }
    score_rescore_all(ss, &b->bp, &b->cfg.segments, b->st, NULL, NULL);
    char day[16];
    timefmt_date(b->bp.as_of, day, sizeof day);
    fprintf(stderr,
            "rfmctl: %zu customers scored as of %s (%llu orders, %llu refunds, %llu duplicates, "
            "%llu refunds of unknown customers)\n",
            b->bp.customers, day, (unsigned long long)b->results[ORDER_APPLIED],
            (unsigned long long)b->results[ORDER_REFUNDED],
            (unsigned long long)b->results[ORDER_DUPLICATE],
            (unsigned long long)b->results[ORDER_REFUND_UNKNOWN]);
    return RFMCTL_OK;
}

void rfmctl_batch_free(rfmctl_batch *b) {
    store_free(b->st);
    config_free(&b->cfg);
}

/* Parse and load: the whole of a command that only reads order files. */
static int batch_run(rfmctl_batch *b, const rfmctl_cmd *cmd, int argc, char **argv) {
    int rc = rfmctl_batch_parse(b, cmd, argc, argv);
    return rc ? rc : rfmctl_batch_load(b, cmd);
}

static const rfmctl_cmd score_cmd = {
    .name = "score", .prints = "the segment table (customer_id,recency,...,segment)"};
static const rfmctl_cmd summary_cmd = {
    .name = "summary", .prints = "per segment: customers, mean recency, frequency, monetary"};

int rfmctl_score_main(int argc, char **argv) {
    rfmctl_batch b = {0};
    int rc = batch_run(&b, &score_cmd, argc, argv);
    if (rc) {
        rfmctl_batch_free(&b);
        return rc < 0 ? RFMCTL_OK : rc;
    }
    /* A large stdio buffer: the table is the whole output. */
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    const char *names[SEGMENT_MAX + 1];
    rfmctl_segment_names(&b.cfg.segments, names);
    rc = rfmctl_print_table(stdout, &b.cfg.scoring, b.bp.as_of, b.st, names);
    rfmctl_batch_free(&b);
    return rc ? RFMCTL_FAIL : RFMCTL_OK;
}

int rfmctl_summary_main(int argc, char **argv) {
    rfmctl_batch b = {0};
    int rc = batch_run(&b, &summary_cmd, argc, argv);
    if (rc) {
        rfmctl_batch_free(&b);
        return rc < 0 ? RFMCTL_OK : rc;
    }
    const char *names[SEGMENT_MAX + 1];
    rfmctl_segment_names(&b.cfg.segments, names);
    segment_total acc[SEGMENT_MAX + 1];
    uint8_t segs[SEGMENT_MAX + 1];
    int nseg = rfmctl_segment_stats(b.st, b.bp.as_of, names, acc, segs);
    printf("segment,customers,recency_mean,frequency_mean,monetary_mean\n");
    for (int i = 0; i < nseg; i++) {
        const segment_total *a = &acc[segs[i]];
        double n = (double)a->count;
        printf("%s,%llu,%.2f,%.2f,%.2f\n", names[segs[i]], (unsigned long long)a->count,
               (double)a->recency_days / n, (double)a->frequency / n, (double)a->cents / 100.0 / n);
    }
    rfmctl_batch_free(&b);
    return RFMCTL_OK;
}
