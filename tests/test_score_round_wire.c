/*
 * score_round's wire form and coordinator against bad input: every
 * truncation and every single-bit flip of a valid summary, request and
 * answer is rejected (the checksum; each truncation copied to a buffer of
 * exactly its size, so ASan sees any read past the end), a message of one
 * kind is not another, and random corruption with the checksum recomputed
 * is either rejected by the strict decoder or merged without a crash (the
 * merge then fails or computes something; run under ASan + UBSan). The
 * coordinator refuses misuse: one member counted twice, members that
 * assumed another as_of, a clock that differs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/score.h"
#include "rfm/score_round.h"
#include "rfm/store.h"
#include "round_pop.h"
#include "score_round_internal.h"

/* ---- decoders ---- */

typedef void *(*decode_fn)(const uint8_t *buf, size_t len, char *err, size_t errlen);

static void *dec_summary(const uint8_t *b, size_t n, char *e, size_t el) {
    return score_round_summary_decode(b, n, e, el);
}
static void *dec_request(const uint8_t *b, size_t n, char *e, size_t el) {
    return score_round_request_decode(b, n, e, el);
}
static void *dec_answer(const uint8_t *b, size_t n, char *e, size_t el) {
    return score_round_answer_decode(b, n, e, el);
}

static void free_decoded(decode_fn dec, void *p) {
    if (dec == dec_summary)
        score_round_summary_free(p);
    else if (dec == dec_request)
        score_round_request_free(p);
    else
        score_round_answer_free(p);
}

/* Every truncation (copied to a buffer of exactly that size, so ASan sees
 * any read past the end) and every single-bit flip is rejected. */
static void truncations_and_flips(const uint8_t *buf, size_t len, decode_fn dec) {
    char err[256];
    void *ok = dec(buf, len, err, sizeof err);
    if (!ok)
        fail_msg("valid buffer rejected: %s", err);
    free_decoded(dec, ok);
    for (size_t n = 0; n < len; n++) {
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, buf, n);
        err[0] = 0;
        void *d = dec(n ? t : NULL, n, err, sizeof err);
        if (d)
            fail_msg("truncation to %zu of %zu bytes accepted", n, len);
        assert_true(strlen(err) > 0);
        free(t);
    }
    uint8_t *c = malloc(len);
    for (size_t bit = 0; bit < 8 * len; bit++) {
        memcpy(c, buf, len);
        c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        void *d = dec(c, len, err, sizeof err);
        if (d)
            fail_msg("bit flip %zu of %zu bytes accepted", bit, len);
    }
    free(c);
}

/* Corrupt a body byte and re-seal the checksum: only the strict checks
 * stand between the bytes and the merge now. Returns the decodes that
 * passed. */
