/*
 * bench_round — what a breakpoints round (score_round, issue 13) costs in
 * bytes and time, against one process computing the same breakpoints with
 * score_breakpoints_compute_set (a benchmark: it reports, and checks only
 * that both give the same bits).
 *
 *   rfm-bench-round CUSTOMERS [MEMBERS [PARTITIONS [SHAPE [REPEATS]]]]
 *
 * CUSTOMERS customers with 36-character UUID-like ids spread over PARTITIONS
 * stores (default 12) by a hash, dealt round robin to MEMBERS members
 * (default 3). SHAPE "retail" (default): frequencies mostly 1-3 with a long
 * tail, cents up to 2,000 units, last orders over two years; "one-group":
 * every customer frequency 1 (every cut inside one tie group of CUSTOMERS
 * keys). Every message goes through the wire form; bytes are counted per
 * member per message. Members run one after the other here, so the round's
 * time is the sum of every member's passes, not the parallel wall time.
 * Prints `key value` lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rfm/score.h"
#include "rfm/score_round.h"
#include "rfm/store.h"
#include "util/clock.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL; /* the same data on every run */

#define MAXM 16
#define MAXP 256

typedef struct figures {
    double round_s, single_s;
    size_t summary_max, request_total, answer_total_max, total_max;
    unsigned requests;
} figures;

