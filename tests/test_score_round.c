/*
 * score_round: breakpoints agreed between members that exchange only
 * summaries, requests and answers, against score_breakpoints_compute on one
 * store holding every customer and score_breakpoints_compute_set over the
 * partition stores — bit for bit (memcmp of the whole struct).
 *
 * Every message goes through the wire form (encode, then decode) as it
 * would over Kafka, so the round trip is tested with the merge. Customers
 * are split over P in {1, 3, 8, 64} partition stores by a hash of the id,
 * the partitions dealt to 1, 2 or 3 members. Data: the FLO seed file, both
 * Online Retail files (through the codec's reader and order_apply, with
 * cancellations as refunds), and synthetic sets built to
 * break a distributed selection: all amounts equal, one giant frequency
 * group, ids sharing long prefixes and being prefixes of each other, few
 * distinct first-order times, customers without orders, amounts spread so
 * wide that a bucket takes several requests, tiny and empty sets. Both tie
 * orders, bins 3 to 10, the event clock and a wall clock off the day.
 *
 * The comparison is shown able to fail: perturbing one answer fails the
 * round or changes the breakpoints. The decoders' own tests are in
 * test_score_round_wire.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flo_raw.h"
#include "rfm/order.h"
#include "rfm/reader.h"
#include "rfm/score.h"
#include "rfm/score_round.h"
#include "rfm/store.h"
#include "round_pop.h"
#include "score_round_internal.h"

#define PMAX 64

/* ---- the round, every message through the wire ---- */

/* A change to the k-th decoded answer (the test that the test can fail). */
typedef void (*perturb_fn)(score_round_answer *a, unsigned k);

typedef struct round_stats {
    unsigned requests;
    size_t summary_bytes, request_bytes, answer_bytes; /* largest per member */
} round_stats;

/* The round id run_round's coordinators use. */
static uint64_t round_id;

/* Runs the round for members[0..nm) (each a set of stores). Returns the
 * final state; *bp holds the result when DONE. */
static score_round_state run_round(const score_settings *st, int64_t now, uint64_t prev,
                                   store **const *members, const size_t *nstores, size_t nm,
                                   perturb_fn perturb, score_breakpoints *bp, round_stats *rs) {
    char err[256];
    memset(rs, 0, sizeof *rs);
    score_round *r = score_round_new(st, now, prev, round_id);
    assert_non_null(r);
    for (size_t m = 0; m < nm; m++) {
        score_round_summary *s =
            score_round_summary_take(st, (const store *const *)members[m], nstores[m], now);
        assert_non_null(s);
        size_t len;
        uint8_t *buf = score_round_summary_encode(s, &len);
        assert_non_null(buf);
        if (len > rs->summary_bytes)
            rs->summary_bytes = len;
        score_round_summary *d = score_round_summary_decode(buf, len, err, sizeof err);
        if (!d)
            fail_msg("summary decode: %s", err);
        assert_int_equal(score_round_summary_customers(d), score_round_summary_customers(s));
        assert_int_equal(score_round_add_summary(r, d, err, sizeof err), 0);
        score_round_summary_free(d);
        score_round_summary_free(s);
        free(buf);
    }
    unsigned nanswer = 0;
    score_round_state state;
    while ((state = score_round_next(r, err, sizeof err)) == SCORE_ROUND_ASK) {
        assert_true(score_round_requests(r) < 200);
        size_t qlen;
        uint8_t *qbuf = score_round_request_encode(score_round_request_of(r), &qlen);
        assert_non_null(qbuf);
        if (qlen > rs->request_bytes)
            rs->request_bytes = qlen;
        score_round_request *q = score_round_request_decode(qbuf, qlen, err, sizeof err);
        if (!q)
            fail_msg("request decode: %s", err);
        for (size_t m = 0; m < nm; m++) {
            score_round_answer *a =
                score_round_answer_make((const store *const *)members[m], nstores[m], q);
            assert_non_null(a);
            size_t len;
            uint8_t *buf = score_round_answer_encode(a, &len);
            assert_non_null(buf);
            if (len > rs->answer_bytes)
                rs->answer_bytes = len;
            score_round_answer *d = score_round_answer_decode(buf, len, err, sizeof err);
            if (!d)
                fail_msg("answer decode: %s", err);
            if (perturb)
                perturb(d, nanswer);
            nanswer++;
            int rc = score_round_add_answer(r, (unsigned)m, d, err, sizeof err);
            score_round_answer_free(d);
            score_round_answer_free(a);
            free(buf);
            if (rc) {
                state = SCORE_ROUND_FAILED;
                break;
            }
        }
        score_round_request_free(q);
        free(qbuf);
        if (state == SCORE_ROUND_FAILED)
            break;
    }
    rs->requests = score_round_requests(r);
    if (state == SCORE_ROUND_DONE)
        assert_int_equal(score_round_result(r, bp), 0);
    else if (!perturb)
        fail_msg("round failed: %s", err);
    score_round_free(r);
    return state;
}