static unsigned resealed_corruption(const uint8_t *buf, size_t len, decode_fn dec, unsigned tries,
                                    void (*use)(void *decoded)) {
    unsigned passed = 0;
    uint8_t *c = malloc(len);
    char err[256];
    for (unsigned t = 0; t < tries; t++) {
        memcpy(c, buf, len);
        size_t at = 5 + (size_t)(rnd() % (len - 9));
        c[at] = rnd() % 3 ? (uint8_t)(c[at] ^ (1u << (rnd() % 8))) : (uint8_t)rnd();
        uint32_t crc = score_round_wire_crc32(c, len - 4);
        for (int i = 0; i < 4; i++)
            c[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
        void *d = dec(c, len, err, sizeof err);
        if (d) {
            passed++;
            use(d);
            free_decoded(dec, d);
        }
    }
    free(c);
    return passed;
}

static store *g_parts[3];
static score_settings g_st;

/* A corrupt summary merged with two good ones: a failure or some result. */
static void use_summary(void *d) {
    char err[256];
    score_round *r = score_round_new(&g_st, 0, 0, 0);
    score_round_add_summary(r, d, err, sizeof err);
    for (int j = 1; j < 3; j++) {
        score_round_summary *s =
            score_round_summary_take(&g_st, (const store *const *)&g_parts[j], 1, 0);
        score_round_add_summary(r, s, err, sizeof err);
        score_round_summary_free(s);
    }
    score_round_state st = score_round_next(r, err, sizeof err);
    if (st == SCORE_ROUND_ASK) { /* members answer a request the corrupt summary shaped */
        const score_round_request *q = score_round_request_of(r);
        for (int j = 0; j < 3; j++) {
            score_round_answer *a =
                score_round_answer_make((const store *const *)&g_parts[j], 1, q);
            score_round_add_answer(r, (unsigned)j, a, err, sizeof err);
            score_round_answer_free(a);
        }
        score_round_next(r, err, sizeof err);
    }
    score_round_free(r);
}

/* A corrupt request answered by a member (the answer must encode). */
static void use_request(void *d) {
    score_round_answer *a = score_round_answer_make((const store *const *)g_parts, 3, d);
    assert_non_null(a);
    size_t len;
    uint8_t *b = score_round_answer_encode(a, &len);
    assert_non_null(b);
    free(b);
    score_round_answer_free(a);
}

static score_round *g_round; /* a round at its first request */

/* A corrupt answer added to a fresh copy of the round: must not crash. */
static void use_answer(void *d) {
    char err[256];
    score_round *r = score_round_new(&g_st, 0, 0, 0);
    for (int j = 0; j < 3; j++) {
        score_round_summary *s =
            score_round_summary_take(&g_st, (const store *const *)&g_parts[j], 1, 0);
        score_round_add_summary(r, s, err, sizeof err);
        score_round_summary_free(s);
    }
    assert_int_equal(score_round_next(r, err, sizeof err), SCORE_ROUND_ASK);
    const score_round_request *q = score_round_request_of(r);
    score_round_add_answer(r, 0, d, err, sizeof err);
    for (int j = 1; j < 3; j++) {
        score_round_answer *a = score_round_answer_make((const store *const *)&g_parts[j], 1, q);
        score_round_add_answer(r, (unsigned)j, a, err, sizeof err);
        score_round_answer_free(a);
    }
    score_round_next(r, err, sizeof err);
    score_round_free(r);
}

static void test_decoders(void **state) {
    (void)state;
    population pop = {0};
    gen(&pop, SYN_MIXED, 600, 21);
    for (int j = 0; j < 3; j++)
        g_parts[j] = store_new();
    for (size_t i = 0; i < pop.n; i++)
        put(g_parts[round_pop_hash(pop.c[i].id, pop.c[i].len) % 3], &pop.c[i]);
    score_settings_default(&g_st);
    g_st.tie_break = SCORE_TIE_FIRST_ORDER;
    char err[256];

    score_round_summary *s = score_round_summary_take(&g_st, (const store *const *)g_parts, 1, 0);
    size_t slen, qlen, alen;
    uint8_t *sb = score_round_summary_encode(s, &slen);
    g_round = score_round_new(&g_st, 0, 0, 0);
    for (int j = 0; j < 3; j++) {
        score_round_summary *x =
            score_round_summary_take(&g_st, (const store *const *)&g_parts[j], 1, 0);
        assert_int_equal(score_round_add_summary(g_round, x, err, sizeof err), 0);
        score_round_summary_free(x);
    }
    assert_int_equal(score_round_next(g_round, err, sizeof err), SCORE_ROUND_ASK);
    const score_round_request *q = score_round_request_of(g_round);
    uint8_t *qb = score_round_request_encode(q, &qlen);
    score_round_answer *a = score_round_answer_make((const store *const *)g_parts, 1, q);
    uint8_t *ab = score_round_answer_encode(a, &alen);
    assert_non_null(sb);
    assert_non_null(qb);
    assert_non_null(ab);

    truncations_and_flips(sb, slen, dec_summary);
    truncations_and_flips(qb, qlen, dec_request);
    truncations_and_flips(ab, alen, dec_answer);
    /* A message of one kind is not another. */
    assert_null(score_round_request_decode(sb, slen, err, sizeof err));
    assert_null(score_round_answer_decode(qb, qlen, err, sizeof err));
    assert_null(score_round_summary_decode(ab, alen, err, sizeof err));

    rng_state = 5;
    unsigned ps = resealed_corruption(sb, slen, dec_summary, 3000, use_summary);
    unsigned pq = resealed_corruption(qb, qlen, dec_request, 3000, use_request);
    unsigned pa = resealed_corruption(ab, alen, dec_answer, 3000, use_answer);
    print_message("resealed corruptions decoded: summary %u, request %u, answer %u of 3000\n", ps,
                  pq, pa);

    free(sb);
    free(qb);
    free(ab);
    score_round_summary_free(s);
    score_round_answer_free(a);
    score_round_free(g_round);
    for (int j = 0; j < 3; j++)
        store_free(g_parts[j]);
    free(pop.c);
}

/* Out-of-order use of the coordinator fails cleanly. */
static void test_misuse(void **state) {
    (void)state;
    char err[256];
    score_settings st;
    score_settings_default(&st);
    store *s = store_new();
    gcust c = {.id = "a", .len = 1, .freq = 2, .first_ts = 10, .last_ts = 100000, .cents = 5};
    put(s, &c);
    score_round_summary *sum = score_round_summary_take(&st, (const store *const *)&s, 1, 0);
    score_round *r = score_round_new(&st, 0, 0, 0);
    assert_int_equal(score_round_add_summary(r, sum, err, sizeof err), 0);
    /* the same member twice: frequencies add up, but the cut sees 2 keys */
    assert_int_equal(score_round_add_summary(r, sum, err, sizeof err), 0);
    score_round_state state0 = score_round_next(r, err, sizeof err);
    assert_int_equal(state0, SCORE_ROUND_ASK);
    const score_round_request *q = score_round_request_of(r);
    score_round_answer *a = score_round_answer_make((const store *const *)&s, 1, q);
    assert_int_equal(score_round_add_answer(r, 0, a, err, sizeof err), 0);
    assert_int_equal(score_round_add_answer(r, 0, a, err, sizeof err), 1);  /* a repeat */
    assert_int_equal(score_round_add_answer(r, 2, a, err, sizeof err), -1); /* no such member */
    assert_non_null(strstr(err, "without a summary"));
    score_round_free(r);
    r = score_round_new(&st, 0, 0, 0);
    assert_int_equal(score_round_add_summary(r, sum, err, sizeof err), 0);
    assert_int_equal(score_round_add_summary(r, sum, err, sizeof err), 0);
    assert_int_equal(score_round_next(r, err, sizeof err), SCORE_ROUND_ASK);
    assert_int_equal(score_round_add_answer(r, 0, a, err, sizeof err), 0);
    assert_int_equal(score_round_add_answer(r, 1, a, err, sizeof err), 0);
    assert_int_equal(score_round_next(r, err, sizeof err), SCORE_ROUND_FAILED);
    assert_non_null(strstr(err, "two members"));
    score_breakpoints bp;
    assert_int_equal(score_round_result(r, &bp), -1);
    assert_int_equal(score_round_add_answer(r, 0, a, err, sizeof err), -1);
    score_round_free(r);

    /* a wall-clock member whose now differs from the coordinator's */
    st.clock = SCORE_CLOCK_WALL;
    score_round_summary *w = score_round_summary_take(&st, (const store *const *)&s, 1, AS_OF);
    r = score_round_new(&st, AS_OF + 1, 0, 0);
    assert_int_equal(score_round_add_summary(r, w, err, sizeof err), 0);
    assert_int_equal(score_round_next(r, err, sizeof err), SCORE_ROUND_FAILED);
    score_round_free(r);
    /* an event-clock summary at a wall-clock coordinator */
    r = score_round_new(&st, AS_OF, 0, 0);
    assert_int_equal(score_round_add_summary(r, sum, err, sizeof err), -1);
    score_round_free(r);
    score_round_summary_free(w);
    score_round_summary_free(sum);
    score_round_answer_free(a);
    store_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoders),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
