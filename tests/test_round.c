/*
 * round: the group breakpoints round (src/rfmd/round.h) on a simulated
 * transport — N members, each a round* of its own, no broker.
 *
 * The model. The input topic has P partitions; each is a log of events
 * (the population's customers first, then orders, refunds and new customers
 * a producer keeps appending). A member owns tasks: a partition, a uid (a
 * new serial for every task, so a partition that moves and comes back is a
 * different task), a store and the log offset that store is at. A member
 * that is not holding (round_holding) applies its partitions' new events; a
 * holding one applies nothing. A task that moves is restored on its new
 * owner (a store rebuilt from the log at the old owner's offset, "restoring"
 * for a while: the parts hook returns -1); the old store is then scribbled
 * on (as freed memory would be) and kept until the end.
 *
 * Transport. hooks.send appends to one control log, hooks.publish to one
 * breakpoints log; every member reads both in order, each at its own
 * position (records first, then control, then round_tick). All members see
 * one order, as on one Kafka partition; faults are those one partition can
 * show: a message refused (send returns -1) or silently lost, a duplicate
 * (appended again at once or up to late_ms later), garbage and truncated
 * copies from a foreign writer, a reader that lags (a few messages per
 * turn), stalls (reads nothing for a while but keeps ticking) or seeks back
 * and reads again. Membership: partitions move (at once, with an overlap in
 * which both owners hold the task — two coordinators when it is partition
 * 0 — or with a gap in which nobody does), members freeze (no turn at all;
 * their partitions move after a session timeout; they come back with a
 * stale view, or never and are freed), members join (reading the newest
 * breakpoints record first, then both logs from their end), a member's
 * parts hook says "restoring" for a while. The coordinator is whoever holds
 * partition 0 (round_set_coordinator every turn). Members ask for rounds at
 * their own rescore interval and at random (round_want). Time is a
 * simulated now_ms advanced 1..DT_MAX ms per step.
 *
 * What is checked. Every record a coordinator publishes and every record a
 * member applies: its breakpoints equal score_breakpoints_compute_set over
 * all P partitions rebuilt from the logs at the offsets the record says it
 * covered (field by field, doubles bitwise, cut keys by bytes), with
 * version = record version, prev = version - 1; versions a member applies
 * strictly increase; round_on_record says 0 exactly when it applied. The
 * hold, in the messages (decoded with round_internal.h): every ANSWER a
 * member sends counts its stores at the partitions and offsets of each
 * SUMMARY it put in the log for that attempt (the coordinator keeps the
 * first it reads). A member never holds longer than 2 timeouts past the
 * last control message it read (a lost round ends by timeout). After the
 * fault phase (faults off, ownership settled) a new round completes within
 * a bound; with input and wants stopped every member stops holding and no
 * coordinator has a round in progress; one more round then covers exactly
 * the current state.
 * round_get_stats: applied as counted, restarts seen where faults force
 * them, none on a clean run. Scripted cases: one member; a clean group
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
 * The breakpoints record's codec alone: round trips (re-encoding gives the
 * same bytes), every truncation, every single-bit flip, a trailing byte and
 * random garbage rejected; through round_on_record too.
 *
 * A failure prints the scenario, its seed and the sim's last events.
 * RFM_ROUND_SOAK=n runs n more random FLO scenarios (seeds 1000.., or from
 * RFM_ROUND_SOAK_FIRST); RFM_ROUND_HOLD_CHECK=0 turns the ANSWER check off
 * (to see what a broken hold does to the records); RFM_ROUND_LOG=1 shows
 * round.c's log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "flo_raw.h"
#include "rfm/score.h"
#include "rfm/store.h"
#include "rfmd/log.h"
#include "rfmd/round.h"
#include "round_internal.h"
#include "round_pop.h"

#define PMAX          16
#define MMAX          8
#define LIVE_MAX      5    /* joins stop at this many live members */
#define TIMEOUT_MS    400  /* round_new's timeout_ms */
#define DT_MAX        12   /* a step advances the clock by 1..DT_MAX ms */
#define RESCORE_MS    1500 /* each member's round_want interval */
#define SESSION_MS    1000 /* a frozen member's partitions move after this */
#define HOLD_LIMIT_MS (2 * TIMEOUT_MS + 2 * DT_MAX)
#define NEVER         INT64_MAX
#define TRACE_N       96
#define T0_MS         ((AS_OF + 43200) * 1000 + 123) /* midday: the wall clock is off the day */

/* ---- the model ---- */

enum { EV_PUT, EV_ORDER, EV_REFUND };

/* One input event; c.cents is the amount of an order or refund, c.last_ts
 * its time. */
typedef struct ev {
    int kind;
    gcust c;
} ev;

typedef struct plog {
    ev *v;
    size_t n, cap;
} plog;

typedef enum evmode { EVM_FLO, EVM_EQUAL, EVM_GROUP, EVM_PREFIX } evmode;

typedef struct task {
    int32_t partition;
    uint32_t uid;
    size_t applied; /* events of the partition's log in the store */
    store *s;
    int64_t ready_at; /* restoring until */
    bool revoked;     /* moved away while its member was frozen: gone when it resumes */
} task;

typedef struct entry {
    uint8_t *buf;
    size_t len;
    int from; /* member index, -1 for foreign garbage */
} entry;

typedef struct topic {
    entry *v;
    size_t n, cap;
} topic;

/* Per mille, per message / record / step / turn as said. */
typedef struct faults {
    unsigned send_refuse, send_drop, send_dup; /* per control message */
    unsigned pub_refuse, pub_drop, pub_dup;    /* per breakpoints record */
    int64_t late_ms;                           /* a duplicate lands up to this much later */
    unsigned junk;                             /* per step: garbage on a topic */
    unsigned lag;                              /* most messages of each topic per turn (0: all) */
    unsigned stall;                            /* per turn: reading stops for up to stall_ms */
    int64_t stall_ms;
    unsigned rewind; /* per turn: the reader seeks back up to 16 messages */
    unsigned move;   /* per step: a partition moves */
    int64_t overlap_ms, gap_ms, restore_ms;
    unsigned freeze;     /* per step: a member stops (for a while or for good) */
    unsigned join;       /* per step: a member joins */
    unsigned parts_fail; /* per step: a member's parts hook says -1 for up to parts_fail_ms */
    int64_t parts_fail_ms;
    unsigned want; /* per step: a random member asks for a round */
} faults;

typedef struct scen {
    const char *name;
    const population *pop;
    evmode evm;
    int bins;
    score_tie_break tie;
    score_clock clock;
    int32_t P;
    unsigned members;
    faults f;
    int64_t fault_ms;
    uint64_t seed;
    bool
        strict; /* no lag: a member other than the coordinator holds nothing right after applying */
} scen;

struct sim;

typedef struct member {
    struct sim *sim;
    int idx;
    uint64_t id;
    round *r; /* NULL: gone */
    round_hooks hooks;
    bool frozen;
    int64_t resume_at;
    unsigned freeze_serial;
    bool drop_revoked_after_turn;
    task t[PMAX];
    size_t nt;
    size_t ctl_pos, rec_pos;
    int64_t stall_until, parts_fail_until, next_want;
    uint64_t last_version, applied;
    int64_t last_read_ms, hold_since;
    bool holding;
    /* The summaries this member put in the control log, newest last. */
    struct sent_summary {
        uint64_t coordinator, version;
        uint32_t attempt;
        uint32_t nparts;
        int32_t partition[PMAX]; /* (the wire carries no uid) */
        int64_t offset[PMAX];
    } sums[8];
    unsigned nsums;
} member;

typedef enum act_kind { ACT_ASSIGN, ACT_REVOKE, ACT_SESSION } act_kind;

typedef struct action {
    int64_t at;
    act_kind kind;
    int member;
    int32_t partition;
    uint32_t uid;
    size_t offset;
    unsigned serial;
} action;

typedef struct late {
    int64_t at;
    topic *t;
    uint8_t *buf;
    size_t len;
    int from;
} late;

typedef struct refent {
    uint64_t version;
    int64_t as_of; /* wall clock: part of the key */
    int64_t offsets[PMAX];
    score_breakpoints bp;
} refent;