/* The population split over p partition stores dealt to nm members; the
 * round's breakpoints against the reference, bit for bit. */
static void check_split(const population *pop, size_t p, size_t nm, const score_settings *st,
                        int64_t now, const score_breakpoints *ref, round_stats *rs) {
    store *parts[PMAX];
    for (size_t j = 0; j < p; j++) {
        parts[j] = store_new();
        assert_non_null(parts[j]);
    }
    for (size_t i = pop->n; i-- > 0;)
        put(parts[round_pop_hash(pop->c[i].id, pop->c[i].len) % p], &pop->c[i]);
    /* The source's newest order (refunds move it too) in one partition. */
    store_note_ts(parts[0], pop->max_ts);

    score_breakpoints set_bp;
    assert_int_equal(
        score_breakpoints_compute_set(st, (const store *const *)parts, p, now, 6, &set_bp), 0);
    assert_memory_equal(ref, &set_bp, sizeof set_bp);

    store *mem[3][PMAX];
    size_t ns[3] = {0};
    if (nm > p)
        nm = p;
    for (size_t j = 0; j < p; j++)
        mem[j % nm][ns[j % nm]++] = parts[j];
    store **members[3] = {mem[0], mem[1], mem[2]};
    score_breakpoints bp;
    assert_int_equal(run_round(st, now, 6, members, ns, nm, NULL, &bp, rs), SCORE_ROUND_DONE);
    if (memcmp(ref, &bp, sizeof bp))
        fail_msg("p %zu members %zu bins %d tie %d: round breakpoints differ (n %zu/%zu, as_of "
                 "%lld/%lld)",
                 p, nm, st->bins, (int)st->tie_break, ref->customers, bp.customers,
                 (long long)ref->as_of, (long long)bp.as_of);
    for (size_t j = 0; j < p; j++)
        store_free(parts[j]);
}

/* Every split and member count, for the settings given. */
static unsigned check_all_splits(const population *pop, const score_settings *st, int64_t now) {
    store *one = store_new();
    assert_non_null(one);
    for (size_t i = 0; i < pop->n; i++)
        put(one, &pop->c[i]);
    store_note_ts(one, pop->max_ts);
    score_breakpoints ref;
    assert_int_equal(score_breakpoints_compute(st, one, now, 6, &ref), 0);
    store_free(one);
    static const size_t ps[] = {1, 3, 8, 64};
    unsigned most = 0;
    for (size_t a = 0; a < sizeof ps / sizeof *ps; a++)
        for (size_t nm = 1; nm <= 3; nm++) {
            if (nm > ps[a])
                continue;
            round_stats rs;
            check_split(pop, ps[a], nm, st, now, &ref, &rs);
            if (rs.requests > most)
                most = rs.requests;
        }
    return most;
}

/* bins 3..10 (step), both tie orders, event clock and a wall clock. */
static void check_population(const population *pop, int bins_step, const char *what) {
    unsigned most = 0;
    for (int bins = 3; bins <= 10; bins += bins_step)
        for (int tie = 0; tie < 2; tie++) {
            score_settings st;
            score_settings_default(&st);
            st.bins = bins;
            st.tie_break = (score_tie_break)tie;
            unsigned r = check_all_splits(pop, &st, 0);
            most = r > most ? r : most;
            if (bins == 5) { /* a wall clock at a time of day that is not midnight */
                st.clock = SCORE_CLOCK_WALL;
                check_all_splits(pop, &st, AS_OF + 12345);
            }
        }
    print_message("%s: %zu customers, at most %u requests\n", what, pop->n, most);
}

/* ---- data ---- */

static int emit_order(void *ctx, const order *o) {
    order_apply(ctx, o, NULL);
    return 0;
}

/* An Online Retail file through the codec's reader into one store, then
 * out again as customers (frequency 0 ones included). */
