/*
 * round_internal — the control messages of the group round (round.h), as
 * round.c builds and reads them and round_wire.c encodes them. Shared by
 * those two files only.
 *
 * Every message names the round it belongs to by (coordinator, version,
 * attempt): a new coordinator may reuse a version a previous one tried, so
 * the version alone is not enough to tell a late message from a current
 * one.
 */
#ifndef RFM_ROUND_INTERNAL_H
#define RFM_ROUND_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