typedef struct sim {
    const scen *sc;
    score_settings st;
    faults f;
    int32_t P;
    plog in[PMAX];
    size_t last_applied[PMAX];
    member m[MMAX];
    unsigned nm;
    uint64_t ids[MMAX];
    topic ctl, rec;
    late *late;
    size_t nlate, caplate;
    action *act;
    size_t nact, capact;
    int64_t now;
    int64_t wall_start; /* time(NULL) at the start */
    uint64_t steps;
    uint32_t next_uid;
    uint64_t seq;
    refent *refs;
    size_t nrefs, caprefs;
    store **grave;
    size_t ngrave, capgrave;
    bool wants, produce;
    bool hold_check; /* check_sent's ANSWER check (off: see what the round publishes) */
    uint64_t publishes, published, applies, sent, refused, lost, dups, junk, moves, freezes, joins,
        stalls, rewinds, parts_fails, applies_before;
    uint64_t max_published;
    int64_t published_at; /* now when the last record went into the log */
    round_stats gone;     /* stats of the members freed, summed */
    char trace[TRACE_N][200];
    unsigned ntrace;
} sim;

static bool chance(unsigned permille) {
    return permille && rnd() % 1000 < permille;
}

static void tr(sim *s, const char *fmt, ...) {
    char *line = s->trace[s->ntrace++ % TRACE_N];
    int n = snprintf(line, sizeof s->trace[0], "t=%+.3fs ", (double)(s->now - T0_MS) / 1000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof s->trace[0] - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Fail with the scenario, its seed and the last events of the sim. */
static void sim_fail(sim *s, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned from = s->ntrace > TRACE_N ? s->ntrace - TRACE_N : 0;
    print_message("---- last events of %s (seed %llu) ----\n", s->sc->name,
                  (unsigned long long)s->sc->seed);
    for (unsigned i = from; i < s->ntrace; i++)
        print_message("  %s\n", s->trace[i % TRACE_N]);
    fail_msg("%s (seed %llu), step %llu, t=%+.3fs: %s", s->sc->name,
             (unsigned long long)s->sc->seed, (unsigned long long)s->steps,
             (double)(s->now - T0_MS) / 1000, msg);
}

/* ---- breakpoints, field by field ---- */

static bool bp_same(const score_breakpoints *a, const score_breakpoints *b, char *why, size_t n) {
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

/* ---- logs and stores ---- */

static void *grow(void *v, size_t *cap, size_t n, size_t size) {
    if (n < *cap)
        return v;
    *cap = *cap ? 2 * *cap : 64;
    v = realloc(v, *cap * size);
    assert_non_null(v);
    return v;
}

static void topic_push(topic *t, const uint8_t *buf, size_t len, int from) {
    t->v = grow(t->v, &t->cap, t->n, sizeof *t->v);
    entry *e = &t->v[t->n++];
    e->buf = malloc(len ? len : 1);
    assert_non_null(e->buf);
    if (len)
        memcpy(e->buf, buf, len);
    e->len = len;
    e->from = from;
}

static void apply_ev(store *s, const ev *e) {
    if (e->kind == EV_PUT) {
        put(s, &e->c);
        return;
    }
    bool created = false;
    store_customer *r = e->kind == EV_ORDER ? store_upsert(s, e->c.id, e->c.len, &created)
                                            : store_get(s, e->c.id, e->c.len);
    if (!r)
        return;
    if (e->kind == EV_REFUND) {
        r->monetary_cents = r->monetary_cents > e->c.cents ? r->monetary_cents - e->c.cents : 0;
        return;
    }
    if (created) {
        r->frequency = 0;
        r->monetary_cents = 0;
        r->first_ts = e->c.last_ts;
        r->last_ts = e->c.last_ts;
    }
    r->frequency++;
    r->monetary_cents += e->c.cents;
    if (e->c.last_ts > r->last_ts)
        r->last_ts = e->c.last_ts;
    store_note_ts(s, e->c.last_ts);
}

static void plog_push(plog *l, const ev *e) {
    l->v = grow(l->v, &l->cap, l->n, sizeof *l->v);
    l->v[l->n++] = *e;
}

/* The store of partition p after its first n events. */
static store *store_at_offset(const sim *s, int32_t p, size_t n) {
    store *st = store_new();
    assert_non_null(st);
    assert_true(n <= s->in[p].n);
    for (size_t i = 0; i < n; i++)
        apply_ev(st, &s->in[p].v[i]);
    return st;
}

static int64_t offset_of(size_t applied) {
    return applied ? (int64_t)applied : -1;
}

/* One new event in the mode's spirit: the adversarial sets stay adversarial. */
static void produce_one(sim *s) {
    ev e;
    memset(&e, 0, sizeof e);
    uint32_t ts = s->sc->pop->max_ts + (uint32_t)((s->now - T0_MS) / 1000 * 7200);
    int32_t p = (int32_t)(rnd() % (uint64_t)s->P);
    unsigned pick = (unsigned)(rnd() % 10);
    bool fresh = false;
    switch (s->sc->evm) {
    case EVM_FLO:
        fresh = pick < 2;
        e.kind = pick < 8 ? EV_ORDER : EV_REFUND;
        e.c.cents = 100 + (int64_t)(rnd() % 50000);
        e.c.last_ts = ts;
        break;
    case EVM_EQUAL: /* a new customer exactly like all the others */
        fresh = true;
        e.kind = EV_PUT;
        e.c.freq = 1;
        e.c.cents = 4999;
        e.c.first_ts = e.c.last_ts = (uint32_t)(AS_OF - 5 * DAY);
        break;
    case EVM_GROUP: /* frequency 1 forever: new customers and refunds */
        fresh = pick < 7;
        e.kind = fresh ? EV_PUT : EV_REFUND;
        e.c.freq = 1;
        e.c.cents = (int64_t)(rnd() % 20000);
        e.c.last_ts = ts - (uint32_t)(rnd() % (100 * DAY));
        e.c.first_ts = e.c.last_ts - (uint32_t)(rnd() % (100 * DAY));
        break;
    case EVM_PREFIX: /* new ids on the long stems, orders on old ones */
        fresh = pick < 5;
        e.kind = fresh ? EV_PUT : EV_ORDER;
        e.c.freq = 1 + (uint32_t)(rnd() % 4);
        e.c.cents = (int64_t)(rnd() % 20000);
        e.c.last_ts = ts;
        e.c.first_ts = ts - (uint32_t)(rnd() % (100 * DAY));
        break;
    }
    if (fresh) {
        int stem = s->sc->evm == EVM_PREFIX ? 100 + (int)(rnd() % 2) * 20 : 0;
        memset(e.c.id, 'x', (size_t)stem);
        e.c.len = (size_t)stem + (size_t)snprintf(e.c.id + stem, sizeof e.c.id - (size_t)stem,
                                                  "N%llx", (unsigned long long)s->seq++);
        p = (int32_t)(round_pop_hash(e.c.id, e.c.len) % (uint64_t)s->P);
    } else {
        if (!s->in[p].n)
            return;
        const gcust *o = &s->in[p].v[rnd() % s->in[p].n].c;
        memcpy(e.c.id, o->id, o->len);
        e.c.len = o->len;
    }
    plog_push(&s->in[p], &e);
}

/* ---- hooks ---- */

static void late_push(sim *s, topic *t, const uint8_t *buf, size_t len, int from) {
    s->late = grow(s->late, &s->caplate, s->nlate, sizeof *s->late);
    late *l = &s->late[s->nlate++];
    l->at = s->now + 1 + (int64_t)(rnd() % (uint64_t)s->f.late_ms);
    l->t = t;
    l->buf = malloc(len ? len : 1);
    assert_non_null(l->buf);
    memcpy(l->buf, buf, len);
    l->len = len;
    l->from = from;
}

/* A message onto topic t through the faults: -1 refused, 0 sent (or lost). */
static int transport(sim *s, topic *t, const uint8_t *buf, size_t len, int from, unsigned refuse,
                     unsigned drop, unsigned dup, bool *appended) {
    *appended = false;
    if (chance(refuse)) {
        s->refused++;
        return -1;
    }
    if (chance(drop)) {
        s->lost++;
        return 0;
    }
    *appended = true;
    topic_push(t, buf, len, from);
    if (chance(dup)) {
        s->dups++;
        if (s->f.late_ms > 0 && rnd() % 2)
            late_push(s, t, buf, len, from);
        else
            topic_push(t, buf, len, from);
    }
    return 0;
}

/* The hold, seen in the messages (round_internal.h): an ANSWER counts the
 * stores its member's SUMMARY of that round counted — the same partitions
 * at the same offsets — for every such summary that reached the log (the
 * coordinator takes whichever it reads first). */
static void check_sent(sim *s, member *m, const uint8_t *buf, size_t len, bool appended) {
    round_msg msg;
    char err[256] = "";
    if (round_msg_decode(buf, len, &msg, err, sizeof err))
        sim_fail(s, "m%d sent a control message it cannot decode: %s", m->idx, err);
    if (msg.kind == ROUND_BEGIN)
        tr(s, "m%d BEGIN v%llu a%u", m->idx, (unsigned long long)msg.version, msg.attempt);
    if (msg.kind == ROUND_SUMMARY && appended) {
        if (m->nsums == sizeof m->sums / sizeof *m->sums) {
            memmove(&m->sums[0], &m->sums[1], sizeof m->sums - sizeof m->sums[0]);
            m->nsums--;
        }
        struct sent_summary *x = &m->sums[m->nsums++];
        x->coordinator = msg.coordinator;
        x->version = msg.version;
        x->attempt = msg.attempt;
        x->nparts = msg.nparts;
        assert_true(msg.nparts <= PMAX);
        for (uint32_t i = 0; i < msg.nparts; i++) {
            x->partition[i] = msg.parts[i].partition;
            x->offset[i] = msg.parts[i].offset;
        }
        tr(s, "m%d SUMMARY v%llu a%u of %llx: %u partitions", m->idx,
           (unsigned long long)msg.version, msg.attempt, (unsigned long long)msg.coordinator,
           msg.nparts);
    }
    for (unsigned k = 0; s->hold_check && msg.kind == ROUND_ANSWER && k < m->nsums; k++) {
        const struct sent_summary *x = &m->sums[k];
        if (x->coordinator != msg.coordinator || x->version != msg.version ||
            x->attempt != msg.attempt)
            continue;
        const char *why = x->nparts == m->nt ? NULL : "another number of tasks";
        int32_t part = -1;
        int64_t then = 0, now_at = 0;
        for (uint32_t i = 0; !why && i < x->nparts; i++) {
            size_t j = 0;
            while (j < m->nt && m->t[j].partition != x->partition[i])
                j++;
            if (j == m->nt) {
                why = "a task gone";
            } else if (offset_of(m->t[j].applied) != x->offset[i]) {
                why = "a store moved on";
                part = x->partition[i];
                then = x->offset[i];
                now_at = offset_of(m->t[j].applied);
            }
        }
        if (why)
            sim_fail(s,
                     "m%d answers step %u of v%llu a%u (coordinator %llx) from other stores "
                     "than its summary %u of %u of that round counted: %s (partition %d "
                     "summarized at offset %lld, now at %lld)",
                     m->idx, msg.step, (unsigned long long)msg.version, msg.attempt,
                     (unsigned long long)msg.coordinator, k + 1, m->nsums, why, (int)part,
                     (long long)then, (long long)now_at);
    }
    if (msg.kind == ROUND_ANSWER)
        tr(s, "m%d ANSWER v%llu a%u step %u", m->idx, (unsigned long long)msg.version, msg.attempt,
           msg.step);
    round_msg_clear(&msg);
}

static int send_hook(void *ctx, const uint8_t *buf, size_t len) {
    member *m = ctx;
    sim *s = m->sim;
    if (!buf || !len)
        sim_fail(s, "m%d sent an empty control message", m->idx);
    s->sent++;
    bool appended;
    int rc = transport(s, &s->ctl, buf, len, m->idx, s->f.send_refuse, s->f.send_drop,
                       s->f.send_dup, &appended);
    check_sent(s, m, buf, len, appended);
    return rc;
}

static const score_breakpoints *reference(sim *s, const round_record *rec) {
    int64_t as_of = s->st.clock == SCORE_CLOCK_WALL ? rec->bp.as_of : 0;
    for (size_t i = 0; i < s->nrefs; i++)
        if (s->refs[i].version == rec->version && s->refs[i].as_of == as_of &&
            !memcmp(s->refs[i].offsets, rec->offsets, (size_t)s->P * sizeof(int64_t)))
            return &s->refs[i].bp;
    s->refs = grow(s->refs, &s->caprefs, s->nrefs, sizeof *s->refs);
    refent *r = &s->refs[s->nrefs++];
    memset(r, 0, sizeof *r);
    r->version = rec->version;
    r->as_of = as_of;
    memcpy(r->offsets, rec->offsets, (size_t)s->P * sizeof(int64_t));
    /* The union of the P partitions at those offsets, as one store (a set
     * of stores gives the same bits: test_score_round.c; one store costs
     * one set of mappings instead of P). */
    store *all = store_new();
    assert_non_null(all);
    for (int32_t p = 0; p < s->P; p++)
        for (int64_t i = 0; i < rec->offsets[p]; i++)
            apply_ev(all, &s->in[p].v[i]);
    const store *one = all;
    assert_int_equal(
        score_breakpoints_compute_set(&s->st, &one, 1, as_of, rec->version - 1, &r->bp), 0);
    store_free(all);
    return &r->bp;
}

/* A record against the state it says it covered. */
static void check_record(sim *s, const member *m, const round_record *rec, const char *what) {
    if (rec->partitions != s->P)
        sim_fail(s, "m%d %s v%llu: %d partitions, expected %d", m->idx, what,
                 (unsigned long long)rec->version, (int)rec->partitions, (int)s->P);
    if (rec->version == 0 || rec->bp.version != rec->version)
        sim_fail(s, "m%d %s v%llu: bp.version %llu", m->idx, what, (unsigned long long)rec->version,
                 (unsigned long long)rec->bp.version);
    bool known = false;
    for (unsigned i = 0; i < s->nm; i++)
        known = known || s->ids[i] == rec->coordinator;
    if (!known)
        sim_fail(s, "m%d %s v%llu: coordinator %llx is no member", m->idx, what,
                 (unsigned long long)rec->version, (unsigned long long)rec->coordinator);
    if (rec->members < 1 || rec->members > s->nm || rec->duration_ms < 0)
        sim_fail(s, "m%d %s v%llu: members %u, duration %lld ms", m->idx, what,
                 (unsigned long long)rec->version, rec->members, (long long)rec->duration_ms);
    for (int32_t p = 0; p < s->P; p++)
        if (rec->offsets[p] < -1 || rec->offsets[p] == 0 || rec->offsets[p] > (int64_t)s->in[p].n)
            sim_fail(s, "m%d %s v%llu: partition %d covered at offset %lld (log holds %zu)", m->idx,
                     what, (unsigned long long)rec->version, (int)p, (long long)rec->offsets[p],
                     s->in[p].n);
    /* The BEGIN's now is the real wall clock (round.c reads it), not the
     * simulated now_ms. */
    if (s->st.clock == SCORE_CLOCK_WALL &&
        (rec->bp.as_of < s->wall_start || rec->bp.as_of > (int64_t)time(NULL) + 1))
        sim_fail(s, "m%d %s v%llu: wall-clock as_of %lld outside the run [%lld, now]", m->idx, what,
                 (unsigned long long)rec->version, (long long)rec->bp.as_of,
                 (long long)s->wall_start);
    char why[512];
    if (!bp_same(reference(s, rec), &rec->bp, why, sizeof why))
        sim_fail(s,
                 "m%d %s v%llu (attempt %u, coordinator %llx): breakpoints differ from "
                 "compute_set at the covered offsets: %s",
                 m->idx, what, (unsigned long long)rec->version, rec->attempt,
                 (unsigned long long)rec->coordinator, why);
}

static int publish_hook(void *ctx, const uint8_t *buf, size_t len) {
    member *m = ctx;
    sim *s = m->sim;
    s->publishes++;
    if (!round_is_coordinator(m->r))
        sim_fail(s, "m%d published a record without being the coordinator", m->idx);
    round_record rec;
    memset(&rec, 0, sizeof rec);
    char err[256] = "";
    if (round_record_decode(buf, len, &rec, err, sizeof err))
        sim_fail(s, "m%d published a record it cannot decode: %s", m->idx, err);
    if (rec.coordinator != m->id)
        sim_fail(s, "m%d published v%llu as coordinator %llx", m->idx,
                 (unsigned long long)rec.version, (unsigned long long)rec.coordinator);
    check_record(s, m, &rec, "published");
    tr(s, "m%d publishes v%llu attempt %u (%u members, %u requests)", m->idx,
       (unsigned long long)rec.version, rec.attempt, rec.members, rec.requests);
    bool appended;
    int rc = transport(s, &s->rec, buf, len, m->idx, s->f.pub_refuse, s->f.pub_drop, s->f.pub_dup,
                       &appended);
    if (rc == 0) {
        s->published++;
        s->published_at = s->now;
        if (rec.version > s->max_published)
            s->max_published = rec.version;
    } else {
        tr(s, "  (refused)");
    }
    round_record_clear(&rec);
    return rc;
}

static int parts_hook(void *ctx, round_part *parts, size_t cap) {
    member *m = ctx;
    sim *s = m->sim;
    if (s->now < m->parts_fail_until)
        return -1;
    for (size_t i = 0; i < m->nt; i++)
        if (s->now < m->t[i].ready_at)
            return -1;
    if (m->nt > cap)
        sim_fail(s, "parts hook: room for %zu partitions, %zu owned", cap, m->nt);
    for (size_t i = 0; i < m->nt; i++) {
        parts[i].partition = m->t[i].partition;
        parts[i].uid = m->t[i].uid;
        parts[i].offset = offset_of(m->t[i].applied);
        parts[i].caught_up = m->t[i].applied == s->in[m->t[i].partition].n;
        parts[i].store = m->t[i].s;
    }
    return (int)m->nt;
}

static int apply_hook(void *ctx, const round_record *rec) {
    member *m = ctx;
    sim *s = m->sim;
    if (rec->version <= m->last_version)
        sim_fail(s, "m%d applied v%llu after v%llu", m->idx, (unsigned long long)rec->version,
                 (unsigned long long)m->last_version);
    check_record(s, m, rec, "applied");
    m->last_version = rec->version;
    m->applied++;
    s->applies++;
    tr(s, "m%d applies v%llu", m->idx, (unsigned long long)rec->version);
    return 0;
}

/* ---- membership ---- */

static member *member_add(sim *s) {
    assert_true(s->nm < MMAX);
    member *m = &s->m[s->nm];
    memset(m, 0, sizeof *m);
    m->sim = s;
    m->idx = (int)s->nm;
    do {
        m->id = rnd() | 1;
        for (unsigned i = 0; i < s->nm; i++)
            if (s->ids[i] == m->id)
                m->id = 0;
    } while (!m->id);
    s->ids[s->nm++] = m->id;
    m->hooks = (round_hooks){.ctx = m,
                             .send = send_hook,
                             .publish = publish_hook,
                             .parts = parts_hook,
                             .apply = apply_hook};
    m->r = round_new(&s->st, s->P, m->id, TIMEOUT_MS, &m->hooks);
    assert_non_null(m->r);
    assert_int_equal(round_last(m->r)->version, 0);
    m->ctl_pos = s->ctl.n;
    m->rec_pos = s->rec.n;
    m->resume_at = NEVER;
    m->next_want = s->now + 1 + (int64_t)(rnd() % RESCORE_MS);
    m->last_read_ms = s->now;
    return m;
}

static bool live(const member *m) {
    return m->r && !m->frozen;
}

static unsigned count_live(const sim *s) {
    unsigned n = 0;
    for (unsigned i = 0; i < s->nm; i++)
        n += live(&s->m[i]);
    return n;
}

/* A random live member other than `not` (-1: any); NULL when none. */
static member *pick_live(sim *s, int not ) {
    unsigned n = 0;
    member *c[MMAX];
    for (unsigned i = 0; i < s->nm; i++)
        if (live(&s->m[i]) && (int)i != not )
            c[n++] = &s->m[i];
    return n ? c[rnd() % n] : NULL;
}

static void task_drop(sim *s, member *m, size_t i);

/* A new task of p on m (one task per partition and member: a new one
 * replaces m's old one, as the daemon's tasks table does). */
static void task_add(sim *s, member *m, int32_t p, size_t offset, int64_t restore_ms) {
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i].partition == p) {
            task_drop(s, m, i);
            break;
        }
    assert_true(m->nt < PMAX);
    task *t = &m->t[m->nt++];
    memset(t, 0, sizeof *t);
    t->partition = p;
    t->uid = ++s->next_uid;
    t->applied = offset;
    t->s = store_at_offset(s, p, offset);
    t->ready_at = s->now + (restore_ms > 0 ? (int64_t)(rnd() % (uint64_t)restore_ms) : 0);
    tr(s, "m%d gets partition %d (uid %u, offset %zu, ready in %lld ms)", m->idx, (int)p, t->uid,
       offset, (long long)(t->ready_at - s->now));
}

/* Remove m's i-th task; its store is scribbled on (freed memory) and kept. */
static void task_drop(sim *s, member *m, size_t i) {
    task t = m->t[i];
    m->t[i] = m->t[--m->nt];
    if (t.applied > s->last_applied[t.partition])
        s->last_applied[t.partition] = t.applied;
    for (int k = 0; k < 64; k++) {
        char id[32];
        int len = snprintf(id, sizeof id, "freed%d", k);
        bool created;
        store_customer *c = store_upsert(t.s, id, (size_t)len, &created);
        assert_non_null(c);
        c->frequency = 1 + (uint32_t)k;
        c->monetary_cents = 777;
        c->last_ts = (uint32_t)AS_OF;
    }
    s->grave = grow(s->grave, &s->capgrave, s->ngrave, sizeof *s->grave);
    s->grave[s->ngrave++] = t.s;
    tr(s, "m%d loses partition %d (uid %u)", m->idx, (int)t.partition, t.uid);
}

static void drop_revoked(sim *s, member *m) {
    for (size_t i = m->nt; i-- > 0;)
        if (m->t[i].revoked)
            task_drop(s, m, i);
}

static void act_push(sim *s, const action *a) {
    s->act = grow(s->act, &s->capact, s->nact, sizeof *s->act);
    s->act[s->nact++] = *a;
}

static void member_gone(sim *s, member *m) {
    round_stats st;
    round_get_stats(m->r, &st);
    s->gone.rounds += st.rounds;
    s->gone.attempts += st.attempts;
    s->gone.restarted += st.restarted;
    s->gone.requests += st.requests;
    s->gone.applied += st.applied;
    s->gone.summaries += st.summaries;
    round_free(m->r);
    m->r = NULL;
    while (m->nt)
        task_drop(s, m, m->nt - 1);
    tr(s, "m%d is gone", m->idx);
}

/* Move every task of m that has not moved yet to the live members. */
static void move_all(sim *s, member *m, bool mark_only) {
    for (size_t i = m->nt; i-- > 0;) {
        task *t = &m->t[i];
        if (t->revoked)
            continue;
        member *to = pick_live(s, m->idx);
        assert_non_null(to);
        task_add(s, to, t->partition, t->applied, s->f.restore_ms);
        if (mark_only)
            t->revoked = true;
        else
            task_drop(s, m, i);
    }
}

static void run_action(sim *s, const action *a) {
    member *m = &s->m[a->member];
    switch (a->kind) {
    case ACT_ASSIGN:
        if (!live(m))
            m = pick_live(s, -1);
        task_add(s, m, a->partition, a->offset, s->f.restore_ms);
        break;
    case ACT_REVOKE:
        for (size_t i = 0; i < m->nt; i++)
            if (m->t[i].uid == a->uid) {
                task_drop(s, m, i);
                break;
            }
        break;
    case ACT_SESSION:
        if (!m->r || !m->frozen || m->freeze_serial != a->serial)
            break;
        tr(s, "m%d: session timed out", m->idx);
        if (m->resume_at == NEVER) {
            move_all(s, m, false);
            member_gone(s, m);
        } else {
            move_all(s, m, true);
        }
        break;
    }
}

static void run_actions(sim *s, bool all) {
    for (size_t i = 0; i < s->nact;) {
        if (all || s->act[i].at <= s->now) {
            action a = s->act[i];
            memmove(&s->act[i], &s->act[i + 1], (s->nact - i - 1) * sizeof *s->act);
            s->nact--;
            run_action(s, &a);
        } else {
            i++;
        }
    }
}

/* A partition moves from a live owner to another: at once, with an overlap
 * (both hold it; partition 0: two coordinators) or with a gap (nobody). */
static void move_one(sim *s) {
    int32_t p = (int32_t)(rnd() % (uint64_t)s->P);
    for (unsigned i = 0; i < s->nm; i++) {
        member *m = &s->m[i];
        if (!live(m))
            continue;
        for (size_t k = 0; k < m->nt; k++) {
            task *t = &m->t[k];
            if (t->partition != p || t->revoked)
                continue;
            member *to = pick_live(s, m->idx);
            if (!to)
                return;
            s->moves++;
            unsigned mode = (unsigned)(rnd() % 3);
            if (mode == 1 && s->f.overlap_ms > 0) {
                tr(s, "partition %d: m%d -> m%d with an overlap", (int)p, m->idx, to->idx);
                task_add(s, to, p, t->applied, s->f.restore_ms);
                action a = {.at = s->now + 1 + (int64_t)(rnd() % (uint64_t)s->f.overlap_ms),
                            .kind = ACT_REVOKE,
                            .member = m->idx,
                            .uid = t->uid};
                act_push(s, &a);
            } else if (mode == 2 && s->f.gap_ms > 0) {
                tr(s, "partition %d: m%d -> m%d after a gap", (int)p, m->idx, to->idx);
                action a = {.at = s->now + 1 + (int64_t)(rnd() % (uint64_t)s->f.gap_ms),
                            .kind = ACT_ASSIGN,
                            .member = to->idx,
                            .partition = p,
                            .offset = t->applied};
                act_push(s, &a);
                task_drop(s, m, k);
            } else {
                tr(s, "partition %d: m%d -> m%d", (int)p, m->idx, to->idx);
                task_add(s, to, p, t->applied, s->f.restore_ms);
                task_drop(s, m, k);
            }
            return;
        }
    }
}

static void freeze_one(sim *s) {
    if (count_live(s) < 2)
        return;
    member *m = pick_live(s, -1);
    m->frozen = true;
    m->freeze_serial++;
    m->resume_at = chance(300) ? NEVER : s->now + 200 + (int64_t)(rnd() % 2500);
    s->freezes++;
    tr(s, "m%d freezes (%s)", m->idx, m->resume_at == NEVER ? "for good" : "for a while");
    action a = {.at = s->now + SESSION_MS,
                .kind = ACT_SESSION,
                .member = m->idx,
                .serial = m->freeze_serial};
    act_push(s, &a);
}

static void resume(sim *s, member *m, bool settle) {
    m->frozen = false;
    m->resume_at = NEVER;
    tr(s, "m%d resumes", m->idx);
    if (settle || rnd() % 2)
        drop_revoked(s, m);
    else
        m->drop_revoked_after_turn = true; /* one turn with the stale view */
}

/* A member starting: the newest record there, before the first scoring (the
 * compacted topic keeps the newest record of its key: garbage is not one). */
static void read_newest(sim *s, member *m) {
    size_t newest = s->rec.n;
    round_record probe;
    char err[128];
    while (newest > 0) {
        memset(&probe, 0, sizeof probe);
        const entry *e = &s->rec.v[newest - 1];
        if (round_record_decode(e->buf, e->len, &probe, err, sizeof err) == 0) {
            round_record_clear(&probe);
            break;
        }
        newest--;
    }
    if (newest) {
        entry e = s->rec.v[newest - 1];
        uint64_t before = m->applied;
        int rc = round_on_record(m->r, e.buf, e.len, s->now);
        if (rc < 0 || (rc == 0) != (m->applied > before))
            sim_fail(s, "m%d: round_on_record of the newest record at start: %d", m->idx, rc);
    }
}

static void join_one(sim *s) {
    if (s->nm >= MMAX || count_live(s) >= LIVE_MAX)
        return;
    member *m = member_add(s);
    s->joins++;
    tr(s, "m%d joins", m->idx);
    read_newest(s, m);
    unsigned want = (unsigned)s->P / count_live(s);
    for (unsigned k = 0; k < want; k++) {
        member *from = pick_live(s, m->idx);
        if (!from || !from->nt)
            continue;
        size_t i = (size_t)(rnd() % from->nt);
        if (from->t[i].revoked)
            continue;
        task_add(s, m, from->t[i].partition, from->t[i].applied, s->f.restore_ms);
        task_drop(s, from, i);
    }
}

static void junk_one(sim *s) {
    topic *t = rnd() % 2 ? &s->ctl : &s->rec;
    uint8_t buf[96];
    size_t len;
    if (t->n && rnd() % 2) { /* a truncated copy of a real message */
        const entry *e = &t->v[rnd() % t->n];
        len = e->len ? (size_t)(rnd() % e->len) : 0;
        if (len > sizeof buf)
            len = sizeof buf;
        memcpy(buf, e->buf, len);
    } else {
        len = (size_t)(rnd() % sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
    }
    topic_push(t, buf, len, -1);
    s->junk++;
}

/* ---- a member's turn, a step ---- */

static bool owns(const member *m, int32_t p) {
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i].partition == p)
            return true;
    return false;
}

