/*
 * The SPEC §6 segment table, shared by `rfmctl score` and `rfmctl snapshot
 * dump` so a batch run and a daemon's snapshot print comparable bytes.
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
