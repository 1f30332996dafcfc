/*
 * changelog — the changelog record's encoder and decoder (layout and contract
 * in include/rfm/changelog.h).
 *
 * The decoder works in two passes, as the snapshot loader does: parse the
 * whole value into a `parsed` record whose names point into the value,
 * checking every bound and every name against the target store, and only then
 * intern, upsert and write the fields. A record refused for any reason thus
 * leaves the store exactly as it was; only running out of memory half way
 * through interning can leave a name interned with no customer using it,
 * which changes nothing any customer means.
 *
 * Every field is read and written explicitly (memcpy of one little-endian
 * integer at a time), so the format does not follow the in-memory record's
 * layout when that changes.
 */
#include "rfm/changelog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "event_internal.h"
#include "rfm/score.h"
#include "util/errbuf.h"
#include "util/strbuf.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "changelog.c encodes little-endian by memcpy; add byte swapping for this host"
#endif

_Static_assert(STORE_RECENT_ORDERS == 3, "the version 1 layout has 3 recent fingerprints");
_Static_assert(STORE_MAX_CATEGORIES <= 16 && STORE_MAX_CHANNELS <= 8,
               "the masks of store_customer hold the name lists");

/* ---------------------------------------------------------------- encoding */

static bool utf8_valid(const char *p, size_t len) {
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < len;) {
        size_t n = event_utf8_seq(s, len, i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

static void put_u8(strbuf *b, uint8_t v) {
    strbuf_put(b, (const char *)&v, 1);
}
static void put_u32(strbuf *b, uint32_t v) {
    strbuf_put(b, (const char *)&v, 4);
}
static void put_u64(strbuf *b, uint64_t v) {
    strbuf_put(b, (const char *)&v, 8);
}

/* The names of the bits set in mask, in bit order. -1 with a message when one
 * cannot be carried (see changelog_encode). */
static int enc_names(strbuf *b, const store *s, unsigned mask, int max,
                     const char *(*name_of)(const store *, int), const char *what, char *err,
                     size_t errlen) {
    int n = 0;
    for (int bit = 0; bit < max; bit++)
        n += (mask >> bit) & 1;
    put_u8(b, (uint8_t)n);
    for (int bit = 0; bit < max; bit++) {
        if (!((mask >> bit) & 1))
            continue;
        const char *name = name_of(s, bit);
        if (!name) { /* a mask bit no name was interned at: a broken record */
            errbuf_set(err, errlen, "changelog: %s bit %d is set but names nothing", what, bit);
            return -1;
        }
        size_t len = strlen(name);
        if (len > UINT32_MAX || !utf8_valid(name, len)) {
            errbuf_set(err, errlen, "changelog: %s name \"%.40s\" is not valid UTF-8", what, name);
            return -1;
        }
        put_u32(b, (uint32_t)len);
        strbuf_put(b, name, len);
    }
    return 0;
}

int changelog_encode(const store *s, const store_customer *c, const segment_map *map, strbuf *out,
                     char *err, size_t errlen) {
    size_t start = out->len;
    put_u8(out, CHANGELOG_VERSION);
    put_u32(out, c->first_ts);
    put_u32(out, c->last_ts);
    put_u32(out, c->frequency);
    put_u64(out, (uint64_t)c->monetary_cents);
    for (int i = 0; i < STORE_RECENT_ORDERS; i++)
        put_u32(out, c->recent[i]);
    put_u8(out, c->recent_next);
    put_u8(out, c->r);
    put_u8(out, c->f);
    put_u8(out, c->m);
    /* Index 0 and an index the map does not have both read "unclassified"
     * to every reader of this map: written as no segment at all, which is
     * what index 0 becomes again in every reader's map. */
    const char *seg =
        map && c->segment && c->segment <= map->nsegments ? map->names[c->segment] : "";
    put_u8(out, (uint8_t)strlen(seg));
    strbuf_put(out, seg, strlen(seg));
    int rc = enc_names(out, s, c->categories, STORE_MAX_CATEGORIES, store_category_name, "category",
                       err, errlen);
    if (!rc)
        rc = enc_names(out, s, c->channels, STORE_MAX_CHANNELS, store_channel_name, "channel", err,
                       errlen);
    if (!rc && out->oom) {
        errbuf_set(err, errlen, "changelog: out of memory");
        rc = -1;
    }
    if (rc && out->p) {
        out->len = start; /* never hand back half a record */
        out->p[start] = '\0';
    }
    return rc;
}

/* ---------------------------------------------------------------- decoding */

typedef struct name_ref {
    const char *p;
    size_t len;
} name_ref;

/* A record read and checked, not yet applied: names point into the value. */
typedef struct parsed {
    store_customer c; /* every field but key_ref, categories, channels, segment */
    name_ref segment;
    name_ref categories[STORE_MAX_CATEGORIES];
    name_ref channels[STORE_MAX_CHANNELS];
    int ncategories, nchannels;
} parsed;

typedef struct rd {
    const unsigned char *p, *end;
} rd;

/* n bytes, or NULL when the value ends first. */
static const unsigned char *take(rd *r, size_t n) {
    if ((size_t)(r->end - r->p) < n)
        return NULL;
    const unsigned char *v = r->p;
    r->p += n;
    return v;
}

#define GET(T)                                                                                     \
    static bool get_##T(rd *r, T *v) {                                                             \
        const unsigned char *p = take(r, sizeof *v);                                               \
        if (p)                                                                                     \
            memcpy(v, p, sizeof *v);                                                               \
        return p != NULL;                                                                          \
    }
GET(uint8_t)
GET(uint32_t)
GET(int64_t)

/* Bit of name in s's table (by bytes and length), or -1 when not interned. */
static int find_name(const store *s, const char *(*name_of)(const store *, int), int max,
                     const name_ref *n) {
    for (int bit = 0; bit < max; bit++) {
        const char *have = name_of(s, bit);
        if (!have)
            break;
        if (strlen(have) == n->len && !memcmp(have, n->p, n->len))
            return bit;
    }
    return -1;
}

static int names_used(const store *s, const char *(*name_of)(const store *, int), int max) {
    int n = 0;
    while (n < max && name_of(s, n))
        n++;
    return n;
}

/* One name list: count, then each name; checked against s's table, which must
 * have room for the names it does not hold yet. */
static bool dec_names(rd *r, const store *s, const char *what, int max,
                      const char *(*name_of)(const store *, int), name_ref *names, int *count,
                      char *err, size_t errlen) {
    uint8_t n;
    if (!get_uint8_t(r, &n)) {
        errbuf_set(err, errlen, "changelog record truncated before the %s count", what);
        return false;
    }
    if (n > max) {
        errbuf_set(err, errlen, "changelog record has %u %s names (at most %d)", n, what, max);
        return false;
    }
    int fresh = 0;
    for (int i = 0; i < n; i++) {
        uint32_t len;
        const unsigned char *p = get_uint32_t(r, &len) ? take(r, len) : NULL;
        if (!p) {
            errbuf_set(err, errlen, "changelog record truncated in %s name %d", what, i + 1);
            return false;
        }
        names[i] = (name_ref){(const char *)p, len};
        if (!len || memchr(p, 0, len) || !utf8_valid((const char *)p, len)) {
            errbuf_set(err, errlen, "changelog record: %s name %d is %s", what, i + 1,
                       !len                ? "empty"
                       : memchr(p, 0, len) ? "holding a NUL byte"
                                           : "not UTF-8");
            return false;
        }
        for (int j = 0; j < i; j++)
            if (names[j].len == len && !memcmp(names[j].p, p, len)) {
                errbuf_set(err, errlen, "changelog record: %s \"%.*s\" named twice", what,
                           len > 40 ? 40 : (int)len, (const char *)p);
                return false;
            }
        if (find_name(s, name_of, max, &names[i]) < 0)
            fresh++;
    }
    int used = names_used(s, name_of, max);
    if (used + fresh > max) {
        errbuf_set(err, errlen,
                   "changelog record: the store's %s table is full (%d of %d names), the record "
                   "needs %d more",
                   what, used, max, used + fresh - max);
        return false;
    }
    *count = n;
    return true;
}

static bool dec_record(rd *r, const store *s, parsed *out, char *err, size_t errlen) {
    uint8_t version = 0;
    get_uint8_t(r, &version);
    if (version != CHANGELOG_VERSION) {
        errbuf_set(err, errlen, "changelog record version %u is not known (this reader: %d)",
                   version, CHANGELOG_VERSION);
        return false;
    }
    store_customer *c = &out->c;
    int64_t cents = 0; /* through a local: the record's i64 may be unaligned */
    bool ok = get_uint32_t(r, &c->first_ts) && get_uint32_t(r, &c->last_ts) &&
              get_uint32_t(r, &c->frequency) && get_int64_t(r, &cents);
    c->monetary_cents = cents;
    for (int i = 0; ok && i < STORE_RECENT_ORDERS; i++)
        ok = get_uint32_t(r, &c->recent[i]);
    ok = ok && get_uint8_t(r, &c->recent_next) && get_uint8_t(r, &c->r) && get_uint8_t(r, &c->f) &&
         get_uint8_t(r, &c->m);
    uint8_t seglen = 0;
    const unsigned char *seg = ok && get_uint8_t(r, &seglen) ? take(r, seglen) : NULL;
    if (!seg) {
        errbuf_set(err, errlen, "changelog record truncated (%zu bytes, fixed part %d)",
                   (size_t)(r->end - r->p), CHANGELOG_FIXED_BYTES);
        return false;
    }
    out->segment = (name_ref){(const char *)seg, seglen};
    if (c->monetary_cents < 0) {
        errbuf_set(err, errlen, "changelog record: monetary_cents %lld below 0",
                   (long long)c->monetary_cents);
        return false;
    }
    if (c->frequency && c->first_ts > c->last_ts) {
        errbuf_set(err, errlen, "changelog record: first_ts %u after last_ts %u", c->first_ts,
                   c->last_ts);
        return false;
    }
    if (c->recent_next >= STORE_RECENT_ORDERS) {
        errbuf_set(err, errlen, "changelog record: recent_next %u out of range 0..%d",
                   c->recent_next, STORE_RECENT_ORDERS - 1);
        return false;
    }
    if (c->r > SCORE_BINS_MAX || c->f > SCORE_BINS_MAX || c->m > SCORE_BINS_MAX) {
        errbuf_set(err, errlen, "changelog record: scores r%u f%u m%u out of range 0..%d", c->r,
                   c->f, c->m, SCORE_BINS_MAX);
        return false;
    }
    if (seglen > SEGMENT_NAME_MAX || memchr(seg, 0, seglen) ||
        !utf8_valid((const char *)seg, seglen)) {
        errbuf_set(err, errlen, "changelog record: segment name %s",
                   seglen > SEGMENT_NAME_MAX ? "too long" : "not UTF-8 or holding a NUL byte");
        return false;
    }
    if (!dec_names(r, s, "category", STORE_MAX_CATEGORIES, store_category_name, out->categories,
                   &out->ncategories, err, errlen) ||
        !dec_names(r, s, "channel", STORE_MAX_CHANNELS, store_channel_name, out->channels,
                   &out->nchannels, err, errlen))
        return false;
    if (r->p != r->end) {
        errbuf_set(err, errlen, "changelog record has %zu trailing bytes", (size_t)(r->end - r->p));
        return false;
    }
    return true;
}

/* Intern the checked names into s; the mask of their bits, or -1 on out of
 * memory (the only way interning can fail once dec_names has checked room). */
static int32_t intern_all(store *s, int (*intern)(store *, const char *, size_t),
                          const name_ref *names, int n) {
    int32_t mask = 0;
    for (int i = 0; i < n; i++) {
        int bit = intern(s, names[i].p, names[i].len);
        if (bit < 0)
            return -1;
        mask |= (int32_t)1 << bit;
    }
    return mask;
}

changelog_result changelog_apply(store *s, const char *key, size_t klen, const void *val,
                                 size_t len, const segment_map *map, char *err, size_t errlen) {
    if (!key || !klen || klen > STORE_KEY_MAX) {
        errbuf_set(err, errlen, "changelog record key of %zu bytes (1..%d)", key ? klen : 0,
                   STORE_KEY_MAX);
        return CHANGELOG_BAD;
    }
    if (!val || !len)
        return CHANGELOG_TOMBSTONE;
    parsed p;
    memset(&p, 0, sizeof p);
    rd r = {val, (const unsigned char *)val + len};
    if (!dec_record(&r, s, &p, err, errlen))
        return CHANGELOG_BAD;

    /* A name the map does not have (rules changed, or another map) reads as
     * no segment yet: the next rescore gives the customer its segment. */
    uint8_t segment = 0;
    if (map && p.segment.len) {
        char name[SEGMENT_NAME_MAX + 1];
        memcpy(name, p.segment.p, p.segment.len);
        name[p.segment.len] = '\0';
        int idx = segment_find(map, name);
        segment = idx > 0 ? (uint8_t)idx : 0;
    }
    int32_t cats = intern_all(s, store_intern_category, p.categories, p.ncategories);
    int32_t chans = cats < 0 ? -1 : intern_all(s, store_intern_channel, p.channels, p.nchannels);
    bool created;
    store_customer *c = chans < 0 ? NULL : store_upsert(s, key, klen, &created);
    if (!c) {
        errbuf_set(err, errlen, "changelog: out of memory");
        errno = ENOMEM;
        return CHANGELOG_NOMEM;
    }
    uint32_t key_ref = c->key_ref; /* the store's; the only field not from the record */
    *c = p.c;
    c->key_ref = key_ref;
    c->categories = (uint16_t)cats;
    c->channels = (uint8_t)chans;
    c->segment = segment;
    if (c->frequency)
        store_note_ts(s, c->last_ts);
    return CHANGELOG_APPLIED;
}