static void observe_hold(sim *s, member *m) {
    bool h = round_holding(m->r);
    if (h && !m->holding)
        m->hold_since = s->now;
    m->holding = h;
}

static size_t budget(sim *s) {
    return s->f.lag ? 1 + (size_t)(rnd() % s->f.lag) : SIZE_MAX;
}

static void member_turn(sim *s, member *m) {
    round_set_coordinator(m->r, owns(m, 0));
    if (chance(s->f.stall)) {
        m->stall_until = s->now + (int64_t)(rnd() % (uint64_t)s->f.stall_ms);
        s->stalls++;
        tr(s, "m%d stops reading for %lld ms", m->idx, (long long)(m->stall_until - s->now));
    }
    if (chance(s->f.rewind)) {
        size_t back = 1 + (size_t)(rnd() % 16);
        m->ctl_pos = m->ctl_pos > back ? m->ctl_pos - back : 0;
        m->rec_pos = m->rec_pos > back / 4 ? m->rec_pos - back / 4 : 0;
        s->rewinds++;
    }
    if (s->now >= m->stall_until) {
        for (size_t k = budget(s); k && m->rec_pos < s->rec.n; k--) {
            entry e = s->rec.v[m->rec_pos++];
            uint64_t before = m->applied;
            int rc = round_on_record(m->r, e.buf, e.len, s->now);
            if (rc < 0)
                sim_fail(s, "m%d: round_on_record failed", m->idx);
            if ((rc == 0) != (m->applied > before))
                sim_fail(s, "m%d: round_on_record returned %d, %s", m->idx, rc,
                         m->applied > before ? "having applied" : "having applied nothing");
            if (rc == 0 && round_last(m->r)->version != m->last_version)
                sim_fail(s, "m%d: round_last says v%llu, v%llu applied", m->idx,
                         (unsigned long long)round_last(m->r)->version,
                         (unsigned long long)m->last_version);
            if (rc == 0 && s->sc->strict && !round_is_coordinator(m->r) && round_holding(m->r))
                sim_fail(s, "m%d still holds its input after applying v%llu", m->idx,
                         (unsigned long long)m->last_version);
            observe_hold(s, m);
        }
        for (size_t k = budget(s); k && m->ctl_pos < s->ctl.n; k--) {
            entry e = s->ctl.v[m->ctl_pos++];
            if (round_on_control(m->r, e.buf, e.len, s->now))
                sim_fail(s, "m%d: round_on_control failed (message %zu, %zu bytes, from m%d)",
                         m->idx, m->ctl_pos - 1, e.len, e.from);
            m->last_read_ms = s->now;
            observe_hold(s, m);
        }
    }
    if (s->wants && s->now >= m->next_want) {
        round_want(m->r, "interval", s->now);
        m->next_want = s->now + RESCORE_MS;
    }
    if (round_tick(m->r, s->now))
        sim_fail(s, "m%d: round_tick failed", m->idx);
    observe_hold(s, m);
    int64_t quiet = s->now - (m->last_read_ms > m->hold_since ? m->last_read_ms : m->hold_since);
    if (m->holding && quiet > HOLD_LIMIT_MS)
        sim_fail(s,
                 "m%d holds its input %lld ms after the last control message it read "
                 "(timeout %d ms)",
                 m->idx, (long long)quiet, TIMEOUT_MS);
    if (!m->holding)
        for (size_t i = 0; i < m->nt; i++) {
            task *t = &m->t[i];
            if (s->now < t->ready_at)
                continue;
            size_t end = s->in[t->partition].n;
            for (size_t k = budget(s); k && t->applied < end; k--)
                apply_ev(t->s, &s->in[t->partition].v[t->applied++]);
        }
    if (m->drop_revoked_after_turn) {
        m->drop_revoked_after_turn = false;
        drop_revoked(s, m);
    }
}

