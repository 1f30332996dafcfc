/*
 * order — one decoded order event (SPEC §2) and how it changes a customer.
 *
 * The engine never parses anything: readers and the Kafka decoder fill an
 * `order`, the engine applies it. Strings point into the caller's buffers and
 * are only read during order_apply.
 */
#ifndef RFM_ORDER_H
#define RFM_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/store.h"

#define ORDER_ID_MAX         128
#define ORDER_MAX_CATEGORIES 32 /* per order */

/* Orders must fall in [ORDER_TS_MIN, ORDER_TS_MAX] (epoch seconds): the
 * record keeps times as unsigned 32-bit seconds. */
#define ORDER_TS_MIN 0LL
#define ORDER_TS_MAX 4294967295LL

typedef struct order_str {
    const char *p;
    size_t len;
} order_str;

typedef struct order {
    order_str customer_id;
    order_str order_id;
    int64_t ts;           /* epoch seconds */
    int64_t amount_cents; /* negative = refund */
    order_str channel;    /* len 0 = absent */
    const order_str *categories;
    size_t ncategories;
} order;

typedef enum order_result {
    ORDER_APPLIED = 0,    /* an order: counted */
    ORDER_REFUNDED,       /* a refund: monetary lowered */
    ORDER_DUPLICATE,      /* same order_id seen for this customer: ignored */
    ORDER_REFUND_UNKNOWN, /* refund for a customer with no orders: ignored */
    ORDER_INVALID,        /* fails the engine's own limits (id length, ts range) */
} order_result;

/* Within the engine's own limits (id lengths, time range); order_apply
 * answers ORDER_INVALID otherwise. */
bool order_valid(const order *o);

/* Apply one order. *out (may be NULL) receives the customer touched, or NULL
 * when none was. Never fails on memory silently: ORDER_INVALID with errno=ENOMEM. */
order_result order_apply(store *s, const order *o, store_customer **out);

/* Apply n orders in sequence, exactly as n order_apply calls would, but with
 * the index lookups of later orders prefetched while earlier ones are applied.
 * results[i] (may be NULL) receives each result; out[i] (may be NULL) the
 * customer touched. */
void order_apply_batch(store *s, const order *o, size_t n, order_result *results,
                       store_customer **out);

/* 32-bit fingerprint used for duplicate detection; never 0. Refunds and orders
 * with the same id get different fingerprints, so refunding order X under id X
 * is not mistaken for a duplicate of X. */
uint32_t order_fingerprint(const char *order_id, size_t len, int refund);

const char *order_result_name(order_result r);

#endif
