/*
 * round_sim — the simulated group (round_sim.h): the model, the transport
 * and its faults, membership, a member's turn and a step, a whole run.
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

#include "bp_same.h"
#include "round_internal.h"
#include "round_sim.h"
#include "test_rng.h"

static bool chance(unsigned permille) {
    return permille && rnd() % 1000 < permille;
}

void sim_trace(sim *s, const char *fmt, ...) {
    char *line = s->trace[s->ntrace++ % TRACE_N];
    int n = snprintf(line, sizeof s->trace[0], "t=%+.3fs ", (double)(s->now - T0_MS) / 1000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof s->trace[0] - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Fail with the scenario, its seed and the last events of the sim. */
void sim_fail(sim *s, const char *fmt, ...) {
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

/* ---- logs and stores ---- */

static void *grow(void *v, size_t *cap, size_t n, size_t size) {
    if (n < *cap)
        return v;
    *cap = *cap ? 2 * *cap : 64;
    v = realloc(v, *cap * size);
    assert_non_null(v);
    return v;
}

void sim_topic_push(topic *t, const uint8_t *buf, size_t len, int from) {
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

void sim_plog_push(plog *l, const ev *e) {
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
    sim_plog_push(&s->in[p], &e);
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
    sim_topic_push(t, buf, len, from);
    if (chance(dup)) {
        s->dups++;
        if (s->f.late_ms > 0 && rnd() % 2)
            late_push(s, t, buf, len, from);
        else
            sim_topic_push(t, buf, len, from);
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
        sim_trace(s, "m%d BEGIN v%llu a%u", m->idx, (unsigned long long)msg.version, msg.attempt);
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
        sim_trace(s, "m%d SUMMARY v%llu a%u of %llx: %u partitions", m->idx,
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
        sim_trace(s, "m%d ANSWER v%llu a%u step %u", m->idx, (unsigned long long)msg.version,
                  msg.attempt, msg.step);
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
    sim_trace(s, "m%d publishes v%llu attempt %u (%u members, %u requests)", m->idx,
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
        sim_trace(s, "  (refused)");
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
    sim_trace(s, "m%d applies v%llu", m->idx, (unsigned long long)rec->version);
    return 0;
}

/* ---- membership ---- */

member *sim_member_add(sim *s) {
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

bool sim_live(const member *m) {
    return m->r && !m->frozen;
}

static unsigned count_live(const sim *s) {
    unsigned n = 0;
    for (unsigned i = 0; i < s->nm; i++)
        n += sim_live(&s->m[i]);
    return n;
}

/* A random live member other than `not` (-1: any); NULL when none. */
static member *pick_live(sim *s, int not ) {
    unsigned n = 0;
    member *c[MMAX];
    for (unsigned i = 0; i < s->nm; i++)
        if (sim_live(&s->m[i]) && (int)i != not )
            c[n++] = &s->m[i];
    return n ? c[rnd() % n] : NULL;
}

/* A new task of p on m (one task per partition and member: a new one
 * replaces m's old one, as the daemon's tasks table does). */
void sim_task_add(sim *s, member *m, int32_t p, size_t offset, int64_t restore_ms) {
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i].partition == p) {
            sim_task_drop(s, m, i);
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
    sim_trace(s, "m%d gets partition %d (uid %u, offset %zu, ready in %lld ms)", m->idx, (int)p,
              t->uid, offset, (long long)(t->ready_at - s->now));
}

/* Remove m's i-th task; its store is scribbled on (freed memory) and kept. */
void sim_task_drop(sim *s, member *m, size_t i) {
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
    sim_trace(s, "m%d loses partition %d (uid %u)", m->idx, (int)t.partition, t.uid);
}

static void drop_revoked(sim *s, member *m) {
    for (size_t i = m->nt; i-- > 0;)
        if (m->t[i].revoked)
            sim_task_drop(s, m, i);
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
        sim_task_drop(s, m, m->nt - 1);
    sim_trace(s, "m%d is gone", m->idx);
}

/* Move every task of m that has not moved yet to the live members. */
static void move_all(sim *s, member *m, bool mark_only) {
    for (size_t i = m->nt; i-- > 0;) {
        task *t = &m->t[i];
        if (t->revoked)
            continue;
        member *to = pick_live(s, m->idx);
        assert_non_null(to);
        sim_task_add(s, to, t->partition, t->applied, s->f.restore_ms);
        if (mark_only)
            t->revoked = true;
        else
            sim_task_drop(s, m, i);
    }
}

static void run_action(sim *s, const action *a) {
    member *m = &s->m[a->member];
    switch (a->kind) {
    case ACT_ASSIGN:
        if (!sim_live(m))
            m = pick_live(s, -1);
        sim_task_add(s, m, a->partition, a->offset, s->f.restore_ms);
        break;
    case ACT_REVOKE:
        for (size_t i = 0; i < m->nt; i++)
            if (m->t[i].uid == a->uid) {
                sim_task_drop(s, m, i);
                break;
            }
        break;
    case ACT_SESSION:
        if (!m->r || !m->frozen || m->freeze_serial != a->serial)
            break;
        sim_trace(s, "m%d: session timed out", m->idx);
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
        if (!sim_live(m))
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
                sim_trace(s, "partition %d: m%d -> m%d with an overlap", (int)p, m->idx, to->idx);
                sim_task_add(s, to, p, t->applied, s->f.restore_ms);
                action a = {.at = s->now + 1 + (int64_t)(rnd() % (uint64_t)s->f.overlap_ms),
                            .kind = ACT_REVOKE,
                            .member = m->idx,
                            .uid = t->uid};
                act_push(s, &a);
            } else if (mode == 2 && s->f.gap_ms > 0) {
                sim_trace(s, "partition %d: m%d -> m%d after a gap", (int)p, m->idx, to->idx);
                action a = {.at = s->now + 1 + (int64_t)(rnd() % (uint64_t)s->f.gap_ms),
                            .kind = ACT_ASSIGN,
                            .member = to->idx,
                            .partition = p,
                            .offset = t->applied};
                act_push(s, &a);
                sim_task_drop(s, m, k);
            } else {
                sim_trace(s, "partition %d: m%d -> m%d", (int)p, m->idx, to->idx);
                sim_task_add(s, to, p, t->applied, s->f.restore_ms);
                sim_task_drop(s, m, k);
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
    sim_trace(s, "m%d freezes (%s)", m->idx, m->resume_at == NEVER ? "for good" : "for a while");
    action a = {.at = s->now + SESSION_MS,
                .kind = ACT_SESSION,
                .member = m->idx,
                .serial = m->freeze_serial};
    act_push(s, &a);
}

static void resume(sim *s, member *m, bool settle) {
    m->frozen = false;
    m->resume_at = NEVER;
    sim_trace(s, "m%d resumes", m->idx);
    if (settle || rnd() % 2)
        drop_revoked(s, m);
    else
        m->drop_revoked_after_turn = true; /* one turn with the stale view */
}

/* A member starting: the newest record there, before the first scoring (the
 * compacted topic keeps the newest record of its key: garbage is not one). */
void sim_read_newest(sim *s, member *m) {
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
    member *m = sim_member_add(s);
    s->joins++;
    sim_trace(s, "m%d joins", m->idx);
    sim_read_newest(s, m);
    unsigned want = (unsigned)s->P / count_live(s);
    for (unsigned k = 0; k < want; k++) {
        member *from = pick_live(s, m->idx);
        if (!from || !from->nt)
            continue;
        size_t i = (size_t)(rnd() % from->nt);
        if (from->t[i].revoked)
            continue;
        sim_task_add(s, m, from->t[i].partition, from->t[i].applied, s->f.restore_ms);
        sim_task_drop(s, from, i);
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
    sim_topic_push(t, buf, len, -1);
    s->junk++;
}

/* ---- a member's turn, a step ---- */

bool sim_owns(const member *m, int32_t p) {
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
    round_set_coordinator(m->r, sim_owns(m, 0));
    if (chance(s->f.stall)) {
        m->stall_until = s->now + (int64_t)(rnd() % (uint64_t)s->f.stall_ms);
        s->stalls++;
        sim_trace(s, "m%d stops reading for %lld ms", m->idx, (long long)(m->stall_until - s->now));
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

void sim_step(sim *s) {
    s->steps++;
    s->now += 1 + (int64_t)(rnd() % DT_MAX);
    for (size_t i = 0; i < s->nlate;) {
        if (s->late[i].at <= s->now) {
            late l = s->late[i];
            s->late[i] = s->late[--s->nlate];
            sim_topic_push(l.t, l.buf, l.len, l.from);
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
        sim_trace(s, "m%d restoring (parts -1) for %lld ms", m->idx,
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
        if (sim_live(&s->m[i]))
            order[n++] = i;
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)(rnd() % i), x = order[i - 1];
        order[i - 1] = order[j];
        order[j] = x;
    }
    for (unsigned i = 0; i < n; i++)
        if (sim_live(&s->m[order[i]]))
            member_turn(s, &s->m[order[i]]);
}

/* ---- a whole run ---- */

sim *sim_new(const scen *sc) {
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
        sim_plog_push(&s->in[round_pop_hash(c->id, c->len) % (uint64_t)sc->P], &e);
    }
    rng_state = sc->seed;
    for (unsigned i = 0; i < sc->members; i++)
        sim_member_add(s);
    for (int32_t p = 0; p < s->P; p++)
        sim_task_add(s, &s->m[p % (int32_t)sc->members], p, s->in[p].n, 0);
    /* The roles before anyone asks (the daemon sets them every turn). */
    for (unsigned i = 0; i < s->nm; i++)
        round_set_coordinator(s->m[i].r, sim_owns(&s->m[i], 0));
    return s;
}

void sim_free(sim *s) {
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

/* Steps until pred holds; false when ms of simulated time pass first. */
bool sim_run_until(sim *s, int64_t ms, sim_pred pred, uint64_t arg) {
    int64_t end = s->now + ms;
    while (!pred(s, arg)) {
        if (s->now >= end)
            return false;
        sim_step(s);
    }
    return true;
}

bool sim_never(sim *s, uint64_t arg) {
    (void)s;
    (void)arg;
    return false;
}

/* Every live member applied a version above arg. */
bool sim_all_past(sim *s, uint64_t arg) {
    for (unsigned i = 0; i < s->nm; i++)
        if (sim_live(&s->m[i]) && s->m[i].last_version <= arg)
            return false;
    return true;
}

/* Nobody holds, no coordinator has a round, everything was read. */
bool sim_quiet(sim *s, uint64_t arg) {
    (void)arg;
    if (s->nlate)
        return false;
    for (unsigned i = 0; i < s->nm; i++) {
        const member *m = &s->m[i];
        if (!sim_live(m))
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
        if (!sim_run_until(s, 30 * TIMEOUT_MS, sim_quiet, 0))
            sim_fail(s, "not quiet %d ms after wants and input stopped", 30 * TIMEOUT_MS);
        uint64_t applies = s->applies;
        sim_run_until(s, ROUND_FOLLOW_UP_MS + 3 * TIMEOUT_MS, sim_never, 0);
        if (sim_quiet(s, 0) && s->applies == applies)
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
                    sim_task_drop(s, &s->m[i], k);
        if (!keep)
            sim_task_add(s, pick_live(s, -1), p, s->last_applied[p], 0);
    }
    sim_trace(s, "settled: %u live members", count_live(s));
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

/* The fault phase, then: a round completes after settling; quiet; one more
 * round covers exactly the current state. */
void sim_run_scenario(const scen *sc, outcome *out) {
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    sim *s = sim_new(sc);
    sim_run_until(s, sc->fault_ms, sim_never, 0);
    uint64_t faulty_applies = s->applies;
    settle(s);
    uint64_t v0 = s->max_published;
    for (unsigned i = 0; i < s->nm; i++)
        if (s->m[i].r && s->m[i].last_version > v0)
            v0 = s->m[i].last_version;
    if (!sim_run_until(s, 40 * TIMEOUT_MS, sim_all_past, v0))
        sim_fail(s, "no round completed within %d ms of the faults ending (newest v%llu)",
                 40 * TIMEOUT_MS, (unsigned long long)v0);
    s->wants = s->produce = false;
    settle_quiet(s);
    /* One more round, asked by a random member: it covers the stores as
     * they are now (no input comes any more). */
    uint64_t v1 = 0;
    for (unsigned i = 0; i < s->nm; i++)
        if (sim_live(&s->m[i]) && s->m[i].last_version > v1)
            v1 = s->m[i].last_version;
    round_want(pick_live(s, -1)->r, "final", s->now);
    if (!sim_run_until(s, 20 * TIMEOUT_MS, sim_all_past, v1))
        sim_fail(s, "the final round did not complete");
    for (unsigned i = 0; i < s->nm; i++) {
        const member *m = &s->m[i];
        if (!sim_live(m))
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
        for (size_t k = 0; sim_live(&s->m[i]) && k < s->m[i].nt; k++)
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
