/*
 * round_internal — the group round's state and control messages (round.h),
 * shared by its files only:
 *
 *   round.c         the API: messages and records dispatched, the role
 *   round_coord.c   the coordinator's state machine
 *   round_member.c  the member's state machine
 *   round_wire.c    the byte form of messages and records
 *
 * Every message names the round it belongs to by (coordinator, version,
 * attempt): a new coordinator may reuse a version a previous one tried, so
 * the version alone is not enough to tell a late message from a current
 * one.
 */
#ifndef RFM_ROUND_INTERNAL_H
#define RFM_ROUND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/score_round.h"
#include "round.h"

typedef enum round_kind {
    ROUND_BEGIN = 1,   /* coordinator -> all: summarize now */
    ROUND_SUMMARY = 2, /* member -> coordinator: partitions, offsets, summary */
    ROUND_REQUEST = 3, /* coordinator -> all: refinement request `step` */
    ROUND_ANSWER = 4,  /* member -> coordinator: answer to `step` */
    ROUND_WANT = 5,    /* member -> coordinator: a round, please (`why`) */
} round_kind;

typedef struct round_msg {
    round_kind kind;
    uint64_t coordinator; /* whose round */
    uint64_t version;     /* the breakpoints version it will produce */
    uint32_t attempt;
    uint64_t sender; /* member id */
    /* BEGIN */
    int64_t now; /* epoch seconds every member scores against */
    int32_t partitions;
    /* SUMMARY */
    uint32_t nparts;
    round_part *parts; /* partition, offset, caught_up (store NULL) */
    /* REQUEST, ANSWER */
    uint32_t step;
    /* SUMMARY, REQUEST, ANSWER: the engine's wire bytes (score_round.h) */
    const uint8_t *payload;
    size_t payload_len;
    /* WANT */
    char why[64];
} round_msg;

/* Encode m (malloc'd; *len its size). NULL on allocation failure. */
uint8_t *round_msg_encode(const round_msg *m, size_t *len);

/* Decode buf[0..len) into *m: payload points into buf, parts is malloc'd
 * (round_msg_clear). 0, or -1 with a message in err. */
int round_msg_decode(const uint8_t *buf, size_t len, round_msg *m, char *err, size_t errlen);
void round_msg_clear(round_msg *m);

const char *round_kind_name(round_kind k);

/* ---- the state (round.c, round_coord.c, round_member.c) ---- */

#define ROUND_RETRY_MS 250 /* a given-up attempt's successor waits this long */
/* A round begins at least this long after the last one this coordinator
 * finished: every member's input is paused while it holds, so rounds back
 * to back (a caught-up WANT right after a round that was not all caught
 * up, a WANT from each member in turn) would starve the members still
 * behind, and each round would find them where the last one did. */
#define ROUND_GAP_MS      1000
#define ROUND_MAX_MEMBERS 1024
#define ROUND_SEEN        32 /* attempts a member remembers having summarized for */

typedef enum co_phase { CO_IDLE, CO_COLLECT, CO_ASK } co_phase;
typedef enum me_phase { ME_IDLE, ME_PENDING, ME_HELD } me_phase;

/* One attempt: whose, which version, which attempt. */
typedef struct round_id3 {
    uint64_t coordinator, version;
    uint32_t attempt;
} round_id3;

typedef struct co_member {
    uint64_t id;
    score_round_summary *summary;
    bool answered; /* the current request */
} co_member;

struct round {
    const score_settings *st;
    int32_t nparts;
    uint64_t id;
    int64_t timeout_ms;
    round_hooks h;
    bool coordinator;

    /* ---- coordinator ---- */
    co_phase phase;
    uint64_t version;  /* of the round in progress */
    uint32_t attempt;  /* counts every attempt of this process's life */
    int64_t begin_now; /* the BEGIN's now (epoch s) */
    int64_t begun_ms;  /* monotonic, this attempt */
    int64_t begun_wall_ms;
    int64_t progress_ms; /* last step forward */
    int64_t resent_ms;   /* last send of BEGIN / the request */
    int64_t finished_ms; /* the last record this coordinator published */
    bool want;           /* a round is wanted ... */
    int64_t want_at_ms;  /* ... from then on */
    char want_why[64];
    score_round *sr;
    int64_t *offsets; /* [nparts] covered offsets */
    uint8_t *covered; /* [nparts] */
    int32_t ncovered;
    bool all_caught_up;
    co_member *members; /* [ROUND_MAX_MEMBERS] */
    unsigned nmembers;
    uint32_t step;
    uint8_t *sent; /* the BEGIN or request last sent, for resends */
    size_t sent_len;
    uint64_t round_bytes; /* this attempt's messages, everyone's */
    uint64_t published;   /* highest version this process published */

    /* ---- member ---- */
    me_phase mphase;
    uint64_t m_coord, m_version;
    uint32_t m_attempt;
    int64_t m_now;
    round_id3 seen[ROUND_SEEN]; /* attempts summarized for, a ring */
    bool want_caught_up;        /* a summary was not all caught up: ask once it is */
    unsigned nseen;
    int64_t m_activity_ms;
    int64_t hold_since_ms;
    round_part *mparts; /* [nparts] summarized */
    size_t nmparts;
    round_part *scratch; /* [nparts] */
    uint8_t *summary;    /* the SUMMARY sent, for a repeated BEGIN */
    size_t summary_len;
    int64_t last_want_ms;

    int64_t now_ms;    /* the latest now_ms handed in */
    round_record last; /* last applied */
    round_stats stats;
};

/* Send m through the hooks (counted in bytes_sent; a refused send counts
 * as lost); keep: hold the bytes for round_resend. 0, or -1 out of memory. */
int round_send(round *r, const round_msg *m, bool keep);
/* Send the kept bytes again (BEGIN, the current request). */
void round_resend(round *r, int64_t now_ms);
/* round_want; false when a member's WANT was not sent (one per
 * ROUND_FOLLOW_UP_MS): ask again later. */
bool round_ask(round *r, const char *why, int64_t now_ms);

/* round_coord.c: drop the attempt in progress (none after). */
void round_coord_reset(round *r);
/* A SUMMARY / ANSWER of this coordinator's attempt in progress. 0 or -1. */
int round_coord_on_summary(round *r, const round_msg *m, int64_t now_ms);
int round_coord_on_answer(round *r, const round_msg *m, int64_t now_ms);
/* Timeouts, resends, a wanted round begun. 0 or -1. */
int round_coord_tick(round *r, int64_t now_ms);

/* round_member.c: let go of the attempt held (input released). */
void round_member_release(round *r, int64_t now_ms);
/* A BEGIN / REQUEST read (anyone's). 0 or -1. */
int round_member_on_begin(round *r, const round_msg *m, int64_t now_ms);
int round_member_on_request(round *r, const round_msg *m, int64_t now_ms);
/* A pending summary, the hold's timeout. 0 or -1. */
int round_member_tick(round *r, int64_t now_ms);

#endif