static void load_retail(population *pop, const char *name) {
    const char *dir = getenv("RFM_SHARED");
    if (!dir)
        fail_msg("RFM_SHARED is not set (ctest sets it)");
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/data/%s", dir, name);
    store *s = store_new();
    assert_non_null(s);
    reader_options opt = {.format = READER_RETAIL, .cancellations_as_refunds = true};
    reader_stats rs;
    if (reader_read_file(path, &opt, emit_order, s, &rs, err, sizeof err))
        fail_msg("%s", err);
    for (size_t i = 0; i < store_count(s); i++) {
        const store_customer *r = store_at_const(s, i);
        gcust *c = pop_add(pop);
        const char *key = store_key(s, r, &c->len);
        memcpy(c->id, key, c->len);
        c->freq = r->frequency;
        c->first_ts = r->first_ts;
        c->last_ts = r->last_ts;
        c->cents = r->monetary_cents;
    }
    pop->max_ts = store_max_ts(s);
    store_free(s);
}

static void test_flo(void **state) {
    (void)state;
    population pop = {0};
    pop_load_flo(&pop);
    assert_int_equal(pop.n, 19945);
    check_population(&pop, 1, "FLO");
    free(pop.c);
}

static void test_online_retail(void **state) {
    (void)state;
    static const char *const files[] = {"online_retail_2010_2011.csv.gz",
                                        "online_retail_ii_2009_2010.csv.gz"};
    for (size_t f = 0; f < 2; f++) {
        population pop = {0};
        load_retail(&pop, files[f]);
        assert_true(pop.n > 4000);
        check_population(&pop, 1, files[f]);
        free(pop.c);
    }
}

static void test_synthetic(void **state) {
    (void)state;
    static const char *const names[] = {"equal amounts", "one group", "long prefixes",
                                        "few first",     "no orders", "wide amounts",
                                        "mixed"};
    for (int k = 0; k < SYN_COUNT; k++) {
        population pop = {0};
        gen(&pop, (synth)k, 3000, 100 + (uint64_t)k);
        check_population(&pop, 1, names[k]);
        free(pop.c);
    }
}

/* A frequency-1 group big enough to take several prefix steps. */
static void test_big_group(void **state) {
    (void)state;
    population pop = {0};
    gen(&pop, SYN_ONE_GROUP, 200000, 7);
    check_population(&pop, 7, "200k in one group");
    free(pop.c);
}

static void test_tiny(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 3, 5, 11};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        population pop = {0};
        gen(&pop, SYN_MIXED, sizes[i], 300 + i);
        check_population(&pop, 7, "tiny");
        free(pop.c);
    }
}

/* ---- the test can fail ---- */

static unsigned perturb_at;
static int perturbed; /* 0 none yet, 1 a monetary slot, 2 a key prefix */

/* Move one count of the chosen answer to the next lower key, or flip the
 * last byte of a common key prefix: the counts still add up, so only the
 * comparison with the reference can see it — when the moved count mattered
 * at all (a count moved between two slots below the wanted position does
 * not change which slot holds it). */
static void move_one(score_round_answer *a, unsigned k) {
    if (k != perturb_at || perturbed)
        return;
    for (size_t q = 0; q < a->nm; q++)
        if (a->m[q].n && a->m[q].p[a->m[q].n - 1].key > 0 &&
            (a->m[q].n == 1 || a->m[q].p[a->m[q].n - 2].key + 1 < a->m[q].p[a->m[q].n - 1].key)) {
            a->m[q].p[a->m[q].n - 1].key--;
            perturbed = 1;
            return;
        }
    for (size_t q = 0; q < a->nf; q++) {
        score_round_fa *f = &a->f[q];
        if (f->count && f->lcp_len > 0) {
            f->lcp[f->lcp_len - 1] ^= 1;
            perturbed = 2;
            return;
        }
    }
}

