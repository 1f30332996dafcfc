/*
 * test_rng — the one pseudo-random generator of the unit tests (splitmix64):
 * fast, and the same sequence for the same seed on every machine, so a
 * failing random case can be repeated. Header-only: each test is one
 * executable with one generator; seed it by setting rng_state.
 */
#ifndef RFM_TESTS_TEST_RNG_H
#define RFM_TESTS_TEST_RNG_H

#include <stdint.h>

static uint64_t rng_state;

/* The next 64 random bits. */
static inline uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
