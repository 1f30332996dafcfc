/*
 * round_record: the breakpoints record's codec (src/rfmd/round.h) alone —
 * round trips (re-encoding gives the same bytes), every truncation, every
 * single-bit flip, a trailing byte and random garbage rejected; and through
 * round_on_record: truncated ignored, valid applied once, older ignored,
 * newer applied, garbage on the control topic counted and ignored.
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

#include "bp_same.h"
#include "rfm/score.h"
#include "rfm/store.h"
#include "rfmd/log.h"
#include "rfmd/round.h"
#include "round_pop.h"

#define TIMEOUT_MS 400 /* round_new's timeout_ms */
#define T0_MS      ((AS_OF + 43200) * 1000 + 123)

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

int main(void) {
    log_set_level(LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
