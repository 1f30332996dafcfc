/*
 * round: the group breakpoints round (src/rfmd/round.h) on the simulated
 * group of round_sim.h — the model, the transport's faults and what every
 * run checks are described there.
 *
 * Random runs (test_faults_flo, test_faults_synthetic): FLO and the
 * synthetic sets under the fault profiles HEAVY, LOSSY, CHURN and LAGGY.
 * Scripted cases: one member; a clean group
 * (nobody holds right after applying); a coordinator that stops after the
 * summaries (members release on timeout); a member restoring briefly (no
 * restart) and for long (restarts, then done); the coordinator role moving
 * mid-round; a member whose hold timed out reading a resent BEGIN of the
 * same attempt after its input moved on (amounts moved inside one
 * monetary bucket, invisible to the count checks); a coordinator that
 * starts behind the group (the newest record on the topic an older
 * version); every member asking the moment a record is in (the next
 * round begins ROUND_GAP_MS after it). Data: FLO, and synthetic sets
 * built to break a distributed selection (all amounts equal, one
 * frequency group, ids with long shared prefixes); both tie orders; bins
 * 3 to 9; the event and the wall clock (the BEGIN's now is round.c's own
 * wall clock, not now_ms: a wall-clock as_of is checked against the real
 * time of the run).
 *
 * RFM_ROUND_SOAK=n runs n more random FLO scenarios (seeds 1000.., or from
 * RFM_ROUND_SOAK_FIRST); RFM_ROUND_LOG=1 shows round.c's log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfmd/log.h"
#include "round_internal.h"
#include "round_sim.h"

/* ---- data ---- */

static population flo_pop, syn_pop[3];

static const population *flo(void) {
    if (!flo_pop.n) {
        pop_load_flo(&flo_pop);
        assert_int_equal(flo_pop.n, 19945);
    }
    return &flo_pop;
}

static const population *synthetic(evmode evm) {
    static const synth kinds[3] = {SYN_EQUAL_AMOUNTS, SYN_ONE_GROUP, SYN_LONG_PREFIX};
    population *p = &syn_pop[evm - EVM_EQUAL];
    if (!p->n)
        gen(p, kinds[evm - EVM_EQUAL], 4000, 900 + (uint64_t)evm);
    return p;
}

/* ---- fault profiles ---- */

static const faults HEAVY = {
    .send_refuse = 15,
    .send_drop = 15,
    .send_dup = 40,
    .pub_refuse = 40,
    .pub_drop = 20,
    .pub_dup = 100,
    .late_ms = 1500,
    .junk = 5,
    .lag = 4,
    .stall = 1,
    .stall_ms = 900,
    .rewind = 2,
    .move = 2,
    .overlap_ms = 500,
    .gap_ms = 700,
    .restore_ms = 600,
    .freeze = 1,
    .join = 1,
    .parts_fail = 2,
    .parts_fail_ms = 1200,
    .want = 3,
};

static const faults LOSSY = {
    .send_refuse = 40,
    .send_drop = 40,
    .send_dup = 80,
    .pub_refuse = 80,
    .pub_drop = 50,
    .pub_dup = 200,
    .late_ms = 2000,
    .junk = 20,
    .want = 3,
};

static const faults CHURN = {
    .move = 6,
    .overlap_ms = 600,
    .gap_ms = 900,
    .restore_ms = 700,
    .freeze = 2,
    .join = 2,
    .parts_fail = 4,
    .parts_fail_ms = 900,
    .want = 3,
};

static const faults LAGGY = {
    .lag = 2,
    .stall = 3,
    .stall_ms = 1200,
    .rewind = 5,
    .send_dup = 30,
    .late_ms = 1000,
    .want = 3,
};

/* ---- the scenarios ---- */

