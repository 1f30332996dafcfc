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

typedef struct batch {
    config cfg;
    reader_options ropt;
    store *st;
    score_breakpoints bp;
    uint64_t results[ORDER_INVALID + 1];
} batch;

static void batch_usage(FILE *out, const char *cmd) {
    fprintf(out,
            "usage: rfmctl %s --format flo|retail|jsonl [OPTIONS] FILE...\n"
            "\n"
            "Reads historical orders (FILE may be '-' for stdin, '.gz' is decompressed),\n"
            "scores every customer as the daemon would and prints %s.\n"
            "\n"
            "  -f, --format FMT       flo | retail | jsonl (required)\n"
            "  -a, --as-of DATE       score as of this day (YYYY-MM-DD) instead of the\n"
            "                         newest order's day + scoring.as_of_offset_days\n"
            "  -t, --tie-break MODE   customer_id | first_order (default: config or customer_id)\n"
            "  -b, --bins N           number of bins (default: config or 5)\n"
            "  -c, --config FILE      rfmd.yaml to take scoring, segments and fields from\n"
            "      --refunds          retail: cancellation invoices ('C...') become refunds\n"
            "  -h, --help             this text\n",
            cmd,
            strcmp(cmd, "score") ? "per segment: customers, mean recency, frequency, monetary"
                                 : "the segment table (customer_id,recency,...,segment)");
}

static int emit_order(void *ctx, const order *o) {
    batch *b = ctx;
    order_result r = order_apply(b->st, o, NULL);
    if (r == ORDER_INVALID && errno == ENOMEM) {
        fprintf(stderr, "rfmctl: out of memory\n");
        return -1;
    }
    b->results[r]++;
    return 0;
}

/* Parse options, load files, score. Returns an exit code; RFMCTL_OK leaves a
 * scored store in b. */
