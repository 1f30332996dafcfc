/*
 * round — one set of breakpoints for the whole consumer group, agreed
 * through two Kafka topics (docs/contract.md §9.2; issue 13). Kafka-free:
 * the daemon hands it the messages its control consumer reads and sends
 * what it asks through hooks (control.h does the Kafka part), so the same
 * code runs against a simulated transport in the tests.
 *
 * Topics: `<group>-control` (one partition: every member sees one order)
 * carries the round's messages; `<group>-breakpoints` (compacted, one
 * partition, one key) the agreed breakpoints records.
 *
 * Roles. The coordinator is whoever owns input partition 0 (Kafka's
 * assignment is the election); every instance is a member, the coordinator
 * too — its own messages go through the topic like everyone's, so one
 * instance is the N = 1 case of the same protocol.
 *
 *   coordinator                          member (every instance)
 *   BEGIN v,a,now  ------------------->  hold input, summarize its RUNNING
 *                                        tasks (score_round_summary_take)
 *                  <-------------------  SUMMARY v,a,member,parts+offsets
 *   coverage: each of the P partitions exactly once (an overlap or a
 *   timeout begins attempt a+1)
 *   REQUEST v,a,step --------------->    answer from the same stores
 *                  <-------------------  ANSWER v,a,step,member
 *   ... until score_round_next says DONE
 *   breakpoints record v -> breakpoints topic ------> every member applies
 *                                        it (round_hooks.apply), releases
 *                                        its input
 *
 * Consistency: between its SUMMARY and the end of the round (the record, a
 * newer BEGIN, or round_timeout without any message of the round) a member
 * holds its input (round_holding): its stores do not change, so every
 * answer counts what the summary counted — and it answers only while its
 * parts hook still gives the summary's partitions, tasks and offsets (a
 * message that got through anyway, a revocation: it sits the attempt out). A member with a task
 * restoring or suspended sends its summary once they are settled. Members keep scoring touched
 * customers with the last agreed breakpoints meanwhile.
 *
 * Messages may be lost, repeated or late: each carries the round id (the
 * version it will produce and the attempt number); anything of another
 * round is ignored, repeats are ignored (score_round checks counts), a lost
 * message ends in the timeout and a new attempt. Records are accepted in
 * version order only (a stale coordinator's older version is ignored).
 *
 * Every object has one owner: round_free frees everything round_new made.
 */
#ifndef RFM_ROUND_H
#define RFM_ROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/score.h"
#include "rfm/store.h"

/* Most input partitions a round covers (a summary lists its partitions). */
#define ROUND_MAX_PARTITIONS 4096

/* One partition a member summarizes: its store and the input offset its
 * state covers (next offset form, -1 when nothing applied yet). */
typedef struct round_part {
    int32_t partition;
    uint32_t uid; /* the task's serial (tasks.h): the same task at answer time */
    int64_t offset;
    bool caught_up; /* at the partition's end with nothing consumed since: when a
                       round's summaries are not all caught up, the coordinator
                       runs another one soon (ROUND_FOLLOW_UP_MS) */
    const store *store;
} round_part;

/* A round whose summaries were not all caught up is followed by another
 * this much later, so the group converges on breakpoints over everything
 * once the input is consumed. */
#define ROUND_FOLLOW_UP_MS 1000

/* What a breakpoints record says besides the breakpoints. */
typedef struct round_record {
    uint64_t version;
    uint32_t attempt;
    uint64_t coordinator; /* member id of the coordinator */
    int32_t partitions;   /* P */
    int64_t *offsets;     /* [P]: the input offset each partition was covered at */
    unsigned members;     /* members that contributed */
    unsigned requests;    /* refinement requests after the summaries */
    uint64_t bytes;       /* control bytes the round exchanged (all members) */
    int64_t duration_ms;  /* BEGIN to the record */
    int64_t begun_wall_ms;
    score_breakpoints bp;
} round_record;

