/*
 * store — the customer table (contract in include/rfm/store.h).
 *
 * Three parts, each allocated in large pieces that never move:
 *
 *  - records: a dense array of store_customer in chunks of 2^19 records,
 *    reached through a fixed chunk-pointer array. Index = insertion order, so
 *    scoring walks memory sequentially and an index (or pointer) stays valid
 *    forever. 2^19 records of 44 bytes are exactly 11 huge pages.
 *  - keys: an append-only arena of 2 MiB blocks, each key stored as a length
 *    byte and its bytes; a key never straddles blocks. key_ref = block << 21 |
 *    offset, which caps the arena at 2048 blocks = 4 GiB of keys (about 116M
 *    ids of 36 bytes); past that an insert fails cleanly with ENOMEM.
 *  - index: open addressing with linear probing, 8-byte slots holding the
 *    record index + 1 (0 = empty) and the low 32 bits of the key's XXH3 hash,
 *    so most mismatches are rejected without touching the key, and growing the
 *    table never rehashes a key.
 *
 * Growth is incremental, as in Redis' dict.c: past 3/4 load a table twice the
 * size is allocated and every later get or upsert copies the next
 * STORE_MIGRATE_STEP old slots into it. The old table is not modified while
 * this goes on, so a lookup that searches the old table and then the new one
 * finds every key: pre-growth keys are complete in the old table, later keys
 * only ever go to the new one. A migration of S old slots takes S/64 calls,
 * during which at most S/64 keys arrive, so it always ends long before the new
 * table (2S slots, 3/4 S used at the start) fills. Copying old slots in order
 * writes the new table in two sequential streams (home i and i + S), so the
 * copy is cheap as well as bounded.
 *
 * Memory comes straight from mmap: it is zero-filled lazily by the kernel (a
 * new table costs no memset, so no call does O(n) work) and big pieces are
 * 2 MiB-aligned and advised for transparent huge pages. At 10M customers the
 * working set is ~1 GB touched at random; with 4 KiB pages nearly every access
 * is a TLB miss, which under virtualisation costs more than the cache miss.
 * Under AddressSanitizer the pieces come from calloc instead, so bounds and
 * leaks stay checked.
 *
 * Budget at 10M customers with 36-byte ids: record 44 + key 37 + index 12.8
 * (2^24 slots of 8 bytes) = ~94 bytes per customer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "rfm/store.h"

#if defined(__SANITIZE_ADDRESS__)
#define STORE_USE_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STORE_USE_MALLOC 1
#endif
#endif

#define HUGE_PAGE          ((size_t)2 << 20)
#define REC_CHUNK_BITS     19
#define REC_CHUNK          ((size_t)1 << REC_CHUNK_BITS)
#define REC_MAX            ((size_t)UINT32_MAX - 1) /* idx + 1 must fit in a slot */
#define REC_MAX_CHUNKS     ((REC_MAX >> REC_CHUNK_BITS) + 1)
#define ARENA_BLOCK_BITS   21
#define ARENA_BLOCK        ((size_t)1 << ARENA_BLOCK_BITS)
#define ARENA_MAX_BLOCKS   ((size_t)1 << (32 - ARENA_BLOCK_BITS))
#define STORE_MIGRATE_STEP 64
#define STORE_MIN_SLOTS    1024u
#define STORE_MAX_SLOTS    ((uint64_t)1 << 32) /* slots keep 32 hash bits */
#define CACHE_LINE         64

_Static_assert(sizeof(store_customer) == 44, "record layout is part of the memory budget");
_Static_assert(REC_CHUNK * sizeof(store_customer) % HUGE_PAGE == 0,
               "a record chunk is a whole number of huge pages");

typedef struct slot {
    uint32_t idx1; /* record index + 1; 0 = empty */
    uint32_t hash; /* low 32 bits of XXH3_64bits(key) */
} slot;

typedef struct table {
    slot *slots;
    uint64_t mask; /* size - 1 */
    size_t used;
} table;

typedef struct names {
    char *name[STORE_MAX_CATEGORIES];
    int n, max;
} names;

struct store {
    size_t count;
    table t[2];      /* t[0] = current (or old, while migrating); t[1] = new */
    bool migrating;  /* t[1] is being filled from t[0] */
    uint64_t cursor; /* next t[0] slot to copy */