static void step(sim *s) {
    s->steps++;
    s->now += 1 + (int64_t)(rnd() % DT_MAX);
    for (size_t i = 0; i < s->nlate;) {
        if (s->late[i].at <= s->now) {
            late l = s->late[i];
            s->late[i] = s->late[--s->nlate];
            topic_push(l.t, l.buf, l.len, l.from);
            free(l.buf);
        } else {
            i++;
        }
    }
    run_actions(s, false);
    for (unsigned i = 0; i < s->nm; i++) {
        member *m = &s->m[i];
        if (m->r && m->frozen && s->now >= m->resume_at)
            resume(s, m, false);
    }
    if (chance(s->f.junk))
        junk_one(s);
    if (chance(s->f.move))
        move_one(s);
    if (chance(s->f.freeze))
        freeze_one(s);
    if (chance(s->f.join))
        join_one(s);
    if (chance(s->f.parts_fail)) {
        member *m = pick_live(s, -1);
        m->parts_fail_until = s->now + (int64_t)(rnd() % (uint64_t)s->f.parts_fail_ms);
        s->parts_fails++;
        tr(s, "m%d restoring (parts -1) for %lld ms", m->idx,
           (long long)(m->parts_fail_until - s->now));
    }
    if (s->produce && rnd() % 4 == 0)
        for (int k = 1 + (int)(rnd() % 3); k > 0; k--)
            produce_one(s);
    if (s->wants && chance(s->f.want)) {
        member *m = pick_live(s, -1);
        round_want(m->r, "touched", s->now);
    }
    /* Every live member takes a turn, in a random order. */
    unsigned order[MMAX], n = 0;
    for (unsigned i = 0; i < s->nm; i++)
        if (live(&s->m[i]))
            order[n++] = i;
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)(rnd() % i), x = order[i - 1];
        order[i - 1] = order[j];
        order[j] = x;
    }
    for (unsigned i = 0; i < n; i++)
        if (live(&s->m[order[i]]))
            member_turn(s, &s->m[order[i]]);
}

