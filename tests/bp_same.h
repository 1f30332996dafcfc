/*
 * bp_same — two breakpoint sets compared field by field (doubles bitwise, cut
 * keys by bytes), saying which field differs first: the round tests' check
 * that a distributed computation gives the single one's bits. Header-only.
 */
#ifndef RFM_TESTS_BP_SAME_H
#define RFM_TESTS_BP_SAME_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rfm/score.h"

/* True when b equals a (the expected) in every field that counts; else
 * false with the first difference in why[0..n). */
static inline bool bp_same(const score_breakpoints *a, const score_breakpoints *b, char *why,
                           size_t n) {
    if (a->version != b->version) {
        snprintf(why, n, "version %llu, expected %llu", (unsigned long long)b->version,
                 (unsigned long long)a->version);
        return false;
    }
    if (a->bins != b->bins) {
        snprintf(why, n, "bins %d, expected %d", b->bins, a->bins);
        return false;
    }
    if (a->customers != b->customers) {
        snprintf(why, n, "customers %zu, expected %zu", b->customers, a->customers);
        return false;
    }
    if (a->as_of != b->as_of) {
        snprintf(why, n, "as_of %lld, expected %lld", (long long)b->as_of, (long long)a->as_of);
        return false;
    }
    static const char *const names[3] = {"r", "f", "m"};
    const double *ea[3] = {a->r_edges, a->f_edges, a->m_edges};
    const double *eb[3] = {b->r_edges, b->f_edges, b->m_edges};
    for (int d = 0; d < 3; d++)
        for (int k = 0; k <= a->bins && k <= SCORE_BINS_MAX; k++)
            if (memcmp(&ea[d][k], &eb[d][k], sizeof(double))) {
                snprintf(why, n, "%s_edges[%d] %.17g, expected %.17g", names[d], k, eb[d][k],
                         ea[d][k]);
                return false;
            }
    for (int k = 1; k < a->bins && k <= SCORE_BINS_MAX; k++) {
        const score_cut *x = &a->f_cuts[k], *y = &b->f_cuts[k];
        if (x->valid != y->valid) {
            snprintf(why, n, "f_cuts[%d].valid %d, expected %d", k, y->valid, x->valid);
            return false;
        }
        if (!x->valid)
            continue;
        if (x->frequency != y->frequency || x->first_ts != y->first_ts ||
            x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len)) {
            snprintf(why, n,
                     "f_cuts[%d] (f %u, first %u, key %.*s), expected (f %u, first %u, key %.*s)",
                     k, y->frequency, y->first_ts, (int)y->key_len, y->key, x->frequency,
                     x->first_ts, (int)x->key_len, x->key);
            return false;
        }
    }
    return true;
}

#endif
