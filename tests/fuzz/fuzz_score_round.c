/*
 * fuzz_score_round — the breakpoints round's decoders and merge on arbitrary
 * messages, as the daemon will read them off a control topic.
 *
 * Input layout: the first byte picks the kind (summary, request, answer;
 * modulo 3), the rest is the message body. The target frames it itself (the
 * kind's header, taken from a real encoding, and a correct CRC-32 trailer),
 * so the fuzzer works on the strict decoder instead of the checksum.
 * Checked:
 *  - a rejected message comes with a message;
 *  - an accepted one re-encodes to exactly the same bytes (one encoding per
 *    message: varints minimal, keys ascending);
 *  - an accepted summary merged beside two real members, an accepted
 *    request answered by a real member, an accepted answer added to a real
 *    round at its first request: each round ends DONE or FAILED within a
 *    bounded number of requests, without a crash (the sanitizer build runs
 *    this target over its corpus).
 */
#include <string.h>

#include "fuzz.h"
#include "rfm/score_round.h"
#include "rfm/store.h"

static store *parts[3];
static score_settings st;
static uint8_t head[3][5]; /* each kind's magic and version */

static void setup(void) {
    if (parts[0])
        return;
    score_settings_default(&st);
    for (int j = 0; j < 3; j++) {
        parts[j] = store_new();
        FUZZ_CHECK(parts[j]);
    }
    for (unsigned i = 0; i < 300; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "c%u", i * 7919u % 1000u);
        bool created;
        store *s = parts[i % 3];
        store_customer *c = store_upsert(s, id, (size_t)len, &created);
        FUZZ_CHECK(c);
        c->frequency = created ? 1 + i % 4 : c->frequency + 1;
        c->first_ts = 1500000000u + (i % 5) * 86400u;
        c->last_ts = 1600000000u + (i % 90) * 86400u;
        c->monetary_cents = (int64_t)(i * 104729u % 50000u) * (i % 7 ? 1 : 1000);
        store_note_ts(s, c->last_ts);
    }
    /* The headers from real messages: no magic repeated here. */
    score_round_summary *s = score_round_summary_take(&st, NULL, 0, 0);
    score_round *r = score_round_new(&st, 0, 0, 0);
    for (int j = 0; j < 3; j++) {
        score_round_summary *x =
            score_round_summary_take(&st, (const store *const *)&parts[j], 1, 0);
        score_round_add_summary(r, x, NULL, 0);
        score_round_summary_free(x);
    }
    FUZZ_CHECK(score_round_next(r, NULL, 0) == SCORE_ROUND_ASK);
    const score_round_request *q = score_round_request_of(r);
    score_round_answer *a = score_round_answer_make((const store *const *)parts, 1, q);
    size_t len;
    uint8_t *b[3] = {score_round_summary_encode(s, &len), score_round_request_encode(q, &len),
                     score_round_answer_encode(a, &len)};
    for (int k = 0; k < 3; k++) {
        FUZZ_CHECK(b[k]);
        memcpy(head[k], b[k], sizeof head[k]);
        free(b[k]);
    }
    score_round_summary_free(s);
    score_round_answer_free(a);
    score_round_free(r);
}

/* CRC-32 (IEEE), as the wire trailer. */
static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* Answer requests until the round ends; `first` (a member's answer, or
 * NULL) replaces member 0's answer to the first request. */
static void drive(score_round *r, score_round_state state, const score_round_answer *first) {
    char err[256];
    for (int step = 0; state == SCORE_ROUND_ASK; step++) {
        FUZZ_CHECK(step < 200);
        const score_round_request *q = score_round_request_of(r);
        FUZZ_CHECK(q);
        for (int j = 0; j < 3; j++) {
            score_round_answer *a =
                step == 0 && j == 0 && first
                    ? NULL
                    : score_round_answer_make((const store *const *)&parts[j], 1, q);
            int rc = score_round_add_answer(r, (unsigned)j, a ? a : first, err, sizeof err);
            score_round_answer_free(a);
            if (rc < 0)
                return;
        }
        state = score_round_next(r, err, sizeof err);
    }
    FUZZ_CHECK(state == SCORE_ROUND_DONE || state == SCORE_ROUND_FAILED);
    score_breakpoints bp;
    FUZZ_CHECK((score_round_result(r, &bp) == 0) == (state == SCORE_ROUND_DONE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    if (size < 1)
        return 0;
    int kind = data[0] % 3;
    size_t len = 5 + (size - 1) + 4;
    uint8_t *buf = malloc(len);
    FUZZ_CHECK(buf);
    memcpy(buf, head[kind], 5);
    memcpy(buf + 5, data + 1, size - 1);
    uint32_t c = crc32(buf, len - 4);
    for (int i = 0; i < 4; i++)
        buf[len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));

    char err[256] = "";
    size_t again_len = 0;
    uint8_t *again = NULL;
    if (kind == 0) {
        score_round_summary *s = score_round_summary_decode(buf, len, err, sizeof err);
        if (s) {
            again = score_round_summary_encode(s, &again_len);
            score_round *r = score_round_new(&st, 0, 0, 0);
            score_round_add_summary(r, s, err, sizeof err);
            for (int j = 1; j < 3; j++) {
                score_round_summary *x =
                    score_round_summary_take(&st, (const store *const *)&parts[j], 1, 0);
                score_round_add_summary(r, x, err, sizeof err);
                score_round_summary_free(x);
            }
            drive(r, score_round_next(r, err, sizeof err), NULL);
            score_round_free(r);
            score_round_summary_free(s);
        }
    } else if (kind == 1) {
        score_round_request *q = score_round_request_decode(buf, len, err, sizeof err);
        if (q) {
            again = score_round_request_encode(q, &again_len);
            score_round_answer *a = score_round_answer_make((const store *const *)parts, 3, q);
            FUZZ_CHECK(a);
            size_t alen;
            uint8_t *ab = score_round_answer_encode(a, &alen);
            FUZZ_CHECK(ab);
            score_round_answer *d = score_round_answer_decode(ab, alen, err, sizeof err);
            FUZZ_CHECK(d); /* what a member says always decodes */
            score_round_answer_free(d);
            free(ab);
            score_round_answer_free(a);
            score_round_request_free(q);
        }
    } else {
        score_round_answer *a = score_round_answer_decode(buf, len, err, sizeof err);
        if (a) {
            again = score_round_answer_encode(a, &again_len);
            score_round *r = score_round_new(&st, 0, 0, 0);
            for (int j = 0; j < 3; j++) {
                score_round_summary *x =
                    score_round_summary_take(&st, (const store *const *)&parts[j], 1, 0);
                score_round_add_summary(r, x, err, sizeof err);
                score_round_summary_free(x);
            }
            drive(r, score_round_next(r, err, sizeof err), a);
            score_round_free(r);
            score_round_answer_free(a);
        }
    }
    if (again) {
        FUZZ_CHECK(again_len == len && !memcmp(again, buf, len));
        free(again);
    } else {
        FUZZ_CHECK(err[0]);
    }
    free(buf);
    return 0;
}