/* ---- a whole run ---- */

static sim *sim_new(const scen *sc) {
    sim *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->sc = sc;
    score_settings_default(&s->st);
    s->st.bins = sc->bins;
    s->st.tie_break = sc->tie;
    s->st.clock = sc->clock;
    s->f = sc->f;
    s->P = sc->P;
    s->now = T0_MS;
    s->wall_start = (int64_t)time(NULL);
    s->wants = s->produce = true;
    const char *hc = getenv("RFM_ROUND_HOLD_CHECK");
    s->hold_check = !hc || *hc != '0';
    assert_true(sc->P >= 1 && sc->P <= PMAX && sc->members >= 1 && sc->members <= LIVE_MAX);
    for (size_t i = 0; i < sc->pop->n; i++) {
        const gcust *c = &sc->pop->c[i];
        ev e = {.kind = EV_PUT, .c = *c};
        plog_push(&s->in[round_pop_hash(c->id, c->len) % (uint64_t)sc->P], &e);
    }
    rng_state = sc->seed;
    for (unsigned i = 0; i < sc->members; i++)
        member_add(s);
    for (int32_t p = 0; p < s->P; p++)
        task_add(s, &s->m[p % (int32_t)sc->members], p, s->in[p].n, 0);
    /* The roles before anyone asks (the daemon sets them every turn). */
    for (unsigned i = 0; i < s->nm; i++)
        round_set_coordinator(s->m[i].r, owns(&s->m[i], 0));
    return s;
}