    size_t nblocks;
    size_t block_used; /* bytes used in the last block */

    names categories, channels;
    uint32_t max_ts;

    store_customer *chunks[REC_MAX_CHUNKS];
    unsigned char *blocks[ARENA_MAX_BLOCKS];
};

/* Zeroed memory of `size` bytes (see the top comment); NULL on failure. */
static void *mem_get(size_t size) {
#ifdef STORE_USE_MALLOC
    return calloc(1, size);
#else
    if (size < HUGE_PAGE) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    /* Callers ask for whole huge pages; over-map by one to align, trim the rest. */
    size_t span = size + HUGE_PAGE;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (p + span > a + size)
        munmap(a + size, (size_t)(p + span - (a + size)));
    (void)madvise(a, size, MADV_HUGEPAGE); /* advice only: no THP is fine */
    return a;
#endif
}

static void mem_put(void *p, size_t size) {
    if (!p)
        return;
#ifdef STORE_USE_MALLOC
    (void)size;
    free(p);
#else
    munmap(p, size);
#endif
}

static int table_init(table *t, uint64_t size) {
    t->slots = mem_get(size * sizeof(slot));
    t->mask = size - 1;
    t->used = 0;
    return t->slots ? 0 : -1;
}

static void table_free(table *t) {
    if (t->slots)
        mem_put(t->slots, (t->mask + 1) * sizeof(slot));
    memset(t, 0, sizeof *t);
}

store *store_new(void) {
    store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (table_init(&s->t[0], STORE_MIN_SLOTS)) {
        free(s);
        return NULL;
    }
    s->categories.max = STORE_MAX_CATEGORIES;
    s->channels.max = STORE_MAX_CHANNELS;
    return s;
}

static void names_free(names *n) {
    for (int i = 0; i < n->n; i++)
        free(n->name[i]);
}

void store_free(store *s) {
    if (!s)
        return;
    for (size_t i = 0; i < REC_MAX_CHUNKS && s->chunks[i]; i++)
        mem_put(s->chunks[i], REC_CHUNK * sizeof(store_customer));
    for (size_t i = 0; i < s->nblocks; i++)
        mem_put(s->blocks[i], ARENA_BLOCK);
    table_free(&s->t[0]);
    table_free(&s->t[1]);
    names_free(&s->categories);
    names_free(&s->channels);
    free(s);
}

size_t store_count(const store *s) {
    return s->count;
}

store_customer *store_at(store *s, size_t idx) {
    return &s->chunks[idx >> REC_CHUNK_BITS][idx & (REC_CHUNK - 1)];
}

const store_customer *store_at_const(const store *s, size_t idx) {
    return &s->chunks[idx >> REC_CHUNK_BITS][idx & (REC_CHUNK - 1)];
}

static const unsigned char *key_at(const store *s, uint32_t ref) {
    return s->blocks[ref >> ARENA_BLOCK_BITS] + (ref & (ARENA_BLOCK - 1));
}

const char *store_key(const store *s, const store_customer *c, size_t *len) {
    const unsigned char *k = key_at(s, c->key_ref);
    *len = k[0];
    return (const char *)k + 1;
}

/* Copy the next slots of the old table; frees it when done. */
static void migrate(store *s, unsigned steps) {
    table *old = &s->t[0], *nt = &s->t[1];
    while (steps-- && s->cursor <= old->mask) {
        slot sl = old->slots[s->cursor++];
        if (!sl.idx1)
            continue;
        uint64_t i = sl.hash & nt->mask;
        while (nt->slots[i].idx1)
            i = (i + 1) & nt->mask;
        nt->slots[i] = sl;
    }
    if (s->cursor > old->mask) {
        /* Entries copied and entries inserted since are all in the new table. */
        size_t used = old->used + nt->used;
        table_free(old);
        *old = *nt;
        old->used = used;
        memset(nt, 0, sizeof *nt);
        s->migrating = false;
    }
}

static uint32_t find_in(const store *s, const table *t, const char *id, size_t len, uint32_t h) {
    for (uint64_t i = h & t->mask;; i = (i + 1) & t->mask) {
        slot sl = t->slots[i];
        if (!sl.idx1)
            return 0;
        if (sl.hash == h) {
            const unsigned char *k = key_at(s, store_at_const(s, sl.idx1 - 1)->key_ref);
            if (k[0] == len && !memcmp(k + 1, id, len))
                return sl.idx1;
        }
    }
}