static void test_faults_flo(void **state) {
    (void)state;
    const population *pop = flo();
    const scen sc[] = {
        {"FLO heavy, id ties, 5 bins", pop, EVM_FLO, 5, SCORE_TIE_CUSTOMER_ID, SCORE_CLOCK_EVENT, 8,
         3, HEAVY, 30000, 1, false},
        {"FLO heavy, first-order ties, 5 bins", pop, EVM_FLO, 5, SCORE_TIE_FIRST_ORDER,
         SCORE_CLOCK_EVENT, 8, 3, HEAVY, 30000, 2, false},
        {"FLO churn, id ties, 7 bins", pop, EVM_FLO, 7, SCORE_TIE_CUSTOMER_ID, SCORE_CLOCK_EVENT, 8,
         4, CHURN, 30000, 3, false},
        {"FLO lossy, first-order ties, 7 bins", pop, EVM_FLO, 7, SCORE_TIE_FIRST_ORDER,
         SCORE_CLOCK_EVENT, 6, 3, LOSSY, 30000, 4, false},
        {"FLO laggy, wall clock, 5 bins", pop, EVM_FLO, 5, SCORE_TIE_CUSTOMER_ID, SCORE_CLOCK_WALL,
         8, 3, LAGGY, 30000, 5, false},
    };
    uint64_t restarted = 0;
    for (size_t i = 0; i < sizeof sc / sizeof *sc; i++) {
        outcome o;
        sim_run_scenario(&sc[i], &o);
        restarted += o.st.restarted;
    }
    assert_true(restarted > 0);
    const char *soak = getenv("RFM_ROUND_SOAK"), *first = getenv("RFM_ROUND_SOAK_FIRST");
    for (int i = 0, n = soak ? atoi(soak) : 0; i < n; i++) {
        uint64_t seed = (first ? strtoull(first, NULL, 10) : 1000) + (uint64_t)i;
        scen x = {"FLO soak",
                  pop,
                  EVM_FLO,
                  3 + (int)(seed % 7),
                  (score_tie_break)(seed % 2),
                  SCORE_CLOCK_EVENT,
                  2 + (int32_t)(seed % 9),
                  1 + (unsigned)(seed % 4),
                  HEAVY,
                  20000,
                  seed,
                  false};
        outcome o;
        sim_run_scenario(&x, &o);
    }
}

static void test_faults_synthetic(void **state) {
    (void)state;
    static const char *const names[3] = {"equal amounts", "one group", "long prefixes"};
    const faults *profiles[4] = {&HEAVY, &LOSSY, &CHURN, &LAGGY};
    uint64_t restarted = 0;
    unsigned k = 0;
    for (int e = 0; e < 3; e++)
        for (int tie = 0; tie < 2; tie++)
            for (int b = 0; b < 2; b++, k++) {
                char name[96];
                snprintf(name, sizeof name, "%s, %s ties, %d bins", names[e],
                         tie ? "first-order" : "id", b ? 9 : 3);
                scen sc = {name,
                           synthetic((evmode)(EVM_EQUAL + e)),
                           (evmode)(EVM_EQUAL + e),
                           b ? 9 : 3,
                           (score_tie_break)tie,
                           SCORE_CLOCK_EVENT,
                           5,
                           3,
                           *profiles[k % 4],
                           15000,
                           100 + k,
                           false};
                outcome o;
                sim_run_scenario(&sc, &o);
                restarted += o.st.restarted;
            }
    assert_true(restarted > 0);
}

/* No faults, no lag: every record reaches every member, nobody holds right
 * after applying, nothing restarts, versions go 1, 2, 3... */
static void test_clean_group(void **state) {
    (void)state;
    for (int tie = 0; tie < 2; tie++) {
        scen sc = {tie ? "clean, first-order ties" : "clean, id ties",
                   flo(),
                   EVM_FLO,
                   5,
                   (score_tie_break)tie,
                   SCORE_CLOCK_EVENT,
                   8,
                   3,
                   {.want = 2},
                   12000,
                   40 + (uint64_t)tie,
                   true};
        outcome o;
        sim_run_scenario(&sc, &o);
        assert_int_equal(o.st.restarted, 0);
        assert_int_equal(o.st.rounds, o.published);
        assert_int_equal(o.st.attempts, o.st.rounds);
        assert_int_equal(o.applies, 3 * o.published); /* every member, every record */
        assert_true(o.published >= 8);
    }
}