static void sim_free(sim *s) {
    for (unsigned i = 0; i < s->nm; i++) {
        member *m = &s->m[i];
        if (m->r)
            round_free(m->r);
        for (size_t k = 0; k < m->nt; k++)
            store_free(m->t[k].s);
    }
    for (size_t i = 0; i < s->ngrave; i++)
        store_free(s->grave[i]);
    for (int32_t p = 0; p < PMAX; p++)
        free(s->in[p].v);
    for (size_t i = 0; i < s->ctl.n; i++)
        free(s->ctl.v[i].buf);
    for (size_t i = 0; i < s->rec.n; i++)
        free(s->rec.v[i].buf);
    for (size_t i = 0; i < s->nlate; i++)
        free(s->late[i].buf);
    free(s->ctl.v);
    free(s->rec.v);
    free(s->late);
    free(s->act);
    free(s->refs);
    free(s->grave);
    free(s);
}

typedef bool (*pred_fn)(sim *s, uint64_t arg);

/* Steps until pred holds; false when ms of simulated time pass first. */
static bool run_until(sim *s, int64_t ms, pred_fn pred, uint64_t arg) {
    int64_t end = s->now + ms;
    while (!pred(s, arg)) {
        if (s->now >= end)
            return false;
        step(s);
    }
    return true;
}

static bool never(sim *s, uint64_t arg) {
    (void)s;
    (void)arg;
    return false;
}

/* Every live member applied a version above arg. */
static bool all_past(sim *s, uint64_t arg) {
    for (unsigned i = 0; i < s->nm; i++)
        if (live(&s->m[i]) && s->m[i].last_version <= arg)
            return false;
    return true;
}

/* Nobody holds, no coordinator has a round, everything was read. */
static bool quiet(sim *s, uint64_t arg) {
    (void)arg;
    if (s->nlate)
        return false;
    for (unsigned i = 0; i < s->nm; i++) {
        const member *m = &s->m[i];
        if (!live(m))
            continue;
        uint32_t attempt = 0;
        if (round_holding(m->r) || round_active_version(m->r, &attempt) || m->ctl_pos < s->ctl.n ||
            m->rec_pos < s->rec.n)
            return false;
    }
    return true;
}

/* With wants and input stopped: quiet (a round whose summaries were not
 * all caught up is followed by one more, ROUND_FOLLOW_UP_MS later), and
 * still quiet, with no record, a while after. */
static void settle_quiet(sim *s) {
    for (int tries = 0;; tries++) {
        if (tries == 5)
            sim_fail(s, "rounds keep coming with nobody asking and no input");
        if (!run_until(s, 30 * TIMEOUT_MS, quiet, 0))
            sim_fail(s, "not quiet %d ms after wants and input stopped", 30 * TIMEOUT_MS);
        uint64_t applies = s->applies;
        run_until(s, ROUND_FOLLOW_UP_MS + 3 * TIMEOUT_MS, never, 0);
        if (quiet(s, 0) && s->applies == applies)
            return;
    }
}

/* Faults off, frozen members back (or gone), one task per partition. */
static void settle(sim *s) {
    memset(&s->f, 0, sizeof s->f);
    run_actions(s, true);
    for (unsigned i = 0; i < s->nm; i++) {
        member *m = &s->m[i];
        if (m->r && m->frozen && m->resume_at == NEVER) {
            move_all(s, m, false);
            member_gone(s, m);
        } else if (m->r && m->frozen) {
            resume(s, m, true);
        }
        if (m->r) {
            drop_revoked(s, m);
            m->drop_revoked_after_turn = false;
            m->stall_until = m->parts_fail_until = 0;
        }
    }
    for (int32_t p = 0; p < s->P; p++) {
        member *keep = NULL;
        uint32_t uid = 0;
        for (unsigned i = 0; i < s->nm; i++)
            for (size_t k = 0; s->m[i].r && k < s->m[i].nt; k++)
                if (s->m[i].t[k].partition == p && s->m[i].t[k].uid > uid) {
                    uid = s->m[i].t[k].uid;
                    keep = &s->m[i];
                }
        for (unsigned i = 0; i < s->nm; i++)
            for (size_t k = s->m[i].nt; s->m[i].r && k-- > 0;)
                if (s->m[i].t[k].partition == p && s->m[i].t[k].uid != uid)
                    task_drop(s, &s->m[i], k);
        if (!keep)
            task_add(s, pick_live(s, -1), p, s->last_applied[p], 0);
    }
    tr(s, "settled: %u live members", count_live(s));
}

static void sum_stats(sim *s, round_stats *t) {
    *t = s->gone;
    for (unsigned i = 0; i < s->nm; i++) {
        const member *m = &s->m[i];
        if (!m->r)
            continue;
        round_stats st;
        round_get_stats(m->r, &st);
        if (st.applied != m->applied)
            sim_fail(s, "m%d: stats say %llu applied, %llu seen", m->idx,
                     (unsigned long long)st.applied, (unsigned long long)m->applied);
        if (st.attempts < st.rounds)
            sim_fail(s, "m%d: %llu rounds in %llu attempts", m->idx, (unsigned long long)st.rounds,
                     (unsigned long long)st.attempts);
        t->rounds += st.rounds;
        t->attempts += st.attempts;
        t->restarted += st.restarted;
        t->requests += st.requests;
        t->applied += st.applied;
        t->summaries += st.summaries;
    }
}

typedef struct outcome {
    round_stats st;
    uint64_t published, applies;
    double wall_s;
} outcome;

/* The fault phase, then: a round completes after settling; quiet; one more
 * round covers exactly the current state. */
