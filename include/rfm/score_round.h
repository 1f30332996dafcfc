/*
 * score_round — breakpoints over stores that live in different processes,
 * bit-identical to score_breakpoints_compute_set over all of them, computed
 * from small messages only (issue 13, SCALE-OUT.md "Breakpoints across
 * instances").
 *
 * Roles. Each *member* holds some stores (one per owned input partition). The
 * *coordinator* merges what the members send and produces the breakpoints.
 * One process may be both; the N = 1 case is one member.
 *
 *   member                                coordinator
 *   score_round_summary_take  --summary-->  score_round_add_summary (each)
 *                                           score_round_next -> ASK | DONE
 *   score_round_answer_make <--request---   score_round_request
 *                              --answer-->  score_round_add_answer (each)
 *                                           score_round_next -> ASK | DONE
 *                                           ... score_round_result
 *
 * What travels (never a customer record, never a whole tie group):
 *  - summary: n (customers with frequency > 0), the newest order time, a
 *    recency histogram keyed by day, a sparse frequency histogram, sparse
 *    counts per monetary bucket (score_bucket of cents);
 *  - request: for each unresolved monetary order statistic, a value range to
 *    count in at most SCORE_ROUND_SLOTS equal slots (narrowing until one
 *    value); for each unresolved F cut, a frequency and a tie-key prefix;
 *  - answer: the slot counts (sparse), and for each prefix how many keys of
 *    the group extend it, their longest common prefix, whether that prefix
 *    is itself a key (with its first order time) and the counts by the byte
 *    after it. The coordinator descends one or more key bytes per round
 *    until the cut key is exact.
 * The coordinator then feeds the same integers through the same qpoint,
 * lerp and cut code as the single-process path (score_internal.h).
 *
 * Tie keys as bytes: customer_id mode orders by the id bytes (a proper prefix
 * first); first_order mode by the 4-byte big-endian first order time, then
 * the id bytes — one byte string per customer in both modes, compared with
 * memcmp and length, the order score_tie_compare gives.
 *
 * Recency without as_of: with the event clock as_of is a whole day
 * (newest day + offset), so recency = max(0, as_of/day - ceil(last_ts/day))
 * and the member histograms ceil(last_ts/day) before as_of is known. With a
 * wall or fixed clock every member is handed the same `now` (the daemon
 * carries it in the round's BEGIN); the day key is then shifted by as_of's
 * time of day, and the summary records the as_of it assumed so the
 * coordinator can reject members that disagree.
 *
 * Messages are plain values: any can be lost or repeated by the transport;
 * the coordinator checks counts (every answer must add up to what the
 * previous step predicted) and rejects what does not fit. Sequencing,
 * attempts and membership are the caller's (the daemon's round).
 *
 * Every object has one owner: whoever took, decoded or created it frees it.
 */
#ifndef RFM_SCORE_ROUND_H
#define RFM_SCORE_ROUND_H

#include <stddef.h>
#include <stdint.h>

#include "rfm/score.h"
#include "rfm/store.h"

/* Slots a monetary range is counted in per request. */
#define SCORE_ROUND_SLOTS 4096
/* Longest tie key in bytes: 4 bytes of first order time + the id. */
#define SCORE_ROUND_KEY_MAX (4 + STORE_KEY_MAX)

typedef struct score_round_summary score_round_summary; /* member -> coordinator */
typedef struct score_round_request score_round_request; /* coordinator -> members */
typedef struct score_round_answer score_round_answer;   /* member -> coordinator */
typedef struct score_round score_round;                 /* the coordinator's state */

/* ---- member side ---- */

/* The summary of stores[0..nstores) under st (now as for
 * score_breakpoints_compute_set: the same value on every member and the
 * coordinator when the clock is the wall clock). The stores are only read.
 * Returns NULL on allocation failure or when they hold more than UINT32_MAX
 * records (one computation's limit). */
score_round_summary *score_round_summary_take(const score_settings *st, const store *const *stores,
                                              size_t nstores, int64_t now);
void score_round_summary_free(score_round_summary *s);

/* Customers (frequency > 0) a summary counts. */
uint64_t score_round_summary_customers(const score_round_summary *s);

/* The answer of stores[0..nstores) (the stores the member's summary was
 * taken over, unchanged since) to req. The tie order is the request's (the
 * coordinator's settings). NULL on allocation failure or past UINT32_MAX
 * records. */