/* N = 1: the same protocol through the topics, one member. */
static void test_single_member(void **state) {
    (void)state;
    scen sc = {"one member",
               synthetic(EVM_PREFIX),
               EVM_PREFIX,
               5,
               SCORE_TIE_FIRST_ORDER,
               SCORE_CLOCK_EVENT,
               4,
               1,
               {0},
               100,
               50,
               true};
    sim *s = sim_new(&sc);
    s->wants = s->produce = false;
    member *m = &s->m[0];
    round_want(m->r, "start", s->now);
    if (!sim_run_until(s, 10 * TIMEOUT_MS, sim_all_past, 0))
        sim_fail(s, "one member: no round");
    assert_int_equal(m->last_version, 1);
    assert_true(round_is_coordinator(m->r));
    if (!sim_run_until(s, 10 * TIMEOUT_MS, sim_quiet, 0))
        sim_fail(s, "one member: not quiet");
    round_want(m->r, "again", s->now);
    if (!sim_run_until(s, 10 * TIMEOUT_MS, sim_all_past, 1))
        sim_fail(s, "one member: no second round");
    assert_int_equal(m->last_version, 2);
    round_stats st;
    round_get_stats(m->r, &st);
    assert_int_equal(st.rounds, 2);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(st.restarted, 0);
    assert_int_equal(st.applied, 2);
    assert_int_equal(st.summaries, 2);
    assert_true(st.bytes_sent > 0 && st.bytes_received >= st.bytes_sent);
    assert_true(st.last_duration_ms >= 0);
    const round_record *last = round_last(m->r);
    assert_int_equal(last->members, 1);
    assert_int_equal(last->coordinator, m->id);
    sim_free(s);
}

static bool holding(sim *s, uint64_t idx) {
    return round_holding(s->m[idx].r);
}

/* The coordinator stops after the members summarized: they hold until
 * round_timeout releases them, not for ever, not before. */
static void test_timeout_releases_hold(void **state) {
    (void)state;
    scen sc = {"coordinator stops",
               synthetic(EVM_GROUP),
               EVM_GROUP,
               5,
               SCORE_TIE_CUSTOMER_ID,
               SCORE_CLOCK_EVENT,
               6,
               3,
               {0},
               100,
               60,
               true};
    sim *s = sim_new(&sc);
    s->wants = s->produce = false;
    member *c = &s->m[0], *b = &s->m[1];
    round_want(c->r, "start", s->now);
    if (!sim_run_until(s, 10 * TIMEOUT_MS, holding, 1))
        sim_fail(s, "member 1 never summarized");
    c->frozen = true; /* no turn any more: no request, no record */
    c->resume_at = NEVER;
    int64_t released = -1;
    while (s->now < b->last_read_ms + 4 * TIMEOUT_MS) {
        sim_step(s);
        if (s->now < b->last_read_ms + TIMEOUT_MS / 2 && !round_holding(b->r))
            sim_fail(s, "member 1 released after %lld ms, the round not over",
                     (long long)(s->now - b->last_read_ms));
        if (!round_holding(b->r)) {
            released = s->now - b->last_read_ms;
            break;
        }
    }
    if (released < 0)
        sim_fail(s, "member 1 still holds %d ms after the last message", 4 * TIMEOUT_MS);
    assert_true(released <= HOLD_LIMIT_MS);
    print_message("member released %lld ms after the last control message (timeout %d ms)\n",
                  (long long)released, TIMEOUT_MS);
    sim_run_until(s, 2 * TIMEOUT_MS, sim_never, 0);
    assert_false(round_holding(s->m[1].r));
    assert_false(round_holding(s->m[2].r));
    assert_int_equal(s->applies, 0);
    /* The coordinator comes back: a round completes (its attempt timed out). */
    c->frozen = false;
    s->wants = true;
    round_want(c->r, "again", s->now);
    if (!sim_run_until(s, 20 * TIMEOUT_MS, sim_all_past, 0))
        sim_fail(s, "no round after the coordinator came back");
    s->wants = s->produce = false;
    if (!sim_run_until(s, 20 * TIMEOUT_MS, sim_quiet, 0))
        sim_fail(s, "not quiet");
    round_stats st;
    round_get_stats(c->r, &st);
    print_message("coordinator: %llu attempts, %llu restarted, %llu rounds\n",
                  (unsigned long long)st.attempts, (unsigned long long)st.restarted,
                  (unsigned long long)st.rounds);
    assert_true(st.restarted >= 1);
    assert_true(st.attempts >= st.rounds + 1);
    sim_free(s);
}