static void run_scenario(const scen *sc, outcome *out) {
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    sim *s = sim_new(sc);
    run_until(s, sc->fault_ms, never, 0);
    uint64_t faulty_applies = s->applies;
    settle(s);
    uint64_t v0 = s->max_published;
    for (unsigned i = 0; i < s->nm; i++)
        if (s->m[i].r && s->m[i].last_version > v0)
            v0 = s->m[i].last_version;
    if (!run_until(s, 40 * TIMEOUT_MS, all_past, v0))
        sim_fail(s, "no round completed within %d ms of the faults ending (newest v%llu)",
                 40 * TIMEOUT_MS, (unsigned long long)v0);
    s->wants = s->produce = false;
    settle_quiet(s);
    /* One more round, asked by a random member: it covers the stores as
     * they are now (no input comes any more). */
    uint64_t v1 = 0;
    for (unsigned i = 0; i < s->nm; i++)
        if (live(&s->m[i]) && s->m[i].last_version > v1)
            v1 = s->m[i].last_version;
    round_want(pick_live(s, -1)->r, "final", s->now);
    if (!run_until(s, 20 * TIMEOUT_MS, all_past, v1))
        sim_fail(s, "the final round did not complete");
    for (unsigned i = 0; i < s->nm; i++) {
        const member *m = &s->m[i];
        if (!live(m))
            continue;
        const round_record *last = round_last(m->r);
        for (size_t k = 0; k < m->nt; k++)
            if (last->offsets[m->t[k].partition] != offset_of(m->t[k].applied))
                sim_fail(s, "final v%llu covers partition %d at %lld, its store is at %lld",
                         (unsigned long long)last->version, (int)m->t[k].partition,
                         (long long)last->offsets[m->t[k].partition],
                         (long long)offset_of(m->t[k].applied));
    }
    const store *now_stores[PMAX];
    for (unsigned i = 0; i < s->nm; i++)
        for (size_t k = 0; live(&s->m[i]) && k < s->m[i].nt; k++)
            now_stores[s->m[i].t[k].partition] = s->m[i].t[k].s;
    const round_record *last = round_last(pick_live(s, -1)->r);
    score_breakpoints direct;
    assert_int_equal(
        score_breakpoints_compute_set(&s->st, now_stores, (size_t)s->P,
                                      s->st.clock == SCORE_CLOCK_WALL ? last->bp.as_of : 0,
                                      last->version - 1, &direct),
        0);
    char why[512];
    if (!bp_same(&direct, &last->bp, why, sizeof why))
        sim_fail(s, "final v%llu against the live stores: %s", (unsigned long long)last->version,
                 why);
    settle_quiet(s);
    sum_stats(s, &out->st);
    out->published = s->published;
    out->applies = s->applies;
    clock_gettime(CLOCK_MONOTONIC, &w1);
    out->wall_s = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
    print_message("%-34s seed %-4llu %5.1f s sim, %4.2f s: %3llu records (%llu applied, %llu "
                  "in faults), %llu attempts, %llu restarted; sent %llu, refused %llu, lost "
                  "%llu, dup %llu, junk %llu; moves %llu, freezes %llu, joins %llu, stalls "
                  "%llu, restoring %llu\n",
                  sc->name, (unsigned long long)sc->seed, (double)(s->now - T0_MS) / 1000,
                  out->wall_s, (unsigned long long)s->published, (unsigned long long)s->applies,
                  (unsigned long long)faulty_applies, (unsigned long long)out->st.attempts,
                  (unsigned long long)out->st.restarted, (unsigned long long)s->sent,
                  (unsigned long long)s->refused, (unsigned long long)s->lost,
                  (unsigned long long)s->dups, (unsigned long long)s->junk,
                  (unsigned long long)s->moves, (unsigned long long)s->freezes,
                  (unsigned long long)s->joins, (unsigned long long)s->stalls,
                  (unsigned long long)s->parts_fails);
    sim_free(s);
}

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
        run_scenario(&sc[i], &o);
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
        run_scenario(&x, &o);
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
                run_scenario(&sc, &o);
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
        run_scenario(&sc, &o);
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
    if (!run_until(s, 10 * TIMEOUT_MS, all_past, 0))
        sim_fail(s, "one member: no round");
    assert_int_equal(m->last_version, 1);
    assert_true(round_is_coordinator(m->r));
    if (!run_until(s, 10 * TIMEOUT_MS, quiet, 0))
        sim_fail(s, "one member: not quiet");
    round_want(m->r, "again", s->now);
    if (!run_until(s, 10 * TIMEOUT_MS, all_past, 1))
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
    if (!run_until(s, 10 * TIMEOUT_MS, holding, 1))
        sim_fail(s, "member 1 never summarized");
    c->frozen = true; /* no turn any more: no request, no record */
    c->resume_at = NEVER;
    int64_t released = -1;
    while (s->now < b->last_read_ms + 4 * TIMEOUT_MS) {
        step(s);
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
    run_until(s, 2 * TIMEOUT_MS, never, 0);
    assert_false(round_holding(s->m[1].r));
    assert_false(round_holding(s->m[2].r));
    assert_int_equal(s->applies, 0);
    /* The coordinator comes back: a round completes (its attempt timed out). */
    c->frozen = false;
    s->wants = true;
    round_want(c->r, "again", s->now);
    if (!run_until(s, 20 * TIMEOUT_MS, all_past, 0))
        sim_fail(s, "no round after the coordinator came back");
    s->wants = s->produce = false;
    if (!run_until(s, 20 * TIMEOUT_MS, quiet, 0))
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
        if (!run_until(s, 20 * TIMEOUT_MS, all_past, 0))
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
        if (!run_until(s, 20 * TIMEOUT_MS, quiet, 0))
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
        if (!run_until(s, 10 * TIMEOUT_MS, any_holding_but, 0))
            sim_fail(s, "nobody summarized");
        uint64_t before = s->published;
        for (size_t k = 0; k < a->nt; k++)
            if (a->t[k].partition == 0) {
                task_add(s, b, 0, a->t[k].applied, t ? TIMEOUT_MS / 2 : 0);
                task_drop(s, a, k);
                break;
            }
        assert_true(owns(b, 0) && !owns(a, 0));
        /* The roles at the move (a want made before b knows it coordinates
         * would be its own WANT message, which it ignores once it does). */
        round_set_coordinator(a->r, false);
        round_set_coordinator(b->r, true);
        round_want(b->r, "moved", s->now);
        if (!run_until(s, 20 * TIMEOUT_MS, all_past, 0))
            sim_fail(s, "no round after the coordinator moved");
        assert_int_equal(s->published, before + 1);
        for (unsigned i = 0; i < s->nm; i++)
            assert_int_equal(round_last(s->m[i].r)->coordinator, b->id);
        assert_false(round_is_coordinator(a->r));
        uint32_t attempt = 0;
        assert_int_equal(round_active_version(a->r, &attempt), 0);
        if (!run_until(s, 20 * TIMEOUT_MS, quiet, 0))
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
        if (!run_until(s, 10 * TIMEOUT_MS, holding, 1))
            sim_fail(s, "member 1 never summarized");
        /* b stops reading; refunds of 3 cents wait on 90 % of its customers. */
        b->stall_until = s->now + TIMEOUT_MS + 200;
        size_t n = s->in[1].n;
        for (size_t i = 0; i < n; i++) {
            if (i % 10 == 9)
                continue;
            ev e = {.kind = EV_REFUND, .c = s->in[1].v[i].c};
            e.c.cents = 3;
            plog_push(&s->in[1], &e);
        }
        tr(s, "m1 stops reading; %zu refunds of 3 cents on partition 1", s->in[1].n - n);
        if (!run_until(s, 30 * TIMEOUT_MS, all_past, 0))
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
        if (!run_until(s, 10 * TIMEOUT_MS, all_past, v) || !run_until(s, 10 * TIMEOUT_MS, quiet, 0))
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
            topic_push(&s->rec, e.buf, e.len, e.from);
            break;
        }
    }
    member *n = member_add(s);
    read_newest(s, n);
    assert_int_equal(n->last_version, 1);
    for (size_t k = 0; k < a->nt; k++)
        if (a->t[k].partition == 0) {
            task_add(s, n, 0, a->t[k].applied, 0);
            task_drop(s, a, k);
            break;
        }
    round_set_coordinator(a->r, false);
    round_set_coordinator(n->r, true);
    tr(s, "m%d starts with v1 and coordinates; m0, m1 have v2", n->idx);
    round_want(n->r, "start", s->now);
    bool done = run_until(s, 30 * TIMEOUT_MS, all_past, 2);
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
        if (live(&s->m[i]) && round_is_coordinator(s->m[i].r) &&
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
        if (!run_until(s, 10 * TIMEOUT_MS, coordinator_active, 0))
            sim_fail(s, "round %llu did not begin", (unsigned long long)v + 1);
        int64_t begun = s->now;
        if (v > 0 && (begun - s->published_at < ROUND_GAP_MS ||
                      begun - s->published_at > ROUND_GAP_MS + 2 * DT_MAX))
            sim_fail(s, "round %llu began %lld ms after the previous record (asked %lld ms after)",
                     (unsigned long long)v + 1, (long long)(begun - s->published_at),
                     (long long)(asked - s->published_at));
        if (!run_until(s, 10 * TIMEOUT_MS, all_past, v))
            sim_fail(s, "round %llu did not end", (unsigned long long)v + 1);
    }
    sim_free(s);
}

/* ---- the breakpoints record ---- */