score_round_answer *score_round_answer_make(const store *const *stores, size_t nstores,
                                            const score_round_request *req);
void score_round_answer_free(score_round_answer *a);

/* ---- coordinator side ---- */

/* A coordinator for one computation under st (now and prev_version as for
 * score_breakpoints_compute_set). round_id names this attempt (the daemon's
 * version and attempt number): its requests carry it, members echo it, and
 * answers carrying another are ignored, so a restarted round never takes a
 * late answer of the one it replaced. NULL on allocation failure. */
score_round *score_round_new(const score_settings *st, int64_t now, uint64_t prev_version,
                             uint64_t round_id);
/* Free the coordinator, its request and the answers it holds (NULL: no-op). */
void score_round_free(score_round *r);

/* Add one member's summary (members cover disjoint stores). Only before the
 * first score_round_next. Members are numbered 0, 1, ... in the order their
 * summaries are added; the caller adds each member once. Its counts are
 * merged in; the caller keeps s. 0, or -1 with a message in err (settings
 * disagree, too many customers). */
int score_round_add_summary(score_round *r, const score_round_summary *s, char *err, size_t errlen);

/* Add member `member`'s answer to the current request. Copied; the caller
 * keeps a. Messages may come late or twice: an answer of another round id,
 * to an earlier request, a repeat of one already taken (same bytes) or any
 * answer once DONE is ignored (1). 0 when taken; -1 with a message, failing the round, for an
 * answer to a request never sent, from an unknown member, or a second,
 * different answer of one member to one request. A lost answer is recovered
 * by sending the same request again: members keep no state between
 * requests. */
int score_round_add_answer(score_round *r, unsigned member, const score_round_answer *a, char *err,
                           size_t errlen);

typedef enum score_round_state {
    SCORE_ROUND_FAILED = -1, /* err says why; the round is over */
    SCORE_ROUND_DONE = 0,    /* score_round_result holds the breakpoints */
    SCORE_ROUND_ASK = 1,     /* send score_round_request to every member */
} score_round_state;

/* Merge what was added since the last call and decide the next step: after
 * the summaries, then after all answers to each request. Answers that do not
 * add up to the counts the previous step predicted fail the round. */
score_round_state score_round_next(score_round *r, char *err, size_t errlen);

/* The current request (valid until the next score_round_next); NULL unless
 * the last score_round_next returned SCORE_ROUND_ASK. Owned by r. */
const score_round_request *score_round_request_of(const score_round *r);

/* Requests asked so far (the refinement rounds after the summaries). */
unsigned score_round_requests(const score_round *r);

/* The breakpoints once DONE: bit for bit what score_breakpoints_compute_set
 * gives over the union of every member's stores. 0, or -1 before DONE. */
int score_round_result(const score_round *r, score_breakpoints *bp);

/* ---- wire form ----
 * Versioned little-endian buffers: 4-byte magic per message kind, a version
 * byte, LEB128 varints, and a CRC-32 trailer. The decoders are strict: a
 * truncated, oversized, reordered or checksum-failing buffer is rejected
 * with a message, and they never read past len. Encoders return a malloc'd
 * buffer the caller frees (NULL on allocation failure). */

/* Encode a summary; *len gets the size. */
uint8_t *score_round_summary_encode(const score_round_summary *s, size_t *len);
/* Decode buf[0..len); NULL with a message in err when it is not a valid
 * summary (or on allocation failure). */
score_round_summary *score_round_summary_decode(const uint8_t *buf, size_t len, char *err,
                                                size_t errlen);
/* Encode a request (the coordinator's or a decoded one). */
uint8_t *score_round_request_encode(const score_round_request *q, size_t *len);
/* Decode a request, as score_round_summary_decode. */
score_round_request *score_round_request_decode(const uint8_t *buf, size_t len, char *err,
                                                size_t errlen);
/* Free a decoded request (never score_round_request_of's; NULL: no-op). */
void score_round_request_free(score_round_request *q);
/* Encode an answer. */
uint8_t *score_round_answer_encode(const score_round_answer *a, size_t *len);
/* Decode an answer, as score_round_summary_decode. */
score_round_answer *score_round_answer_decode(const uint8_t *buf, size_t len, char *err,
                                              size_t errlen);

#endif