static void test_perturbed_answer_is_caught(void **state) {
    (void)state;
    population pop = {0};
    gen(&pop, SYN_MIXED, 5000, 11);
    store *parts[3];
    for (int j = 0; j < 3; j++)
        parts[j] = store_new();
    store *one = store_new();
    for (size_t i = 0; i < pop.n; i++) {
        put(parts[round_pop_hash(pop.c[i].id, pop.c[i].len) % 3], &pop.c[i]);
        put(one, &pop.c[i]);
    }
    store *mem[3][1] = {{parts[0]}, {parts[1]}, {parts[2]}};
    store **members[3] = {mem[0], mem[1], mem[2]};
    size_t ns[3] = {1, 1, 1};
    unsigned caught[4] = {0}, tried[4] = {0};
    for (int bins = 3; bins <= 10; bins++)
        for (int tie = 0; tie < 2; tie++) {
            score_settings st;
            score_settings_default(&st);
            st.bins = bins;
            st.tie_break = (score_tie_break)tie;
            score_breakpoints ref, bp;
            assert_int_equal(score_breakpoints_compute(&st, one, 0, 0, &ref), 0);
            round_stats rs;
            assert_int_equal(run_round(&st, 0, 0, members, ns, 3, NULL, &bp, &rs),
                             SCORE_ROUND_DONE);
            assert_memory_equal(&ref, &bp, sizeof bp);
            for (perturb_at = 0; perturb_at < 3 * rs.requests; perturb_at++) {
                perturbed = 0;
                score_round_state s = run_round(&st, 0, 0, members, ns, 3, move_one, &bp, &rs);
                tried[perturbed]++;
                caught[perturbed] += s == SCORE_ROUND_FAILED || memcmp(&ref, &bp, sizeof bp);
            }
        }
    print_message("perturbed answers caught: monetary slot %u of %u, key prefix %u of %u\n",
                  caught[1], tried[1], caught[2], tried[2]);
    /* Unperturbed runs agree; most perturbations are seen. The rest moved
     * a count the result does not depend on (between two slots on the same
     * side of every wanted position) or flipped a prefix byte past the
     * members' common prefix, which only their own count is read from. */
    assert_int_equal(caught[0], 0);
    assert_true(tried[1] > 20 && caught[1] * 3 >= tried[1] * 2);
    assert_true(tried[2] > 20 && caught[2] * 3 >= tried[2] * 2);
    for (int j = 0; j < 3; j++)
        store_free(parts[j]);
    store_free(one);
    free(pop.c);
}

/* ---- an unreliable transport ---- */

typedef struct msg {
    unsigned member;
    uint8_t *buf;
    size_t len;
} msg;

typedef struct msgs {
    msg *v;
    size_t n, cap;
} msgs;

static void msgs_push(msgs *l, unsigned member, const uint8_t *buf, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n].member = member;
    l->v[l->n].buf = malloc(len);
    assert_non_null(l->v[l->n].buf);
    memcpy(l->v[l->n].buf, buf, len);
    l->v[l->n++].len = len;
}

static void msgs_free(msgs *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].buf);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Deliver one message; returns add_answer's verdict. */
static int deliver(score_round *r, const msg *m) {
    char err[256];
    score_round_answer *d = score_round_answer_decode(m->buf, m->len, err, sizeof err);
    if (!d)
        fail_msg("answer decode: %s", err);
    int rc = score_round_add_answer(r, m->member, d, err, sizeof err);
    if (rc < 0)
        fail_msg("transport fault failed the round: %s", err);
    score_round_answer_free(d);
    return rc;
}

/* Answers lost (then the request sent again), repeated, delivered late
 * (copies of earlier requests' and earlier attempts' answers mixed in, in
 * random order), and members leaving mid-round (the round restarted under a
 * new id, their partitions dealt to the others): the breakpoints are still
 * those of one store. */