static void record_of(round_record *rec, const score_settings *st, const store *s, int32_t P,
                      uint64_t version) {
    memset(rec, 0, sizeof *rec);
    rec->version = version;
    rec->attempt = (uint32_t)rnd();
    rec->coordinator = rnd();
    rec->partitions = P;
    rec->offsets = malloc((size_t)P * sizeof *rec->offsets);
    assert_non_null(rec->offsets);
    for (int32_t p = 0; p < P; p++)
        rec->offsets[p] = rnd() % 5 == 0   ? -1
                          : rnd() % 7 == 0 ? INT64_MAX - (int64_t)(rnd() % 100)
                                           : 1 + (int64_t)(rnd() % 10000000);
    rec->members = 1 + (unsigned)(rnd() % 64);
    rec->requests = (unsigned)(rnd() % 40);
    rec->bytes = rnd() >> (rnd() % 64);
    rec->duration_ms = (int64_t)(rnd() % 100000);
    rec->begun_wall_ms = T0_MS + (int64_t)(rnd() % 1000000);
    assert_int_equal(score_breakpoints_compute(st, s, 0, version - 1, &rec->bp), 0);
}

static void assert_record_equal(const round_record *a, const round_record *b) {
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->attempt, b->attempt);
    assert_int_equal(a->coordinator, b->coordinator);
    assert_int_equal(a->partitions, b->partitions);
    assert_memory_equal(a->offsets, b->offsets, (size_t)a->partitions * sizeof *a->offsets);
    assert_int_equal(a->members, b->members);
    assert_int_equal(a->requests, b->requests);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->duration_ms, b->duration_ms);
    assert_int_equal(a->begun_wall_ms, b->begun_wall_ms);
    char why[512];
    if (!bp_same(&a->bp, &b->bp, why, sizeof why))
        fail_msg("decoded record: %s", why);
}

static void assert_rejected(const uint8_t *buf, size_t len, const char *what, size_t at) {
    round_record d;
    memset(&d, 0, sizeof d);
    char err[256] = "";
    if (round_record_decode(buf, len, &d, err, sizeof err) == 0)
        fail_msg("%s (at %zu of %zu bytes) decoded", what, at, len);
    if (!err[0])
        fail_msg("%s (at %zu): rejected without a message", what, at);
}

static int count_apply(void *ctx, const round_record *rec) {
    (void)rec;
    ++*(unsigned *)ctx;
    return 0;
}
static int ok_send(void *ctx, const uint8_t *buf, size_t len) {
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}
static int no_parts(void *ctx, round_part *parts, size_t cap) {
    (void)ctx;
    (void)parts;
    (void)cap;
    return 0;
}

static void test_record_codec(void **state) {
    (void)state;
    rng_state = 5;
    static const struct {
        synth kind;
        size_t n;
        int bins;
        score_tie_break tie;
        int32_t P;
    } cases[] = {
        {SYN_LONG_PREFIX, 3000, 5, SCORE_TIE_CUSTOMER_ID, 8},
        {SYN_LONG_PREFIX, 3000, 9, SCORE_TIE_FIRST_ORDER, 1},
        {SYN_MIXED, 2000, 3, SCORE_TIE_FIRST_ORDER, 7},
        {SYN_EQUAL_AMOUNTS, 500, 2, SCORE_TIE_CUSTOMER_ID, 3},
        {SYN_MIXED, 0, 5, SCORE_TIE_CUSTOMER_ID, 2}, /* no customers: invalid cuts */
        {SYN_MIXED, 1000, 5, SCORE_TIE_CUSTOMER_ID, ROUND_MAX_PARTITIONS},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        population pop = {0};
        gen(&pop, cases[c].kind, cases[c].n, 40 + c);
        rng_state = 77 + c;
        store *s = store_new();
        assert_non_null(s);
        for (size_t i = 0; i < pop.n; i++)
            put(s, &pop.c[i]);
        score_settings st;
        score_settings_default(&st);
        st.bins = cases[c].bins;
        st.tie_break = cases[c].tie;
        round_record rec;
        record_of(&rec, &st, s, cases[c].P, 1 + rnd() % 1000000000000ULL);
        size_t len = 0;
        uint8_t *buf = round_record_encode(&rec, &len);
        assert_non_null(buf);
        assert_true(len > 0);
        /* Round trip, and the same bytes again. */
        round_record d;
        memset(&d, 0, sizeof d);
        char err[256] = "";
        if (round_record_decode(buf, len, &d, err, sizeof err))
            fail_msg("case %zu: %s", c, err);
        assert_record_equal(&rec, &d);
        size_t len2 = 0;
        uint8_t *buf2 = round_record_encode(&d, &len2);
        assert_non_null(buf2);
        assert_int_equal(len2, len);
        assert_memory_equal(buf2, buf, len);
        free(buf2);
        round_record_clear(&d);
        /* Truncated anywhere (sampled on the big ones), one bit flipped,
         * one byte more. */
        bool big = len > 4096;
        for (size_t l = 0; l < len; l++)
            if (!big || l < 64 || len - l < 64 || rnd() % 64 == 0)
                assert_rejected(buf, l, "a truncated record", l);
        uint8_t *x = malloc(len + 1);
        assert_non_null(x);
        for (size_t i = 0; i < len; i++)
            for (int b = 0; b < 8; b++) {
                if (big && i >= 64 && len - i >= 64 && rnd() % 256)
                    continue;
                memcpy(x, buf, len);
                x[i] ^= (uint8_t)(1u << b);
                assert_rejected(x, len, "a record with one bit flipped", i);
            }
        memcpy(x, buf, len);
        x[len] = 0;
        assert_rejected(x, len + 1, "a record with a byte more", len);
        free(x);
        /* Through a round: truncated ignored, valid applied once, older
         * ignored, newer applied. */
        if (cases[c].P <= 64) {
            unsigned applied = 0;
            round_hooks h = {.ctx = &applied,
                             .send = ok_send,
                             .publish = ok_send,
                             .parts = no_parts,
                             .apply = count_apply};
            round *r = round_new(&st, cases[c].P, 42, TIMEOUT_MS, &h);
            assert_non_null(r);
            assert_false(round_is_coordinator(r));
            assert_false(round_holding(r));
            assert_int_equal(round_on_record(r, buf, len / 2, T0_MS), 1);
            assert_int_equal(round_on_record(r, buf, 0, T0_MS), 1);
            assert_int_equal(applied, 0);
            assert_int_equal(round_on_record(r, buf, len, T0_MS), 0);
            assert_int_equal(applied, 1);
            assert_int_equal(round_last(r)->version, rec.version);
            assert_record_equal(&rec, round_last(r));
            assert_int_equal(round_on_record(r, buf, len, T0_MS), 1); /* a repeat */
            round_record older;
            record_of(&older, &st, s, cases[c].P, rec.version - 1 ? rec.version - 1 : 1);
            size_t olen;
            uint8_t *obuf = round_record_encode(&older, &olen);
            assert_int_equal(round_on_record(r, obuf, olen, T0_MS), 1);
            free(obuf);
            round_record_clear(&older);
            round_record newer;
            record_of(&newer, &st, s, cases[c].P, rec.version + 5);
            uint8_t *nbuf = round_record_encode(&newer, &olen);
            assert_int_equal(round_on_record(r, nbuf, olen, T0_MS), 0);
            assert_int_equal(applied, 2);
            assert_int_equal(round_last(r)->version, rec.version + 5);
            free(nbuf);
            round_record_clear(&newer);
            /* Garbage on the control topic is counted and ignored. */
            for (int g = 0; g < 200; g++) {
                uint8_t junk[64];
                size_t jl = (size_t)(rnd() % sizeof junk);
                for (size_t i = 0; i < jl; i++)
                    junk[i] = (uint8_t)rnd();
                assert_int_equal(round_on_control(r, junk, jl, T0_MS + g), 0);
            }
            assert_int_equal(round_tick(r, T0_MS + 1000), 0);
            assert_false(round_holding(r));
            round_stats rs;
            round_get_stats(r, &rs);
            assert_int_equal(rs.applied, 2);
            round_free(r);
        }
        free(buf);
        round_record_clear(&rec);
        store_free(s);
        free(pop.c);
    }
    /* Random bytes are no record. */
    for (int g = 0; g < 2000; g++) {
        uint8_t junk[256];
        size_t jl = (size_t)(rnd() % sizeof junk);
        for (size_t i = 0; i < jl; i++)
            junk[i] = (uint8_t)rnd();
        assert_rejected(junk, jl, "random bytes", 0);
    }
    round_record empty;
    memset(&empty, 0, sizeof empty);
    round_record_clear(&empty); /* a zeroed record: no-op */
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
        cmocka_unit_test(test_record_codec),
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
