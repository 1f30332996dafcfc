/*
 * round_sim — the simulated group that test_round drives: N members, each
 * a round* (src/rfmd/round.h) of its own, on a simulated transport, no
 * broker. The scenarios (test_round.c) build a scen, run it with
 * sim_run_scenario or step it themselves (sim_new, sim_run_until, sim_free)
 * and reach into the sim struct to script what they test.
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
 * round_get_stats: applied as counted, restarts seen where faults force
 * them, none on a clean run.
 *
 * A failure prints the scenario, its seed and the sim's last events.
 * RFM_ROUND_HOLD_CHECK=0 turns the ANSWER check off (to see what a broken
 * hold does to the records).
 */
#ifndef RFM_TESTS_ROUND_SIM_H
#define RFM_TESTS_ROUND_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/score.h"
#include "rfm/store.h"
#include "rfmd/round.h"
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

/* What a whole run gave: the members' stats summed, records published and
 * applied, the wall time it took. */
typedef struct outcome {
    round_stats st;
    uint64_t published, applies;
    double wall_s;
} outcome;

/* A predicate of sim_run_until; arg is the caller's. */
typedef bool (*sim_pred)(sim *s, uint64_t arg);

/* A new sim of scenario sc (kept by reference): the population in the
 * input logs, sc->members members, the partitions dealt round robin, the
 * coordinator role set; rng seeded from sc->seed. Fails the test on error. */
sim *sim_new(const scen *sc);
/* Frees the members, logs and every store ever made. NULL is a no-op. */
void sim_free(sim *s);

/* One step: the clock moves 1..DT_MAX ms, faults and actions fire, input is
 * produced, every live unfrozen member takes its turn. */
void sim_step(sim *s);
/* Steps until pred holds; false when ms of simulated time pass first. */
bool sim_run_until(sim *s, int64_t ms, sim_pred pred, uint64_t arg);
/* Predicates: never true (run for a time); every live member applied a
 * version above arg; nobody holds, no coordinator has a round, everything
 * was read. */
bool sim_never(sim *s, uint64_t arg);
bool sim_all_past(sim *s, uint64_t arg);
bool sim_quiet(sim *s, uint64_t arg);

/* The fault phase, then: a round completes after settling; quiet; one more
 * round covers exactly the current state. Fills *out; fails the test on
 * any check. */
void sim_run_scenario(const scen *sc, outcome *out);

/* A line in the trace a failure prints (printf-style, the time first). */
void sim_trace(sim *s, const char *fmt, ...);
/* Fail with the scenario, its seed and the last events of the sim. */
void sim_fail(sim *s, const char *fmt, ...);

/* Membership: a new member (no tasks; reads from the logs' ends); a member
 * that is there (not freed); whether m holds a task of partition p. */
member *sim_member_add(sim *s);
bool sim_live(const member *m);
bool sim_owns(const member *m, int32_t p);
/* m gets partition p's task restored at log offset `offset`, "restoring"
 * for restore_ms; remove m's i-th task (its store is scribbled on, as
 * freed memory would be, and kept to the end). */
void sim_task_add(sim *s, member *m, int32_t p, size_t offset, int64_t restore_ms);
void sim_task_drop(sim *s, member *m, size_t i);
/* A member starting: the newest record on the breakpoints log, before its
 * first scoring. */
void sim_read_newest(sim *s, member *m);

/* Append a message (copied; from: member index, -1 foreign) to a topic;
 * an event to a partition's input log. */
void sim_topic_push(topic *t, const uint8_t *buf, size_t len, int from);
void sim_plog_push(plog *l, const ev *e);

#endif
