/*
 * The SPEC §6 segment table, shared by `rfmctl score` and `rfmctl snapshot
 * dump` so a batch run and a daemon's snapshot print comparable bytes; and
 * the per-segment sums `summary` and `report` print, for the same reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/money.h"
#include "rfmctl.h"

int rfmctl_print_table(FILE *out, const score_settings *st, int64_t as_of, const store *s,
                       const char *const *segment_names) {
    size_t n;
    size_t *order_idx = score_tie_order(st, s, &n);
    if (!order_idx && n) {
        fprintf(stderr, "rfmctl: out of memory\n");
        return -1;
    }
    fprintf(out, "customer_id,recency,frequency,monetary,r,f,m,segment\n");
    for (size_t i = 0; i < n; i++) {
        const store_customer *c = store_at_const(s, order_idx[i]);
        size_t klen;
        const char *key = store_key(s, c, &klen);
        char money[32];
        money_format(c->monetary_cents, money, sizeof money);
        fprintf(out, "%.*s,%lld,%u,%s,%d,%d,%d,%s\n", (int)klen, key,
                (long long)score_recency_days(as_of, c->last_ts), c->frequency, money, c->r, c->f,
                c->m, segment_names[c->segment]);
    }
    free(order_idx);
    if (fflush(out)) {
        fprintf(stderr, "rfmctl: writing output: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

void rfmctl_segment_names(const segment_map *m, const char *names[SEGMENT_MAX + 1]) {
    for (int i = 0; i <= SEGMENT_MAX; i++)
        names[i] = segment_name(m, (uint8_t)i);
}

static int by_name(const void *a, const void *b, void *names) {
    const char *const *n = names;
    return strcmp(n[*(const uint8_t *)a], n[*(const uint8_t *)b]);
}

int rfmctl_segment_stats(const store *s, int64_t as_of, const char *const *names,
                         segment_total acc[SEGMENT_MAX + 1], uint8_t segs[SEGMENT_MAX + 1]) {
    segment_totals(s, as_of, acc, NULL);
    int nseg = 0;
    for (int i = 0; i <= SEGMENT_MAX; i++)
        if (acc[i].count)
            segs[nseg++] = (uint8_t)i;
    qsort_r(segs, (size_t)nseg, 1, by_name, (void *)names);
    return nseg;
}