typedef struct round_hooks {
    void *ctx;
    /* Send one control message (the bytes are copied). 0, or -1 when the
     * transport refused it (treated as a lost message). */
    int (*send)(void *ctx, const uint8_t *buf, size_t len);
    /* Coordinator: publish an encoded breakpoints record (copied). 0 or -1. */
    int (*publish)(void *ctx, const uint8_t *buf, size_t len);
    /* Member: the partitions to summarize now, written to parts[0..cap);
     * returns how many, or -1 when not ready (a task restoring or
     * suspended: asked again on the next round_tick). */
    int (*parts)(void *ctx, round_part *parts, size_t cap);
    /* Member: apply agreed breakpoints (rescore this member's customers
     * against rec->bp). 0, or -1 on a fatal failure. */
    int (*apply)(void *ctx, const round_record *rec);
} round_hooks;

typedef struct round_stats {
    uint64_t rounds;          /* records this coordinator published */
    uint64_t attempts;        /* BEGINs this coordinator sent */
    uint64_t restarted;       /* attempts that were given up (overlap, timeout, failure) */
    uint64_t requests;        /* refinement requests sent, all rounds */
    uint64_t bytes_sent;      /* control bytes this member sent */
    uint64_t bytes_received;  /* control bytes this member read */
    uint64_t applied;         /* records applied */
    uint64_t summaries;       /* summaries this member sent */
    int64_t last_duration_ms; /* of the last round this coordinator finished, -1 none */
    int64_t hold_ms_total;    /* input held, all rounds */
} round_stats;

typedef struct round round;

/* A member (and would-be coordinator) with id `member_id` (random, unique
 * in the group), for the input's `partitions` partitions, scoring under st
 * (not copied: must outlive the round). timeout_ms: how long an attempt may
 * go without progress before it is given up. NULL on allocation failure. */
round *round_new(const score_settings *st, int32_t partitions, uint64_t member_id,
                 int64_t timeout_ms, const round_hooks *hooks);
void round_free(round *r);

/* Whether this instance coordinates (owns input partition 0), every turn.
 * Losing the role abandons a round in progress. */
void round_set_coordinator(round *r, bool on);

/* Ask for a round (the daemon's rescore triggers). The coordinator begins
 * one now, or right after the one in progress; a member asks the
 * coordinator (a WANT message, at most one per timeout_ms). */
void round_want(round *r, const char *why, int64_t now_ms);

/* A message read from the control topic. Undecodable ones are counted and
 * ignored. 0, or -1 on a fatal failure (apply failed, out of memory). */
int round_on_control(round *r, const uint8_t *buf, size_t len, int64_t now_ms);

/* A record read from the breakpoints topic (also at start, before the
 * first scoring: the newest one there). Applied when its version is newer
 * than the last applied one. 0, 1 when ignored (stale, undecodable), -1
 * on a fatal failure. */
int round_on_record(round *r, const uint8_t *buf, size_t len, int64_t now_ms);

/* Timeouts, deferred summaries and deferred rounds; every turn. 0 or -1. */
int round_tick(round *r, int64_t now_ms);

/* The member holds its input now (summary sent, round not over). */
bool round_holding(const round *r);

/* The last applied record (version 0 before any), for /breakpoints. */
const round_record *round_last(const round *r);

/* The coordinator's round in progress: its version and attempt, 0 when
 * none. */
uint64_t round_active_version(const round *r, uint32_t *attempt);

bool round_is_coordinator(const round *r);
uint64_t round_member_id(const round *r);
void round_get_stats(const round *r, round_stats *out);

/* ---- the breakpoints record, on its own (rfmctl, tests) ---- */

/* Encode rec (malloc'd, *len its size; NULL on allocation failure). */
uint8_t *round_record_encode(const round_record *rec, size_t *len);
/* Decode into *rec (rec->offsets malloc'd: round_record_clear frees it).
 * 0, or -1 with a message in err. */
int round_record_decode(const uint8_t *buf, size_t len, round_record *rec, char *err,
                        size_t errlen);
void round_record_clear(round_record *rec);

#endif