static int one_round(const score_settings *st, store **parts, size_t p, size_t m, figures *fig) {
    const store *mem[MAXM][MAXP];
    size_t ns[MAXM] = {0};
    for (size_t j = 0; j < p; j++)
        mem[j % m][ns[j % m]++] = parts[j];
    size_t sent[MAXM] = {0}, answered[MAXM] = {0}; /* bytes each member sent; of them answers */
    char err[256];
    memset(fig, 0, sizeof *fig);

    double t = bench_now_s();
    score_round *r = score_round_new(st, 0, 0, 0);
    for (size_t k = 0; k < m; k++) {
        score_round_summary *s = score_round_summary_take(st, mem[k], ns[k], 0);
        size_t len;
        uint8_t *buf = s ? score_round_summary_encode(s, &len) : NULL;
        score_round_summary *d = buf ? score_round_summary_decode(buf, len, err, sizeof err) : 0;
        if (!d || score_round_add_summary(r, d, err, sizeof err)) {
            fprintf(stderr, "summary: %s\n", err);
            return -1;
        }
        sent[k] += len;
        if (len > fig->summary_max)
            fig->summary_max = len;
        free(buf);
        score_round_summary_free(s);
        score_round_summary_free(d);
    }
    score_round_state state;
    while ((state = score_round_next(r, err, sizeof err)) == SCORE_ROUND_ASK) {
        size_t qlen;
        uint8_t *qb = score_round_request_encode(score_round_request_of(r), &qlen);
        score_round_request *q = score_round_request_decode(qb, qlen, err, sizeof err);
        if (!q)
            return -1;
        fig->request_total += qlen;
        for (size_t k = 0; k < m; k++) {
            score_round_answer *a = score_round_answer_make(mem[k], ns[k], q);
            size_t len;
            uint8_t *buf = a ? score_round_answer_encode(a, &len) : NULL;
            score_round_answer *d = buf ? score_round_answer_decode(buf, len, err, sizeof err) : 0;
            if (!d || score_round_add_answer(r, (unsigned)k, d, err, sizeof err)) {
                fprintf(stderr, "answer: %s\n", err);
                return -1;
            }
            sent[k] += len;
            answered[k] += len;
            free(buf);
            score_round_answer_free(a);
            score_round_answer_free(d);
        }
        score_round_request_free(q);
        free(qb);
    }
    if (state != SCORE_ROUND_DONE) {
        fprintf(stderr, "round: %s\n", err);
        return -1;
    }
    score_breakpoints bp, ref;
    score_round_result(r, &bp);
    fig->requests = score_round_requests(r);
    score_round_free(r);
    fig->round_s = bench_now_s() - t;

    t = bench_now_s();
    if (score_breakpoints_compute_set(st, (const store *const *)parts, p, 0, 0, &ref))
        return -1;
    fig->single_s = bench_now_s() - t;
    if (memcmp(&bp, &ref, sizeof bp)) {
        fprintf(stderr, "round and compute_set differ\n");
        return -1;
    }
    for (size_t k = 0; k < m; k++) {
        if (answered[k] > fig->answer_total_max)
            fig->answer_total_max = answered[k];
        if (sent[k] > fig->total_max)
            fig->total_max = sent[k];
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CUSTOMERS [MEMBERS [PARTITIONS [retail|one-group [REPEATS]]]]\n",
                argv[0]);
        return 64;
    }
    size_t n = strtoull(argv[1], NULL, 10);
    size_t m = argc > 2 ? strtoull(argv[2], NULL, 10) : 3;
    size_t p = argc > 3 ? strtoull(argv[3], NULL, 10) : 12;
    bool one_group = argc > 4 && !strcmp(argv[4], "one-group");
    int repeats = argc > 5 ? atoi(argv[5]) : 3;
    if (!n || !m || m > MAXM || p < m || p > MAXP || repeats < 1 || repeats > 15)
        return 64;

    store *parts[MAXP];
    for (size_t j = 0; j < p; j++)
        parts[j] = store_new();
    const uint32_t t0 = 1577836800; /* 2020-01-01 */
    for (size_t i = 0; i < n; i++) {
        char id[36];
        bench_make_id(id, i);
        uint64_t h = 1469598103934665603ULL;
        for (int k = 0; k < 36; k++)
            h = (h ^ (uint8_t)id[k]) * 1099511628211ULL;
        bool created;
        store *s = parts[h % p];
        store_customer *c = store_upsert(s, id, 36, &created);
        if (!c)
            return 1;
        uint64_t u = bench_rng(&rng_state) % 100;
        c->frequency =
            one_group ? 1
            : u < 55  ? 1
            : u < 75  ? 2
            : u < 85  ? 3
                      : 4 + (uint32_t)(bench_rng(&rng_state) % (1 + bench_rng(&rng_state) % 200));
        c->first_ts = t0 + (uint32_t)(bench_rng(&rng_state) % (365 * 86400));
        c->last_ts = c->first_ts + (uint32_t)(bench_rng(&rng_state) % (365 * 86400));
        c->monetary_cents = 100 + (int64_t)(bench_rng(&rng_state) % 200000) * (int64_t)c->frequency;
        store_note_ts(s, c->last_ts);
    }
    printf("customers %zu members %zu partitions %zu shape %s\n", n, m, p,
           one_group ? "one-group" : "retail");
    static const score_tie_break ties[] = {SCORE_TIE_CUSTOMER_ID, SCORE_TIE_FIRST_ORDER};
    for (int tie = 0; tie < 2; tie++) {
        score_settings st;
        score_settings_default(&st);
        st.tie_break = ties[tie];
        double rs[16], ss[16];
        figures f = {0};
        for (int r = 0; r < repeats; r++) {
            if (one_round(&st, parts, p, m, &f))
                return 1;
            rs[r] = f.round_s;
            ss[r] = f.single_s;
        }
        const char *tn = tie ? "first_order" : "customer_id";
        printf("%s requests %u\n", tn, f.requests);
        printf("%s summary_bytes_per_member_max %zu\n", tn, f.summary_max);
        printf("%s request_bytes_all_rounds %zu\n", tn, f.request_total);
        printf("%s answer_bytes_per_member_all_rounds_max %zu\n", tn, f.answer_total_max);
        printf("%s bytes_per_member_total_max %zu\n", tn, f.total_max);
        printf("%s round_s_median %.3f (members in series)\n", tn, bench_median(rs, repeats));
        printf("%s compute_set_s_median %.3f\n", tn, bench_median(ss, repeats));
    }
    for (size_t j = 0; j < p; j++)
        store_free(parts[j]);
    return 0;
}
