/*
 * The SPEC §6 segment table, shared by `rfmctl score` and `rfmctl snapshot
 * dump` so a batch run and a daemon's snapshot print comparable bytes; and
 * the per-segment sums `summary` and `report` print, for the same reason.
 *
 * Over a set of stores (a partitioned snapshot directory) the table is the
 * merge of each store's tie order by score_tie_compare, the rule
 * score_tie_order sorts by, so it is byte for byte the table of one store
 * holding them all; the sums are integers, summed store by store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/money.h"
#include "rfmctl.h"

int rfmctl_print_table_set(FILE *out, const score_settings *st, int64_t as_of,
                           const store *const *stores, size_t nstores,
                           const char *const *segment_names) {
    size_t **idx = calloc(nstores ? nstores : 1, sizeof *idx);
    size_t *len = calloc(nstores ? nstores : 1, sizeof *len);
    size_t *at = calloc(nstores ? nstores : 1, sizeof *at);
    int rc = idx && len && at ? 0 : -1;
    for (size_t k = 0; !rc && k < nstores; k++)
        if (!(idx[k] = score_tie_order(st, stores[k], &len[k])) && len[k])
            rc = -1;
    if (rc) {
        fprintf(stderr, "rfmctl: out of memory\n");
    } else {
        fprintf(out, "customer_id,recency,frequency,monetary,r,f,m,segment\n");
        /* The k heads, smallest first: a linear look per row (k is the
         * number of partitions, small). */
        for (;;) {
            size_t best = nstores;
            const store_customer *bc = NULL;
            for (size_t k = 0; k < nstores; k++) {
                if (at[k] == len[k])
                    continue;
                const store_customer *c = store_at_const(stores[k], idx[k][at[k]]);
                if (!bc || score_tie_compare(st->tie_break, stores[k], c, stores[best], bc) < 0) {
                    best = k;
                    bc = c;
                }
            }
            if (!bc)
                break;
            at[best]++;
            size_t klen;
            const char *key = store_key(stores[best], bc, &klen);
            char money[32];
            money_format(bc->monetary_cents, money, sizeof money);
            fprintf(out, "%.*s,%lld,%u,%s,%d,%d,%d,%s\n", (int)klen, key,
                    (long long)score_recency_days(as_of, bc->last_ts), bc->frequency, money, bc->r,
                    bc->f, bc->m, segment_names[bc->segment]);
        }
    }
    for (size_t k = 0; idx && k < nstores; k++)
        free(idx[k]);
    free(idx);
    free(len);
    free(at);
    if (rc)
        return -1;
    if (fflush(out)) {
        fprintf(stderr, "rfmctl: writing output: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int rfmctl_print_table(FILE *out, const score_settings *st, int64_t as_of, const store *s,
                       const char *const *segment_names) {
    return rfmctl_print_table_set(out, st, as_of, &s, 1, segment_names);
}

void rfmctl_segment_names(const segment_map *m, const char *names[SEGMENT_MAX + 1]) {
    for (int i = 0; i <= SEGMENT_MAX; i++)
        names[i] = segment_name(m, (uint8_t)i);
}

static int by_name(const void *a, const void *b, void *names) {
    const char *const *n = names;
    return strcmp(n[*(const uint8_t *)a], n[*(const uint8_t *)b]);
}

int rfmctl_segment_stats_set(const store *const *stores, size_t nstores, int64_t as_of,
                             const char *const *names, segment_total acc[SEGMENT_MAX + 1],
                             uint8_t segs[SEGMENT_MAX + 1]) {
    memset(acc, 0, (SEGMENT_MAX + 1) * sizeof *acc);
    for (size_t k = 0; k < nstores; k++) {
        segment_total one[SEGMENT_MAX + 1];
        segment_totals(stores[k], as_of, one, NULL);
        for (int i = 0; i <= SEGMENT_MAX; i++) {
            acc[i].count += one[i].count;
            acc[i].recency_days += one[i].recency_days;
            acc[i].frequency += one[i].frequency;
            acc[i].cents += one[i].cents;
        }
    }
    int nseg = 0;
    for (int i = 0; i <= SEGMENT_MAX; i++)
        if (acc[i].count)
            segs[nseg++] = (uint8_t)i;
    qsort_r(segs, (size_t)nseg, 1, by_name, (void *)names);
    return nseg;
}

int rfmctl_segment_stats(const store *s, int64_t as_of, const char *const *names,
                         segment_total acc[SEGMENT_MAX + 1], uint8_t segs[SEGMENT_MAX + 1]) {
    return rfmctl_segment_stats_set(&s, 1, as_of, names, acc, segs);
}