/* A member restoring (parts -1): briefly, its summary comes late and the
 * attempt completes; for longer than the timeout, attempts are given up
 * (counted) and the round completes once it is ready — never before. */
static void test_restoring_member(void **state) {
    (void)state;
    for (int longer = 0; longer < 2; longer++) {
        scen sc = {longer ? "member restoring long" : "member restoring briefly",
                   flo(),
                   EVM_FLO,
                   5,
                   SCORE_TIE_CUSTOMER_ID,
                   SCORE_CLOCK_EVENT,
                   6,
                   3,
                   {0},
                   100,
                   70 + (uint64_t)longer,
                   true};
        sim *s = sim_new(&sc);
        s->wants = s->produce = false;
        int64_t ready = s->now + (longer ? 4 * TIMEOUT_MS : TIMEOUT_MS / 4);
        s->m[2].parts_fail_until = ready;
        round_want(s->m[0].r, "start", s->now);
        if (!sim_run_until(s, 20 * TIMEOUT_MS, sim_all_past, 0))
            sim_fail(s, "no round");
        assert_true(s->now >= ready);
        round_stats st;
        round_get_stats(s->m[0].r, &st);
        print_message("%s: done %lld ms after it was ready; %llu attempts, %llu restarted\n",
                      sc.name, (long long)(s->now - ready), (unsigned long long)st.attempts,
                      (unsigned long long)st.restarted);
        if (longer)
            assert_true(st.restarted >= 1);
        else
            assert_int_equal(st.restarted, 0);
        assert_int_equal(st.rounds, 1);
        if (!sim_run_until(s, 20 * TIMEOUT_MS, sim_quiet, 0))
            sim_fail(s, "not quiet");
        sim_free(s);
    }
}

static bool any_holding_but(sim *s, uint64_t idx) {
    for (unsigned i = 0; i < s->nm; i++)
        if (i != idx && round_holding(s->m[i].r))
            return true;
    return false;
}

/* Partition 0 (the coordinator role) moves mid-round: the old round is
 * abandoned, the new coordinator's round completes, and every record after
 * the move is the new coordinator's. */
static void test_coordinator_moves(void **state) {
    (void)state;
    for (int t = 0; t < 2; t++) {
        scen sc = {"coordinator moves",
                   synthetic(EVM_EQUAL),
                   EVM_EQUAL,
                   3,
                   (score_tie_break)t,
                   SCORE_CLOCK_EVENT,
                   6,
                   3,
                   {0},
                   100,
                   80 + (uint64_t)t,
                   false};
        sim *s = sim_new(&sc);
        s->wants = s->produce = false;
        member *a = &s->m[0], *b = &s->m[1];
        round_want(a->r, "start", s->now);
        if (!sim_run_until(s, 10 * TIMEOUT_MS, any_holding_but, 0))
            sim_fail(s, "nobody summarized");
        uint64_t before = s->published;
        for (size_t k = 0; k < a->nt; k++)
            if (a->t[k].partition == 0) {
                sim_task_add(s, b, 0, a->t[k].applied, t ? TIMEOUT_MS / 2 : 0);
                sim_task_drop(s, a, k);
                break;
            }
        assert_true(sim_owns(b, 0) && !sim_owns(a, 0));
        /* The roles at the move (a want made before b knows it coordinates
         * would be its own WANT message, which it ignores once it does). */
        round_set_coordinator(a->r, false);
        round_set_coordinator(b->r, true);
        round_want(b->r, "moved", s->now);
        if (!sim_run_until(s, 20 * TIMEOUT_MS, sim_all_past, 0))
            sim_fail(s, "no round after the coordinator moved");
        assert_int_equal(s->published, before + 1);
        for (unsigned i = 0; i < s->nm; i++)
            assert_int_equal(round_last(s->m[i].r)->coordinator, b->id);
        assert_false(round_is_coordinator(a->r));
        uint32_t attempt = 0;
        assert_int_equal(round_active_version(a->r, &attempt), 0);
        if (!sim_run_until(s, 20 * TIMEOUT_MS, sim_quiet, 0))
            sim_fail(s, "not quiet");
        sim_free(s);
    }
}