static void test_unreliable_transport(void **state) {
    (void)state;
    population pop = {0};
    gen(&pop, SYN_MIXED, 20000, 31);
    enum { P = 8 };
    store *parts[P];
    for (int j = 0; j < P; j++)
        parts[j] = store_new();
    for (size_t i = 0; i < pop.n; i++)
        put(parts[round_pop_hash(pop.c[i].id, pop.c[i].len) % P], &pop.c[i]);
    char err[256];
    unsigned restarts = 0, lost = 0, stale = 0;
    for (int trial = 0; trial < 16; trial++) {
        score_settings st;
        score_settings_default(&st);
        st.bins = 3 + trial % 8;
        st.tie_break = (score_tie_break)(trial / 8);
        score_breakpoints ref, bp;
        assert_int_equal(
            score_breakpoints_compute_set(&st, (const store *const *)parts, P, 0, 6, &ref), 0);
        rng_state = 1000 + (uint64_t)trial;
        unsigned nm = 3, owner[P];
        for (int j = 0; j < P; j++)
            owner[j] = (unsigned)j % nm;
        unsigned leave_at = trial % 2 ? 1 + (unsigned)(rnd() % 3) : 0; /* request number */
        msgs history = {0};
        score_round_state s = SCORE_ROUND_FAILED;
        for (uint64_t attempt = 1;; attempt++) {
            score_round *r = score_round_new(&st, 0, 6, (uint64_t)trial << 8 | attempt);
            assert_non_null(r);
            const store *mine[3][P];
            size_t ns[3] = {0};
            for (int j = 0; j < P; j++)
                mine[owner[j]][ns[owner[j]]++] = parts[j];
            for (unsigned m = 0; m < nm; m++) {
                score_round_summary *x = score_round_summary_take(&st, mine[m], ns[m], 0);
                assert_int_equal(score_round_add_summary(r, x, err, sizeof err), 0);
                score_round_summary_free(x);
            }
            bool restarted = false;
            while ((s = score_round_next(r, err, sizeof err)) == SCORE_ROUND_ASK) {
                if (leave_at && score_round_requests(r) == leave_at) {
                    /* The last member leaves: the round restarts without it. */
                    nm--;
                    for (int j = 0; j < P; j++)
                        if (owner[j] == nm)
                            owner[j] = (unsigned)j % nm;
                    leave_at = 0;
                    restarted = true;
                    restarts++;
                    break;
                }
                size_t qlen;
                uint8_t *qb = score_round_request_encode(score_round_request_of(r), &qlen);
                score_round_request *q = score_round_request_decode(qb, qlen, err, sizeof err);
                assert_non_null(q);
                bool have[3] = {false, false, false};
                for (int tries = 0;; tries++) {
                    assert_true(tries < 100);
                    msgs out = {0};
                    for (unsigned m = 0; m < nm; m++) {
                        if (have[m])
                            continue;
                        score_round_answer *a = score_round_answer_make(mine[m], ns[m], q);
                        size_t len;
                        uint8_t *b = score_round_answer_encode(a, &len);
                        msgs_push(&history, m, b, len);
                        if (rnd() % 4 == 0) {
                            lost++;
                        } else {
                            msgs_push(&out, m, b, len);
                            if (rnd() % 4 == 0)
                                msgs_push(&out, m, b, len);
                        }
                        free(b);
                        score_round_answer_free(a);
                    }
                    for (int k = (int)(rnd() % 4); k > 0 && history.n; k--, stale++) {
                        const msg *h = &history.v[rnd() % history.n];
                        msgs_push(&out, h->member, h->buf, h->len);
                    }
                    for (size_t i = out.n; i > 1; i--) { /* shuffle */
                        size_t j = (size_t)(rnd() % i);
                        msg t = out.v[i - 1];
                        out.v[i - 1] = out.v[j];
                        out.v[j] = t;
                    }
                    for (size_t i = 0; i < out.n; i++)
                        if (deliver(r, &out.v[i]) == 0)
                            have[out.v[i].member] = true;
                    msgs_free(&out);
                    bool all = true;
                    for (unsigned m = 0; m < nm; m++)
                        all = all && have[m];
                    if (all)
                        break; /* else: a timeout, the same request again */
                }
                score_round_request_free(q);
                free(qb);
            }
            if (restarted) {
                score_round_free(r);
                continue;
            }
            if (s != SCORE_ROUND_DONE)
                fail_msg("trial %d: %s", trial, err);
            assert_int_equal(score_round_result(r, &bp), 0);
            /* Late copies after the end change nothing. */
            for (size_t i = 0; i < history.n && i < 8; i++)
                assert_int_equal(deliver(r, &history.v[i]), 1);
            score_breakpoints again;
            assert_int_equal(score_round_result(r, &again), 0);
            assert_memory_equal(&bp, &again, sizeof bp);
            score_round_free(r);
            break;
        }
        if (memcmp(&ref, &bp, sizeof bp))
            fail_msg("trial %d: breakpoints differ", trial);
        msgs_free(&history);
    }
    print_message("unreliable transport: %u restarts, %u answers lost, %u stale copies\n", restarts,
                  lost, stale);
    assert_true(restarts > 0 && lost > 0 && stale > 0);
    for (int j = 0; j < P; j++)
        store_free(parts[j]);
    free(pop.c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flo),
        cmocka_unit_test(test_online_retail),
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_big_group),
        cmocka_unit_test(test_tiny),
        cmocka_unit_test(test_perturbed_answer_is_caught),
        cmocka_unit_test(test_unreliable_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
