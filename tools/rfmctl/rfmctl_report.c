/*
 * rfmctl report — the segment picture analysts ask for first: per segment
 * customers and means, and how customers spread over the R x F score grid
 * that the segment map (SPEC §3) is drawn on. From order files (scored as
 * `rfmctl score` would) or from a daemon's snapshot (as it holds them): one
 * file, or a directory's newest (every partition's, for rfmd's per-partition
 * checkpoints, summed as one store holding them all would be).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rfm/segment.h"
#include "rfm/timefmt.h"
#include "rfmctl.h"

#define SYNOPSIS "[--html FILE] (--format flo|retail|jsonl [OPTIONS] FILE... | --snapshot FILE|DIR)"

#define HELP                                                                                       \
    "      --html FILE        also write the report as one self-contained HTML page\n"             \
    "      --snapshot PATH    report on an rfmd snapshot (a DIR: its newest valid one,\n"          \
    "                         of every partition when partitioned) as it holds it,\n"              \
    "                         instead of scoring order files\n"

/* Customers hold their own segment, so a cell is named after them; the map
 * names only cells nobody is in. */
static void collect(rfmctl_report *r, const store *const *stores, size_t nstores,
                    const segment_map *map) {
    for (int rs = 1; rs <= r->bins; rs++)
        for (int fs = 1; fs <= r->bins; fs++)
            r->cell[rs][fs] = segment_name(map, segment_of(map, rs, fs));
    for (size_t k = 0; k < nstores; k++)
        for (size_t i = 0, n = store_count(stores[k]); i < n; i++) {
            const store_customer *c = store_at_const(stores[k], i);
            if (!c->frequency || !c->r || c->r > r->bins || c->f > r->bins)
                continue;
            r->grid[c->r][c->f]++;
            r->cell[c->r][c->f] = r->names[c->segment];
        }
    r->nseg = rfmctl_segment_stats_set(stores, nstores, r->as_of, r->names, r->acc, r->order);
    for (int i = 0; i < r->nseg; i++)
        r->customers += r->acc[r->order[i]].count;
}

static void print_text(FILE *out, const rfmctl_report *r) {
    char day[16];
    timefmt_date(r->as_of, day, sizeof day);
    fprintf(out, "%llu customers as of %s (%s)\n\n", (unsigned long long)r->customers, day,
            r->source);
    fprintf(out, "%-22s %9s %6s %9s %9s %11s\n", "segment", "customers", "share", "recency",
            "frequency", "monetary");
    for (int i = 0; i < r->nseg; i++) {
        const segment_total *a = &r->acc[r->order[i]];
        double n = (double)a->count;
        fprintf(out, "%-22s %9llu %5.1f%% %9.2f %9.2f %11.2f\n", r->names[r->order[i]],
                (unsigned long long)a->count, 100.0 * n / (double)r->customers,
                (double)a->recency_days / n, (double)a->frequency / n,
                (double)a->cents / 100.0 / n);
    }
    fprintf(out, "\ncustomers by frequency score (rows) and recency score (columns)\n%5s", "");
    for (int rs = 1; rs <= r->bins; rs++)
        fprintf(out, " %7s%d", "R=", rs);
    fprintf(out, "\n");
    for (int fs = r->bins; fs >= 1; fs--) {
        fprintf(out, "F=%d  ", fs);
        for (int rs = 1; rs <= r->bins; rs++)
            fprintf(out, " %8llu", (unsigned long long)r->grid[rs][fs]);
        fprintf(out, "\n");
    }
}

static int write_html(const char *path, const rfmctl_report *r) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "rfmctl report: %s: %s\n", path, strerror(errno));
        return RFMCTL_FAIL;
    }
    int bad = rfmctl_report_html(f, r);
    if (fclose(f) || bad) {
        fprintf(stderr, "rfmctl report: writing %s failed\n", path);
        return RFMCTL_FAIL;
    }
    return RFMCTL_OK;
}

/* "flo_data_20k.csv", "a.csv and 2 more": names, not the paths they came by. */
static void describe_source(char *buf, size_t len, const char *what, const char *path, int more) {
    const char *base = strrchr(path, '/');
    int n = snprintf(buf, len, "%s%s", what, base ? base + 1 : path);
    if (more && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " and %d more", more);
}

static int from_snapshot(rfmctl_report *r, const char *arg, rfmctl_snapset *set, char *src,
                         size_t srclen) {
    if (rfmctl_snapset_open(arg, false, set))
        return RFMCTL_FAIL;
    r->bins = set->infos[set->head].settings.bins;
    r->as_of = rfmctl_snapset_as_of(set);
    rfmctl_snapset_names(set, r->names);
    if (set->partitioned) {
        char what[64];
        snprintf(what, sizeof what, "%zu partition snapshots in ", set->n);
        describe_source(src, srclen, what, arg, 0);
    } else {
        describe_source(src, srclen, "snapshot ", set->paths[0], 0);
    }
    r->source = src;
    /* A snapshot keeps segment names, not rules: empty cells get the
     * default map's names. */
    segment_map map;
    segment_map_default(&map, r->bins);
    collect(r, (const store *const *)set->stores, set->n, &map);
    return RFMCTL_OK;
}

int rfmctl_report_main(int argc, char **argv) {
    const char *html = NULL, *snap = NULL;
    const rfmctl_opt opts[] = {{"html", &html}, {"snapshot", &snap}, {0}};
    const rfmctl_cmd cmd = {.name = "report",
                            .synopsis = SYNOPSIS,
                            .prints =
                                "per segment customers and mean recency, frequency and monetary,\n"
                                "and the grid of customers by R and F score",
                            .help = HELP,
                            .opts = opts};
    rfmctl_batch b = {0};
    rfmctl_report r = {0};
    rfmctl_snapset set = {0};
    char src[4200];
    int rc = rfmctl_batch_parse(&b, &cmd, argc, argv);
    if (!rc && snap && (b.format || b.nfiles)) {
        fprintf(stderr, "rfmctl report: --snapshot reads no --format or FILE\n");
        rc = RFMCTL_USAGE;
    } else if (!rc && !snap && !b.format) {
        fprintf(stderr, "rfmctl report: give --format and FILE..., or --snapshot PATH\n");
        rc = RFMCTL_USAGE;
    } else if (!rc && snap) {
        rc = from_snapshot(&r, snap, &set, src, sizeof src);
    } else if (!rc && !(rc = rfmctl_batch_load(&b, &cmd))) {
        r.bins = b.cfg.scoring.bins;
        r.as_of = b.bp.as_of;
        rfmctl_segment_names(&b.cfg.segments, r.names);
        collect(&r, (const store *const *)&b.st, 1, &b.cfg.segments);
        describe_source(src, sizeof src, "", b.files[0], b.nfiles - 1);
        r.source = src;
    }
    if (!rc) {
        print_text(stdout, &r);
        if (html)
            rc = write_html(html, &r);
    }
    rfmctl_snapset_free(&set);
    rfmctl_batch_free(&b);
    return rc < 0 ? RFMCTL_OK : rc;
}
