/*
 * segment_totals — see include/rfm/segment_totals.h.
 */
#include "rfm/segment_totals.h"

#include <string.h>

#include "rfm/score.h"

void segment_totals(const store *s, int64_t as_of, segment_total tot[SEGMENT_MAX + 1],
                    uint64_t *unscored) {
    memset(tot, 0, (SEGMENT_MAX + 1) * sizeof *tot);
    uint64_t none = 0;
    for (size_t i = 0, n = store_count(s); i < n; i++) {
        const store_customer *c = store_at_const(s, i);
        if (!c->r) {
            none++;
            continue;
        }
        segment_total *t = &tot[c->segment <= SEGMENT_MAX ? c->segment : 0];
        t->count++;
        t->recency_days += (uint64_t)score_recency_days(as_of, c->last_ts);
        t->frequency += c->frequency;
        t->cents += c->monetary_cents;
    }
    if (unscored)
        *unscored = none;
}