static uint32_t find(store *s, const char *id, size_t len, uint32_t h) {
    if (s->migrating) {
        migrate(s, STORE_MIGRATE_STEP);
        if (s->migrating) {
            uint32_t r = find_in(s, &s->t[0], id, len, h);
            return r ? r : find_in(s, &s->t[1], id, len, h);
        }
    }
    return find_in(s, &s->t[0], id, len, h);
}

uint64_t store_hash(const char *id, size_t len) {
    return XXH3_64bits(id, len);
}

/* While migrating, new keys live in t[1]; prefetching t[0] still serves the
 * (far more numerous) old ones. */
void store_prefetch_slot(const store *s, uint64_t hash) {
    const table *t = &s->t[0];
    __builtin_prefetch(&t->slots[(uint32_t)hash & t->mask]);
}

/* The record a lookup will most likely end at: the first slot with the same
 * hash bits, searched only within the cache line stage 1 brought in (a probe
 * sequence at <= 3/4 load rarely leaves it; tables are whole lines, so the
 * search never runs past the end). */
static const store_customer *candidate(const store *s, uint64_t hash) {
    const table *t = &s->t[0];
    uint32_t h = (uint32_t)hash;
    uint64_t i = h & t->mask;
    const uint64_t per_line = CACHE_LINE / sizeof(slot);
    for (uint64_t left = per_line - (i & (per_line - 1)); left--; i++) {
        slot sl = t->slots[i];
        if (!sl.idx1)
            return NULL;
        if (sl.hash == h)
            return store_at_const(s, sl.idx1 - 1);
    }
    return NULL;
}

/* A record is 44 bytes at 4-byte alignment: most straddle two lines. */
void store_prefetch_record(const store *s, uint64_t hash) {
    const store_customer *c = candidate(s, hash);
    if (c) {
        __builtin_prefetch(c);
        __builtin_prefetch((const char *)c + sizeof *c - 1);
    }
}

/* The key's length is in its first byte, not yet in cache: fetch the line
 * after it too when a 36-byte id (the common UUID) would reach into it. */
void store_prefetch_key(const store *s, uint64_t hash) {
    const store_customer *c = candidate(s, hash);
    if (c) {
        const unsigned char *k = key_at(s, c->key_ref);
        __builtin_prefetch(k);
        __builtin_prefetch(k + 36);
    }
}

store_customer *store_get_hashed(store *s, const char *id, size_t len, uint64_t hash) {
    if (len == 0 || len > STORE_KEY_MAX)
        return NULL;
    uint32_t idx1 = find(s, id, len, (uint32_t)hash);
    return idx1 ? store_at(s, idx1 - 1) : NULL;
}

store_customer *store_get(store *s, const char *id, size_t len) {
    return store_get_hashed(s, id, len, XXH3_64bits(id, len));
}

/* Append a key to the arena; returns its ref or UINT32_MAX when full/OOM. */
static uint32_t arena_put(store *s, const char *id, size_t len) {
    if (!s->nblocks || s->block_used + 1 + len > ARENA_BLOCK) {
        if (s->nblocks == ARENA_MAX_BLOCKS)
            return UINT32_MAX;
        unsigned char *b = mem_get(ARENA_BLOCK);
        if (!b)
            return UINT32_MAX;
        s->blocks[s->nblocks++] = b;
        s->block_used = 0;
    }
    unsigned char *p = s->blocks[s->nblocks - 1] + s->block_used;
    p[0] = (unsigned char)len;
    memcpy(p + 1, id, len);
    uint32_t ref = (uint32_t)((s->nblocks - 1) << ARENA_BLOCK_BITS | s->block_used);
    s->block_used += 1 + len;
    return ref;
}

/* The next record slot, zeroed but not yet counted. */
static store_customer *record_next(store *s) {
    if (s->count >= REC_MAX)
        return NULL;
    size_t chunk = s->count >> REC_CHUNK_BITS;
    if (!s->chunks[chunk]) {
        s->chunks[chunk] = mem_get(REC_CHUNK * sizeof(store_customer));
        if (!s->chunks[chunk])
            return NULL;
    }
    store_customer *c = store_at(s, s->count);
    memset(c, 0, sizeof *c);
    return c;
}

