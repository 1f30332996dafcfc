/*
 * store — the customer table: one compact record per customer, keyed by the
 * customer id string (1..STORE_KEY_MAX bytes).
 *
 * Contract (in the spirit of Redis' dict.c):
 *  - Records live in a dense array indexed 0..store_count()-1 in insertion
 *    order. An index, once handed out, names the same customer for the life of
 *    the store (customers are never deleted), so scoring can walk the array
 *    sequentially and callers may keep indices instead of pointers.
 *  - Record pointers stay valid for the life of the store: the array grows in
 *    fixed-size chunks and is never moved.
 *  - The id -> index map is open addressing (linear probing) over xxh3 hashes.
 *    Growing it is incremental, like dict.c: a bigger table is allocated and
 *    every later insert or lookup migrates a bounded number of slots, so no
 *    single call ever pays for rehashing millions of entries.
 *  - Keys are copied into an append-only arena owned by the store.
 *  - Small string sets (categories, channels) are interned to bit positions
 *    so a record holds them as bitmasks.
 */
#ifndef RFM_STORE_H
#define RFM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_MAX        128
#define STORE_MAX_CATEGORIES 16 /* distinct category names per store */
#define STORE_MAX_CHANNELS   8  /* distinct channel names per store */
#define STORE_RECENT_ORDERS  3  /* dedup window: last N order fingerprints */

/* 44 bytes, 4-byte aligned; see BENCHMARKS.md for the per-customer budget. */
typedef struct __attribute__((packed, aligned(4))) store_customer {
    int64_t monetary_cents;               /* never below 0 */
    uint32_t first_ts;                    /* epoch seconds of first order */
    uint32_t last_ts;                     /* epoch seconds of last order */
    uint32_t frequency;                   /* orders counted (refunds excluded) */
    uint32_t key_ref;                     /* where the id lives in the arena */
    uint32_t recent[STORE_RECENT_ORDERS]; /* order-id fingerprints, 0 = empty */
    uint16_t categories;                  /* bitmask of interned categories */
    uint8_t channels;                     /* bitmask of interned channels */
    uint8_t r, f, m;                      /* scores 1..bins, 0 = not scored yet */
    uint8_t segment;                      /* segment index, 0 = none yet */
    uint8_t recent_next;                  /* ring position in recent[] */
} store_customer;

typedef struct store store;

store *store_new(void);
void store_free(store *s);

size_t store_count(const store *s);

/* Lookup; NULL when absent. */
store_customer *store_get(store *s, const char *id, size_t len);

/* Lookup or insert a zeroed record. *created tells which. NULL only when the
 * id is empty or longer than STORE_KEY_MAX, or on allocation failure. */
store_customer *store_upsert(store *s, const char *id, size_t len, bool *created);

/* Size an empty store's index for n customers, so loading n ids (a snapshot
 * restore) never grows or migrates it. No-op on a non-empty store. 0, or -1
 * with errno ENOMEM. */
int store_reserve(store *s, size_t n);

/* The hash lookups use; with the _hashed variants and the prefetches it lets a
 * batch of lookups overlap their cache misses (see order_apply_batch). */
uint64_t store_hash(const char *id, size_t len);
/* Stage 1: bring the id's first index slot into cache. */
void store_prefetch_slot(const store *s, uint64_t hash);
/* Stage 2 (after stage 1 had time to land): the record it points to. */
void store_prefetch_record(const store *s, uint64_t hash);
/* Stage 3 (after stage 2 landed): the record's key bytes. */
void store_prefetch_key(const store *s, uint64_t hash);
store_customer *store_get_hashed(store *s, const char *id, size_t len, uint64_t hash);
store_customer *store_upsert_hashed(store *s, const char *id, size_t len, uint64_t hash,
                                    bool *created);

/* Dense access: 0 <= idx < store_count(). */
store_customer *store_at(store *s, size_t idx);
const store_customer *store_at_const(const store *s, size_t idx);

/* The customer's id; not NUL-terminated. */
const char *store_key(const store *s, const store_customer *c, size_t *len);

/* Intern a name; returns its bit (0..max-1) or -1 when the set is full. */
int store_intern_category(store *s, const char *name, size_t len);
int store_intern_channel(store *s, const char *name, size_t len);
const char *store_category_name(const store *s, int bit); /* NULL if unused */
const char *store_channel_name(const store *s, int bit);

/* Newest order time applied to this store (epoch seconds), 0 if none. */
uint32_t store_max_ts(const store *s);
void store_note_ts(store *s, uint32_t ts);

/* Bytes held by the store's own allocations (records, arena, tables). */
size_t store_memory(const store *s);

#endif
