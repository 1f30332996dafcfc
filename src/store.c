/*
 * store — the customer table (contract in include/rfm/store.h).
 *
 * Three parts, each allocated in large pieces and never moved:
 *
 *  - records: a dense array of store_customer in chunks of 2^16, reached
 *    through a small chunk-pointer array. Index = insertion order, so scoring
 *    walks memory sequentially and an index (or pointer) stays valid forever.
 *  - keys: an append-only arena of 1 MiB blocks, each key stored as a length
 *    byte and its bytes; a key never straddles blocks. key_ref = block << 20 |
 *    offset, which caps the arena at 4096 blocks (4 GiB of ids, > 100M ids of
 *    36 bytes); past that an insert fails cleanly.
 *  - index: open addressing with linear probing, 8-byte slots holding the
 *    record index + 1 (0 = empty) and the low 32 bits of the key's XXH3 hash,
 *    so most mismatches are rejected without touching the key, and growing the
 *    table never rehashes a key.
 *
 * Growth is incremental, as in Redis' dict.c: past 3/4 load a table twice the
 * size is allocated (calloc, so its pages arrive lazily) and every later call
 * copies the next STORE_MIGRATE_STEP old slots into it. The old table is not
 * modified while this goes on, so a lookup that searches the old table and
 * then the new one finds every key: pre-growth keys are complete in the old
 * table, later keys only ever go to the new one. Each step copies at least
 * 64 slots per insert while the new table can take 3/4*2S - 3/4*S inserts,
 * so migration always ends long before the new table fills.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "rfm/store.h"

#define REC_CHUNK_BITS     16
#define REC_CHUNK          (1u << REC_CHUNK_BITS)
#define ARENA_BLOCK_BITS   20
#define ARENA_BLOCK        (1u << ARENA_BLOCK_BITS)
#define ARENA_MAX_BLOCKS   (1u << (32 - ARENA_BLOCK_BITS))
#define STORE_MIGRATE_STEP 64
#define STORE_MIN_SLOTS    1024u

typedef struct slot {
    uint32_t idx1; /* record index + 1; 0 = empty */
    uint32_t hash; /* low 32 bits of XXH3_64bits(key) */
} slot;

typedef struct table {
    slot *slots;
    uint64_t mask; /* size - 1; 0 when unallocated */
    size_t used;
} table;

typedef struct names {
    char *name[STORE_MAX_CATEGORIES];
    int n, max;
} names;

struct store {
    store_customer **chunks;
    size_t nchunks, capchunks;
    size_t count;

    unsigned char **blocks;
    size_t nblocks, capblocks;
    uint32_t block_used; /* bytes used in the last block */

    table t[2];      /* t[0] = current; t[1] = being filled while migrating */
    bool migrating;  /* t[0] is old, t[1] new */
    uint64_t cursor; /* next t[0] slot to copy */

    names categories, channels;
    uint32_t max_ts;
};

store *store_new(void) {
    store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t[0].slots = calloc(STORE_MIN_SLOTS, sizeof(slot));
    if (!s->t[0].slots) {
        free(s);
        return NULL;
    }
    s->t[0].mask = STORE_MIN_SLOTS - 1;
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
    for (size_t i = 0; i < s->nchunks; i++)
        free(s->chunks[i]);
    free(s->chunks);
    for (size_t i = 0; i < s->nblocks; i++)
        free(s->blocks[i]);
    free(s->blocks);
    free(s->t[0].slots);
    free(s->t[1].slots);
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
        free(old->slots);
        /* Entries copied and entries inserted since are all in the new table. */
        size_t used = old->used + nt->used;
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
            const store_customer *c = store_at_const(s, sl.idx1 - 1);
            const unsigned char *k = key_at(s, c->key_ref);
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

/* Only the first slot probed: with load <= 3/4 and linear probing that is
 * nearly always the one. */
static const store_customer *first_candidate(const store *s, uint64_t hash) {
    const table *t = &s->t[0];
    slot sl = t->slots[(uint32_t)hash & t->mask];
    return sl.idx1 && sl.hash == (uint32_t)hash ? store_at_const(s, sl.idx1 - 1) : NULL;
}

void store_prefetch_record(const store *s, uint64_t hash) {
    const store_customer *c = first_candidate(s, hash);
    if (c)
        __builtin_prefetch(c);
}

void store_prefetch_key(const store *s, uint64_t hash) {
    const store_customer *c = first_candidate(s, hash);
    if (c)
        __builtin_prefetch(key_at(s, c->key_ref));
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

static int grow_ptrs(void **arr, size_t *cap, size_t need) {
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, ncap * sizeof(void *));
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Append a key to the arena; returns its ref or UINT32_MAX when full/OOM. */
static uint32_t arena_put(store *s, const char *id, size_t len) {
    if (!s->nblocks || s->block_used + 1 + len > ARENA_BLOCK) {
        if (s->nblocks == ARENA_MAX_BLOCKS ||
            grow_ptrs((void **)&s->blocks, &s->capblocks, s->nblocks + 1))
            return UINT32_MAX;
        unsigned char *b = malloc(ARENA_BLOCK);
        if (!b)
            return UINT32_MAX;
        s->blocks[s->nblocks++] = b;
        s->block_used = 0;
    }
    unsigned char *p = s->blocks[s->nblocks - 1] + s->block_used;
    p[0] = (unsigned char)len;
    memcpy(p + 1, id, len);
    uint32_t ref = (uint32_t)((s->nblocks - 1) << ARENA_BLOCK_BITS) | s->block_used;
    s->block_used += (uint32_t)(1 + len);
    return ref;
}

static store_customer *record_new(store *s) {
    if (s->count >= UINT32_MAX - 1)
        return NULL;
    size_t chunk = s->count >> REC_CHUNK_BITS;
    if (chunk == s->nchunks) {
        if (grow_ptrs((void **)&s->chunks, &s->capchunks, s->nchunks + 1))
            return NULL;
        store_customer *c = malloc(REC_CHUNK * sizeof *c);
        if (!c)
            return NULL;
        s->chunks[s->nchunks++] = c;
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
    if (size > (1ull << 32))
        return -1;
    slot *ns = calloc(size, sizeof *ns);
    if (!ns)
        return -1;
    s->t[1] = (table){.slots = ns, .mask = size - 1, .used = 0};
    s->migrating = true;
    s->cursor = 0;
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
    store_customer *c = record_new(s);
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

size_t store_memory(const store *s) {
    size_t b = sizeof *s;
    b += s->nchunks * REC_CHUNK * sizeof(store_customer) + s->capchunks * sizeof(void *);
    b += s->nblocks * (size_t)ARENA_BLOCK + s->capblocks * sizeof(void *);
    for (int i = 0; i < 2; i++)
        if (s->t[i].slots)
            b += (s->t[i].mask + 1) * sizeof(slot);
    return b;
}