/* A member's hold times out while the coordinator still collects (another
 * member restoring); its input moves on; then it reads the coordinator's
 * resent BEGIN of that same attempt. It must not count for that attempt
 * again: the coordinator keeps its first summary (a second one of a member
 * is a repeat), so answers from the moved-on stores would be merged with
 * the old counts. Here the input moves amounts inside one monetary bucket
 * (4999 -> 4996 cents: [4996, 5000) is one bucket), which no count check
 * can see: the breakpoints published must still be those of the covered
 * offsets. With hold_check the ANSWER itself is caught; without it, what
 * the round publishes is checked. */
static void hold_timeout_then_resend(bool hold_check) {
    {
        scen sc = {hold_check ? "timed-out member, resent BEGIN (answers)"
                              : "timed-out member, resent BEGIN (record)",
                   synthetic(EVM_EQUAL),
                   EVM_EQUAL,
                   5,
                   SCORE_TIE_CUSTOMER_ID,
                   SCORE_CLOCK_EVENT,
                   3,
                   3,
                   {0},
                   100,
                   90,
                   false};
        sim *s = sim_new(&sc);
        s->wants = s->produce = false;
        s->hold_check = hold_check;
        member *a = &s->m[0], *b = &s->m[1], *c = &s->m[2];
        c->parts_fail_until = s->now + TIMEOUT_MS - 20; /* restoring: a keeps collecting */
        round_want(a->r, "start", s->now);
        if (!sim_run_until(s, 10 * TIMEOUT_MS, holding, 1))
            sim_fail(s, "member 1 never summarized");
        /* b stops reading; refunds of 3 cents wait on 90 % of its customers. */
        b->stall_until = s->now + TIMEOUT_MS + 200;
        size_t n = s->in[1].n;
        for (size_t i = 0; i < n; i++) {
            if (i % 10 == 9)
                continue;
            ev e = {.kind = EV_REFUND, .c = s->in[1].v[i].c};
            e.c.cents = 3;
            sim_plog_push(&s->in[1], &e);
        }
        sim_trace(s, "m1 stops reading; %zu refunds of 3 cents on partition 1", s->in[1].n - n);
        if (!sim_run_until(s, 30 * TIMEOUT_MS, sim_all_past, 0))
            sim_fail(s, "no round");
        print_message("%s: %llu record(s), %llu published\n", sc.name,
                      (unsigned long long)s->applies, (unsigned long long)s->published);
        sim_free(s);
    }
}

static void test_hold_timeout_then_resend_answers(void **state) {
    (void)state;
    hold_timeout_then_resend(true);
}

static void test_hold_timeout_then_resend_record(void **state) {
    (void)state;
    hold_timeout_then_resend(false);
}

/* A coordinator behind the group: the newest record on the breakpoints
 * topic is an older version (a producer's retry of v1 landing after v2 —
 * compaction keeps it as the key's newest — or a stale coordinator's v1
 * published after v2); an instance starting reads v1, gets partition 0,
 * and begins v2. The member that applied v2 must not leave that round
 * without its partitions for ever: a round completes (v2 again or v3). */
