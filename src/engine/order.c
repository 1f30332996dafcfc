/*
 * order — how one order changes a customer (SPEC §2, §3).
 *
 * Duplicates: each record keeps the fingerprints of its last
 * STORE_RECENT_ORDERS orders and refunds in a ring. An order whose
 * fingerprint is in the ring is ignored. The window is per customer and
 * counts applied orders, so a redelivery is caught as long as the customer
 * placed fewer than STORE_RECENT_ORDERS other orders in between — which covers
 * Kafka redelivery after a restart and the overlapping tail of two replayed
 * files, while costing 12 bytes per customer instead of an unbounded set.
 * Fingerprints are 32 bits: two different order ids of one customer collide
 * with probability ~3/2^32 per order, and the collision would drop an order;
 * that is accepted and documented rather than storing full ids.
 */
#include <errno.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "rfm/order.h"

uint32_t order_fingerprint(const char *order_id, size_t len, int refund) {
    uint64_t h = XXH3_64bits_withSeed(order_id, len, refund ? 0x5eedf00dULL : 0);
    uint32_t fp = (uint32_t)(h ^ (h >> 32));
    return fp ? fp : 1;
}

static bool seen(const store_customer *c, uint32_t fp) {
    for (int i = 0; i < STORE_RECENT_ORDERS; i++)
        if (c->recent[i] == fp)
            return true;
    return false;
}

static void remember(store_customer *c, uint32_t fp) {
    c->recent[c->recent_next] = fp;
    c->recent_next = (uint8_t)((c->recent_next + 1) % STORE_RECENT_ORDERS);
}

static int64_t add_sat(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

bool order_valid(const order *o) {
    return o->customer_id.len > 0 && o->customer_id.len <= STORE_KEY_MAX && o->order_id.len > 0 &&
           o->order_id.len <= ORDER_ID_MAX && o->ts >= ORDER_TS_MIN && o->ts <= ORDER_TS_MAX;
}

static order_result apply_hashed(store *s, const order *o, uint64_t hash, store_customer **out) {
    if (out)
        *out = NULL;
    if (!order_valid(o)) {
        errno = EINVAL;
        return ORDER_INVALID;
    }
    bool refund = o->amount_cents < 0;
    uint32_t fp = order_fingerprint(o->order_id.p, o->order_id.len, refund);

    if (refund) {
        store_customer *c = store_get_hashed(s, o->customer_id.p, o->customer_id.len, hash);
        if (!c || !c->frequency)
            return ORDER_REFUND_UNKNOWN;
        if (out)
            *out = c;
        if (seen(c, fp))
            return ORDER_DUPLICATE;
        int64_t m = add_sat(c->monetary_cents, o->amount_cents);
        c->monetary_cents = m < 0 ? 0 : m;
        remember(c, fp);
        return ORDER_REFUNDED;
    }

    bool created;
    store_customer *c =
        store_upsert_hashed(s, o->customer_id.p, o->customer_id.len, hash, &created);
    if (!c) {
        errno = ENOMEM;
        return ORDER_INVALID;
    }
    if (out)
        *out = c;
    if (!created && seen(c, fp))
        return ORDER_DUPLICATE;

    uint32_t ts = (uint32_t)o->ts;
    if (created || !c->frequency) {
        c->first_ts = ts;
        c->last_ts = ts;
    } else {
        if (ts < c->first_ts)
            c->first_ts = ts;
        if (ts > c->last_ts)
            c->last_ts = ts;
    }
    if (c->frequency < UINT32_MAX)
        c->frequency++;
    c->monetary_cents = add_sat(c->monetary_cents, o->amount_cents);
    for (size_t i = 0; i < o->ncategories; i++) {
        int bit = store_intern_category(s, o->categories[i].p, o->categories[i].len);
        if (bit >= 0)
            c->categories |= (uint16_t)(1u << bit);
    }
    if (o->channel.len) {
        int bit = store_intern_channel(s, o->channel.p, o->channel.len);
        if (bit >= 0)
            c->channels |= (uint8_t)(1u << bit);
    }
    remember(c, fp);
    store_note_ts(s, ts);
    return ORDER_APPLIED;
}

order_result order_apply(store *s, const order *o, store_customer **out) {
    return apply_hashed(s, o, store_hash(o->customer_id.p, o->customer_id.len), out);
}

/* Three-stage software pipeline, each stage waiting for the previous one's
 * cache line: order i+3D has its index slot prefetched, order i+2D its record
 * (found through the slot), order i+D its key bytes (found through the
 * record), and order i is applied with all three in cache. Ahead of all that,
 * order i+4D's id bytes are fetched D orders before they are hashed: input
 * strings may sit anywhere in a large buffer, and hashing them must not stall. */
#ifndef PREFETCH_D
#define PREFETCH_D 16
#endif
#define RING (4 * PREFETCH_D)

static void prefetch_input(const order *o) {
    const char *c = o->customer_id.p, *id = o->order_id.p;
    __builtin_prefetch(c);
    if (o->customer_id.len)
        __builtin_prefetch(c + o->customer_id.len - 1);
    __builtin_prefetch(id);
}

void order_apply_batch(store *s, const order *o, size_t n, order_result *results,
                       store_customer **out) {
    uint64_t hashes[RING];
    for (size_t i = 0; i < PREFETCH_D && i < n; i++)
        prefetch_input(&o[i]);
    for (size_t i = 0; i < n + 3 * PREFETCH_D; i++) {
        if (i + PREFETCH_D < n)
            prefetch_input(&o[i + PREFETCH_D]);
        if (i < n) {
            hashes[i % RING] = store_hash(o[i].customer_id.p, o[i].customer_id.len);
            store_prefetch_slot(s, hashes[i % RING]);
        }
        if (i >= PREFETCH_D && i - PREFETCH_D < n)
            store_prefetch_record(s, hashes[(i - PREFETCH_D) % RING]);
        if (i >= 2 * PREFETCH_D && i - 2 * PREFETCH_D < n)
            store_prefetch_key(s, hashes[(i - 2 * PREFETCH_D) % RING]);
        if (i >= 3 * PREFETCH_D) {
            size_t j = i - 3 * PREFETCH_D;
            order_result r = apply_hashed(s, &o[j], hashes[j % RING], out ? &out[j] : NULL);
            if (results)
                results[j] = r;
        }
    }
}

const char *order_result_name(order_result r) {
    switch (r) {
    case ORDER_APPLIED:
        return "applied";
    case ORDER_REFUNDED:
        return "refunded";
    case ORDER_DUPLICATE:
        return "duplicate";
    case ORDER_REFUND_UNKNOWN:
        return "refund_unknown_customer";
    case ORDER_INVALID:
        return "invalid";
    }
    return "unknown";
}
