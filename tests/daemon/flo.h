/*
 * FLO seed data for the daemon tests (tests/daemon/flo.c).
 */
#ifndef RFM_TEST_FLO_H
#define RFM_TEST_FLO_H

#include <stddef.h>

#include "harness.h"
#include "rfm/event.h"

#define FLO_CUSTOMERS 19945
#define FLO_ORDERS    100219

typedef struct flo_msg {
    char key[160];
    char *json; /* SPEC §2 order event */
} flo_msg;

typedef struct flo_orders {
    event_fields fields;
    flo_msg *m;
    size_t n, cap;
} flo_orders;

/* Every FLO order as an order event, in file order. */
void flo_load(flo_orders *os);
void flo_free(flo_orders *os);

/* Produce orders [from, to) into the orders topic, keyed by customer; flush. */
void flo_produce(harness *h, const flo_orders *os, size_t from, size_t to);

/* tests/data/flo_golden.csv of the source tree. */
char *flo_golden_path(char *buf, size_t len);

/* Compare each customer's last event in r with the golden table (segment,
 * r, f, m, recency, frequency, monetary, as_of); prints the first
 * differences. 0 when all 19,945 customers match. */
size_t flo_event_mismatches(const hreader *r);
/* The same for the segment alone: what a consumer of the events must end
 * with when the events came from scoring along the way (restarts). */
size_t flo_segment_mismatches(const hreader *r);

/* `rfmctl snapshot dump` of h's snapshot directory, saved as h->dir/out
 * and returned (caller frees). Needs RFM_BIN. */
char *flo_dump(const harness *h, const char *out);
char *flo_slurp(const char *path);
/* Fails the test at the first line where a and b differ. */
void flo_first_difference(const char *a, const char *b, const char *what);
/* The newest snapshot's dump equals the golden table byte for byte. */
void flo_assert_dump_is_golden(const harness *h);

#endif