static void test_coordinator_behind(void **state) {
    (void)state;
    scen sc = {"coordinator behind the group",
               synthetic(EVM_GROUP),
               EVM_GROUP,
               4,
               SCORE_TIE_FIRST_ORDER,
               SCORE_CLOCK_EVENT,
               4,
               2,
               {0},
               100,
               95,
               false};
    sim *s = sim_new(&sc);
    s->wants = s->produce = false;
    member *a = &s->m[0];
    for (uint64_t v = 0; v < 2; v++) {
        round_want(a->r, "start", s->now);
        if (!sim_run_until(s, 10 * TIMEOUT_MS, sim_all_past, v) ||
            !sim_run_until(s, 10 * TIMEOUT_MS, sim_quiet, 0))
            sim_fail(s, "round %llu", (unsigned long long)v + 1);
    }
    /* v1's record again, after v2. */
    for (size_t i = 0; i < s->rec.n; i++) {
        round_record rec;
        memset(&rec, 0, sizeof rec);
        char err[128];
        if (round_record_decode(s->rec.v[i].buf, s->rec.v[i].len, &rec, err, sizeof err))
            continue;
        uint64_t v = rec.version;
        round_record_clear(&rec);
        if (v == 1) {
            entry e = s->rec.v[i];
            sim_topic_push(&s->rec, e.buf, e.len, e.from);
            break;
        }
    }
    member *n = sim_member_add(s);
    sim_read_newest(s, n);
    assert_int_equal(n->last_version, 1);
    for (size_t k = 0; k < a->nt; k++)
        if (a->t[k].partition == 0) {
            sim_task_add(s, n, 0, a->t[k].applied, 0);
            sim_task_drop(s, a, k);
            break;
        }
    round_set_coordinator(a->r, false);
    round_set_coordinator(n->r, true);
    sim_trace(s, "m%d starts with v1 and coordinates; m0, m1 have v2", n->idx);
    round_want(n->r, "start", s->now);
    bool done = sim_run_until(s, 30 * TIMEOUT_MS, sim_all_past, 2);
    round_stats st;
    round_get_stats(n->r, &st);
    if (!done)
        sim_fail(s,
                 "no round in %d ms: the new coordinator (at v%llu) made %llu attempts, %llu "
                 "given up; the members at v2 ignore its BEGINs of v2",
                 30 * TIMEOUT_MS, (unsigned long long)n->last_version,
                 (unsigned long long)st.attempts, (unsigned long long)st.restarted);
    sim_free(s);
}

static bool coordinator_active(sim *s, uint64_t arg) {
    (void)arg;
    uint32_t attempt = 0;
    for (unsigned i = 0; i < s->nm; i++)
        if (sim_live(&s->m[i]) && round_is_coordinator(s->m[i].r) &&
            round_active_version(s->m[i].r, &attempt))
            return true;
    return false;
}

/* Every member asks for a round the moment the last one's record is in:
 * the next begins ROUND_GAP_MS after that record, not sooner (the input
 * held during the round flows in between) and not much later (the wants
 * are kept, not dropped). */
static void test_round_gap(void **state) {
    (void)state;
    scen sc = {"wants right after a record",
               synthetic(EVM_GROUP),
               EVM_GROUP,
               5,
               SCORE_TIE_CUSTOMER_ID,
               SCORE_CLOCK_EVENT,
               4,
               3,
               {0},
               100,
               96,
               true};
    sim *s = sim_new(&sc);
    s->wants = s->produce = false;
    for (uint64_t v = 0; v < 3; v++) {
        for (unsigned i = 0; i < s->nm; i++)
            round_want(s->m[i].r, "again", s->now);
        int64_t asked = s->now;
        if (!sim_run_until(s, 10 * TIMEOUT_MS, coordinator_active, 0))
            sim_fail(s, "round %llu did not begin", (unsigned long long)v + 1);
        int64_t begun = s->now;
        if (v > 0 && (begun - s->published_at < ROUND_GAP_MS ||
                      begun - s->published_at > ROUND_GAP_MS + 2 * DT_MAX))
            sim_fail(s, "round %llu began %lld ms after the previous record (asked %lld ms after)",
                     (unsigned long long)v + 1, (long long)(begun - s->published_at),
                     (long long)(asked - s->published_at));
        if (!sim_run_until(s, 10 * TIMEOUT_MS, sim_all_past, v))
            sim_fail(s, "round %llu did not end", (unsigned long long)v + 1);
    }
    sim_free(s);
}

static int teardown(void **state) {
    (void)state;
    free(flo_pop.c);
    for (int i = 0; i < 3; i++)
        free(syn_pop[i].c);
    return 0;
}

int main(void) {
    /* round.c logs every attempt; RFM_ROUND_LOG=1 shows them. */
    const char *lg = getenv("RFM_ROUND_LOG");
    log_set_level(lg && *lg == '1' ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_member),
        cmocka_unit_test(test_clean_group),
        cmocka_unit_test(test_timeout_releases_hold),
        cmocka_unit_test(test_restoring_member),
        cmocka_unit_test(test_coordinator_moves),
        cmocka_unit_test(test_hold_timeout_then_resend_answers),
        cmocka_unit_test(test_hold_timeout_then_resend_record),
        cmocka_unit_test(test_coordinator_behind),
        cmocka_unit_test(test_round_gap),
        cmocka_unit_test(test_faults_flo),
        cmocka_unit_test(test_faults_synthetic),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