static int batch_run(batch *b, const char *cmd, int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"as-of", required_argument, 0, 'a'},
                                         {"tie-break", required_argument, 0, 't'},
                                         {"bins", required_argument, 0, 'b'},
                                         {"config", required_argument, 0, 'c'},
                                         {"refunds", no_argument, 0, 'R'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *format = NULL, *as_of = NULL, *tie = NULL, *bins = NULL, *cfgpath = NULL;
    bool refunds = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "f:a:t:b:c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            format = optarg;
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
            batch_usage(stdout, cmd);
            return -1;
        default:
            batch_usage(stderr, cmd);
            return RFMCTL_USAGE;
        }
    }
    if (!format || optind >= argc) {
        fprintf(stderr, "rfmctl %s: %s\n", cmd,
                !format ? "--format is required" : "no input file given");
        batch_usage(stderr, cmd);
        return RFMCTL_USAGE;
    }
    int fmt = reader_format_parse(format);
    if (fmt < 0) {
        fprintf(stderr, "rfmctl %s: unknown format '%s' (use flo, retail or jsonl)\n", cmd, format);
        return RFMCTL_USAGE;
    }

    char err[512];
    if (cfgpath ? config_load(&b->cfg, cfgpath, err, sizeof err) : config_defaults(&b->cfg)) {
        fprintf(stderr, "rfmctl %s: %s\n", cmd, cfgpath ? err : "out of memory");
        return cfgpath ? RFMCTL_CONFIG : RFMCTL_FAIL;
    }
    score_settings *ss = &b->cfg.scoring;
    if (tie) {
        if (!strcmp(tie, "customer_id"))
            ss->tie_break = SCORE_TIE_CUSTOMER_ID;
        else if (!strcmp(tie, "first_order"))
            ss->tie_break = SCORE_TIE_FIRST_ORDER;
        else {
            fprintf(stderr, "rfmctl %s: --tie-break must be customer_id or first_order\n", cmd);
            return RFMCTL_USAGE;
        }
    }
    if (bins) {
        char *end;
        long n = strtol(bins, &end, 10);
        if (*end || n < 2 || n > SCORE_BINS_MAX) {
            fprintf(stderr, "rfmctl %s: --bins must be 2..%d\n", cmd, SCORE_BINS_MAX);
            return RFMCTL_USAGE;
        }
        if (n != ss->bins) {
            ss->bins = (int)n;
            segment_map_default(&b->cfg.segments, ss->bins);
            if (ss->bins != 5 && b->cfg.segments.nrules == 0)
                fprintf(stderr,
                        "rfmctl %s: note: the default segment map is for 5 bins; "
                        "segments are 'unclassified' unless --config gives rules\n",
                        cmd);
        }
    }
    if (as_of) {
        int64_t t;
        if (timefmt_parse_rfc3339(as_of, strlen(as_of), &t)) {
            fprintf(stderr, "rfmctl %s: --as-of '%s' is not a date (YYYY-MM-DD)\n", cmd, as_of);
            return RFMCTL_USAGE;
        }
        ss->as_of_fixed = t;
    }

    b->ropt = (reader_options){.format = (reader_format)fmt,
                               .cancellations_as_refunds = refunds,
                               .fields = &b->cfg.fields};
    b->st = store_new();
    if (!b->st) {
        fprintf(stderr, "rfmctl %s: out of memory\n", cmd);
        return RFMCTL_FAIL;
    }
    for (int i = optind; i < argc; i++) {
        reader_stats rs = {0};
        if (reader_read_file(argv[i], &b->ropt, emit_order, b, &rs, err, sizeof err)) {
            fprintf(stderr, "rfmctl %s: %s\n", cmd, err);
            return RFMCTL_FAIL;
        }
        fprintf(stderr, "rfmctl: %s: %llu lines, %llu orders, %llu skipped, %llu bad\n", argv[i],
                (unsigned long long)rs.lines, (unsigned long long)rs.orders,
                (unsigned long long)rs.skipped, (unsigned long long)rs.bad);
    }
    if (score_breakpoints_compute(ss, b->st, 0, 0, &b->bp)) {
        fprintf(stderr, "rfmctl %s: out of memory while scoring\n", cmd);
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

static void batch_free(batch *b) {
    store_free(b->st);
    config_free(&b->cfg);
}

int rfmctl_score_main(int argc, char **argv) {
    batch b = {0};
    int rc = batch_run(&b, "score", argc, argv);
    if (rc) {
        batch_free(&b);
        return rc < 0 ? RFMCTL_OK : rc;
    }
    /* A large stdio buffer: the table is the whole output. */
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    const char *names[SEGMENT_MAX + 1];
    for (int i = 0; i <= SEGMENT_MAX; i++)
        names[i] = segment_name(&b.cfg.segments, (uint8_t)i);
    rc = rfmctl_print_table(stdout, &b.cfg.scoring, b.bp.as_of, b.st, names);
    batch_free(&b);
    return rc ? RFMCTL_FAIL : RFMCTL_OK;
}

/* Integer sums, so the means do not depend on the order customers are met. */
typedef struct seg_acc {
    uint64_t count, recency, frequency;
    int64_t cents;
} seg_acc;

static int by_name(const void *a, const void *b, void *map) {
    const segment_map *m = map;
    return strcmp(segment_name(m, *(const uint8_t *)a), segment_name(m, *(const uint8_t *)b));
}

int rfmctl_summary_main(int argc, char **argv) {
    batch b = {0};
    int rc = batch_run(&b, "summary", argc, argv);
    if (rc) {
        batch_free(&b);
        return rc < 0 ? RFMCTL_OK : rc;
    }
    seg_acc acc[SEGMENT_MAX + 1] = {0};
    for (size_t i = 0, n = store_count(b.st); i < n; i++) {
        const store_customer *c = store_at_const(b.st, i);
        if (!c->frequency)
            continue;
        seg_acc *a = &acc[c->segment];
        a->count++;
        a->recency += (uint64_t)score_recency_days(b.bp.as_of, c->last_ts);
        a->frequency += c->frequency;
        a->cents += c->monetary_cents;
    }
    /* Alphabetical, as the seeds' groupby("segment") prints it. */
    uint8_t segs[SEGMENT_MAX + 1];
    int nseg = 0;
    for (int s = 0; s <= b.cfg.segments.nsegments; s++)
        if (acc[s].count)
            segs[nseg++] = (uint8_t)s;
    qsort_r(segs, (size_t)nseg, 1, by_name, &b.cfg.segments);
    printf("segment,customers,recency_mean,frequency_mean,monetary_mean\n");
    for (int i = 0; i < nseg; i++) {
        const seg_acc *a = &acc[segs[i]];
        double n = (double)a->count;
        printf("%s,%llu,%.2f,%.2f,%.2f\n", segment_name(&b.cfg.segments, segs[i]),
               (unsigned long long)a->count, (double)a->recency / n, (double)a->frequency / n,
               (double)a->cents / 100.0 / n);
    }
    batch_free(&b);
    return RFMCTL_OK;
}