/* Start a migration into a table twice the size, if the current one is 3/4 full. */
static int maybe_grow(store *s) {
    table *t = &s->t[0];
    if (s->migrating || (t->used + 1) * 4 <= (t->mask + 1) * 3)
        return 0;
    uint64_t size = (t->mask + 1) * 2;
    if (size > STORE_MAX_SLOTS || table_init(&s->t[1], size))
        return -1;
    s->migrating = true;
    s->cursor = 0;
    return 0;
}

int store_reserve(store *s, size_t n) {
    if (s->count || s->migrating)
        return 0;
    uint64_t size = s->t[0].mask + 1;
    /* size / 4 * 3, not n * 4: n comes from files (a snapshot header), and
     * for n near 2^62 n * 4 wraps, size doubled to 0 and this never ended.
     * Sizes are powers of two >= STORE_MIN_SLOTS, so the division is exact. */
    while (size <= STORE_MAX_SLOTS && size / 4 * 3 < (uint64_t)n)
        size *= 2;
    if (size == s->t[0].mask + 1)
        return 0;
    table nt;
    if (size > STORE_MAX_SLOTS || table_init(&nt, size)) {
        errno = ENOMEM;
        return -1;
    }
    table_free(&s->t[0]);
    s->t[0] = nt;
    return 0;
}

store_customer *store_upsert(store *s, const char *id, size_t len, bool *created) {
    return store_upsert_hashed(s, id, len, XXH3_64bits(id, len), created);
}

store_customer *store_upsert_hashed(store *s, const char *id, size_t len, uint64_t hash,
                                    bool *created) {
    *created = false;
    if (len == 0 || len > STORE_KEY_MAX)
        return NULL;
    uint32_t h = (uint32_t)hash;
    uint32_t idx1 = find(s, id, len, h);
    if (idx1)
        return store_at(s, idx1 - 1);
    if (maybe_grow(s))
        goto oom;
    store_customer *c = record_next(s);
    if (!c)
        goto oom;
    uint32_t ref = arena_put(s, id, len);
    if (ref == UINT32_MAX)
        goto oom;
    c->key_ref = ref;
    table *t = &s->t[s->migrating ? 1 : 0];
    uint64_t i = h & t->mask;
    while (t->slots[i].idx1)
        i = (i + 1) & t->mask;
    t->slots[i] = (slot){.idx1 = (uint32_t)(s->count + 1), .hash = h};
    t->used++;
    s->count++;
    *created = true;
    return c;
oom:
    errno = ENOMEM;
    return NULL;
}

/* Names are compared by length and bytes; an embedded NUL could not be
 * handed back as a C string, so such a name is refused like an empty one. */
static int intern(names *n, const char *name, size_t len) {
    for (int i = 0; i < n->n; i++)
        if (strlen(n->name[i]) == len && !memcmp(n->name[i], name, len))
            return i;
    if (n->n == n->max || len == 0 || memchr(name, 0, len))
        return -1;
    char *copy = strndup(name, len);
    if (!copy)
        return -1;
    n->name[n->n] = copy;
    return n->n++;
}

int store_intern_category(store *s, const char *name, size_t len) {
    return intern(&s->categories, name, len);
}

int store_intern_channel(store *s, const char *name, size_t len) {
    return intern(&s->channels, name, len);
}

const char *store_category_name(const store *s, int bit) {
    return bit >= 0 && bit < s->categories.n ? s->categories.name[bit] : NULL;
}

const char *store_channel_name(const store *s, int bit) {
    return bit >= 0 && bit < s->channels.n ? s->channels.name[bit] : NULL;
}

uint32_t store_max_ts(const store *s) {
    return s->max_ts;
}

void store_note_ts(store *s, uint32_t ts) {
    if (ts > s->max_ts)
        s->max_ts = ts;
}

/* What the store costs in memory: tables and key blocks in full, records only
 * up to the huge page the last one lies in (the rest of a chunk is address
 * space the kernel has not backed). */
size_t store_memory(const store *s) {
    size_t b = sizeof *s;
    size_t rec = s->count * sizeof(store_customer);
    b += (rec + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    b += s->nblocks * ARENA_BLOCK;
    for (int i = 0; i < 2; i++)
        if (s->t[i].slots)
            b += (s->t[i].mask + 1) * sizeof(slot);
    return b;
}
