/*
 * snapshot — file format, writer and loader (contract and layout in
 * include/rfm/snapshot.h).
 *
 * The writer builds one block at a time in memory and streams it out through
 * a large buffer with write(2), never stdio: it runs in a forked child of a
 * multi-threaded daemon, where only plain memory and system calls are safe to
 * rely on. Every field is encoded explicitly, so the format does not change
 * when the in-memory record does.
 *
 * The loader maps the file, checks the header, each block and the whole-file
 * checksum first (pass 1), and only then decodes (pass 2) into a fresh store
 * through a bounds-checked reader — a file with valid checksums can still be
 * hand-made, so pass 2 trusts no length either.
 */
#include "rfm/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include "util/errbuf.h"
#include <xxhash.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "snapshot.c encodes little-endian by memcpy; add byte swapping for this host"
#endif

#define MAGIC        "RFMDSNAP"
#define HEADER_SIZE  64
#define BLOCK_HEAD   16
#define BLOCK_SUM    8
#define RECORD_BYTES 40 /* encoded store_customer without key_ref */
#define WBUF_SIZE    (1u << 20)

enum { BLK_META = 1, BLK_OFFSETS = 2, BLK_CUSTOMERS = 3, BLK_END = 0x454e44 };

uint64_t snapshot_fingerprint(const score_settings *st) {
    char s[160];
    int n = snprintf(s, sizeof s, "bins=%d tie_break=%d clock=%d as_of_offset_days=%d recent=%d",
                     st->bins, (int)st->tie_break, (int)st->clock, st->as_of_offset_days,
                     STORE_RECENT_ORDERS);
    return XXH3_64bits(s, (size_t)n);
}

/* ---------------------------------------------------------------- writing */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} buf;

static void buf_need(buf *b, size_t n) {
    if (b->oom || b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void put(buf *b, const void *v, size_t n) {
    buf_need(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

static void put_u8(buf *b, uint8_t v) {
    put(b, &v, 1);
}
static void put_u16(buf *b, uint16_t v) {
    put(b, &v, 2);
}
static void put_u32(buf *b, uint32_t v) {
    put(b, &v, 4);
}
static void put_u64(buf *b, uint64_t v) {
    put(b, &v, 8);
}
static void put_f64(buf *b, double v) {
    put(b, &v, 8);
}
static void put_str8(buf *b, const char *s, size_t n) {
    put_u8(b, (uint8_t)n);
    put(b, s, n);
}

typedef struct writer {
    int fd;
    unsigned char *out;
    size_t used;
    XXH3_state_t *whole;
    uint64_t blocks;
    int err; /* errno of the first failure */
} writer;

static void w_flush(writer *w) {
    size_t off = 0;
    while (!w->err && off < w->used) {
        ssize_t n = write(w->fd, w->out + off, w->used - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            w->err = n < 0 ? errno : EIO;
        else
            off += (size_t)n;
    }
    w->used = 0;
}

static void w_bytes(writer *w, const void *p, size_t n) {
    XXH3_64bits_update(w->whole, p, n);
    const unsigned char *s = p;
    while (n && !w->err) {
        size_t k = WBUF_SIZE - w->used < n ? WBUF_SIZE - w->used : n;
        memcpy(w->out + w->used, s, k);
        w->used += k;
        s += k;
        n -= k;
        if (w->used == WBUF_SIZE)
            w_flush(w);
    }
}

static void w_block(writer *w, uint32_t type, uint32_t count, const buf *payload) {
    unsigned char head[BLOCK_HEAD];
    uint64_t len = payload->len;
    memcpy(head, &type, 4);
    memcpy(head + 4, &count, 4);
    memcpy(head + 8, &len, 8);
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, head, sizeof head);
    XXH3_64bits_update(&st, payload->p, payload->len);
    uint64_t sum = XXH3_64bits_digest(&st);
    w_bytes(w, head, sizeof head);
    w_bytes(w, payload->p, payload->len);
    w_bytes(w, &sum, sizeof sum);
    w->blocks++;
}

static void enc_names(buf *b, const store *s, const char *(*name)(const store *, int), int max) {
    int n = 0;
    while (n < max && name(s, n))
        n++;
    put_u8(b, (uint8_t)n);
    for (int i = 0; i < n; i++)
        put_str8(b, name(s, i), strlen(name(s, i)));
}

static void enc_meta(buf *b, const snapshot_source *src) {
    const score_settings *st = src->settings;
    put_u32(b, (uint32_t)st->bins);
    put_u32(b, (uint32_t)st->tie_break);
    put_u32(b, (uint32_t)st->clock);
    put_u32(b, (uint32_t)st->as_of_offset_days);
    put_u32(b, store_max_ts(src->store));
    enc_names(b, src->store, store_category_name, STORE_MAX_CATEGORIES);
    enc_names(b, src->store, store_channel_name, STORE_MAX_CHANNELS);
    const segment_map *map = src->segments;
    put_u8(b, (uint8_t)map->nsegments);
    for (int i = 1; i <= map->nsegments; i++)
        put_str8(b, map->names[i], strlen(map->names[i]));
    const score_breakpoints *bp = src->bp;
    put_u64(b, bp->version);
    put_u32(b, (uint32_t)bp->bins);
    put_u64(b, bp->customers);
    put_u64(b, (uint64_t)bp->as_of);
    int edges = bp->version ? bp->bins + 1 : 0;
    for (int k = 0; k < edges; k++) {
        put_f64(b, bp->r_edges[k]);
        put_f64(b, bp->f_edges[k]);
        put_f64(b, bp->m_edges[k]);
    }
    for (int k = 1; k < edges - 1; k++) {
        const score_cut *c = &bp->f_cuts[k];
        put_u8(b, c->valid);
        put_u32(b, c->frequency);
        put_u32(b, c->first_ts);
        put_str8(b, c->key, c->key_len);
    }
}

static void enc_customer(buf *b, const store *s, const store_customer *c) {
    size_t klen;
    const char *key = store_key(s, c, &klen);
    put_str8(b, key, klen);
    put_u64(b, (uint64_t)c->monetary_cents);
    put_u32(b, c->first_ts);
    put_u32(b, c->last_ts);
    put_u32(b, c->frequency);
    for (int i = 0; i < STORE_RECENT_ORDERS; i++)
        put_u32(b, c->recent[i]);
    put_u16(b, c->categories);
    put_u8(b, c->channels);
    put_u8(b, c->r);
    put_u8(b, c->f);
    put_u8(b, c->m);
    put_u8(b, c->segment);
    put_u8(b, c->recent_next);
}

_Static_assert(STORE_RECENT_ORDERS == 3, "RECORD_BYTES assumes 3 recent order fingerprints");

static void w_header(writer *w, const snapshot_source *src) {
    unsigned char h[HEADER_SIZE] = {0};
    uint32_t version = SNAPSHOT_VERSION, hsize = HEADER_SIZE;
    uint64_t created = (uint64_t)src->created_ms, fp = snapshot_fingerprint(src->settings);
    uint64_t customers = store_count(src->store);
    memcpy(h, MAGIC, 8);
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &hsize, 4);
    memcpy(h + 16, &created, 8);
    memcpy(h + 24, &fp, 8);
    memcpy(h + 32, &customers, 8);
    uint64_t sum = XXH3_64bits(h, 56);
    memcpy(h + 56, &sum, 8);
    w_bytes(w, h, sizeof h);
}

int snapshot_write(const char *path, const snapshot_source *src, char *err, size_t errlen) {
    writer w = {.fd = -1};
    buf b = {0};
    int rc = -1;
    w.out = malloc(WBUF_SIZE);
    w.whole = XXH3_createState();
    if (!w.out || !w.whole) {
        errbuf_set(err, errlen, "out of memory");
        goto out;
    }
    XXH3_64bits_reset(w.whole);
    w.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (w.fd < 0) {
        errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    w_header(&w, src);

    enc_meta(&b, src);
    w_block(&w, BLK_META, 0, &b);
    b.len = 0;
    for (size_t i = 0; i < src->noffsets; i++) {
        const snapshot_offset *o = &src->offsets[i];
        put_str8(&b, o->topic, strnlen(o->topic, SNAPSHOT_TOPIC_MAX));
        put_u32(&b, (uint32_t)o->partition);
        put_u64(&b, (uint64_t)o->next);
        put_u64(&b, (uint64_t)o->redo_from);
    }
    w_block(&w, BLK_OFFSETS, (uint32_t)src->noffsets, &b);

    size_t n = store_count(src->store);
    for (size_t i = 0; i < n && !w.err && !b.oom; i += SNAPSHOT_BLOCK_CUSTOMERS) {
        size_t k = n - i < SNAPSHOT_BLOCK_CUSTOMERS ? n - i : SNAPSHOT_BLOCK_CUSTOMERS;
        b.len = 0;
        for (size_t j = i; j < i + k; j++)
            enc_customer(&b, src->store, store_at_const(src->store, j));
        w_block(&w, BLK_CUSTOMERS, (uint32_t)k, &b);
    }
    b.len = 0;
    put_u64(&b, n);
    put_u64(&b, w.blocks);
    w_block(&w, BLK_END, 0, &b);
    uint64_t whole = XXH3_64bits_digest(w.whole);
    w_bytes(&w, &whole, sizeof whole);
    w_flush(&w);

    if (b.oom) {
        errbuf_set(err, errlen, "out of memory");
    } else if (w.err) {
        errbuf_set(err, errlen, "writing %s: %s", path, strerror(w.err));
    } else if (fsync(w.fd)) {
        errbuf_set(err, errlen, "fsync %s: %s", path, strerror(errno));
    } else {
        rc = 0;
    }
out:
    if (w.fd >= 0 && close(w.fd) && !rc) {
        errbuf_set(err, errlen, "closing %s: %s", path, strerror(errno));
        rc = -1;
    }
    free(b.p);
    free(w.out);
    XXH3_freeState(w.whole);
    return rc;
}

/* ---------------------------------------------------------------- reading */

typedef struct rd {
    const unsigned char *p, *end;
    bool bad;
} rd;

static const void *take(rd *r, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const void *v = r->p;
    r->p += n;
    return v;
}

#define GET(T)                                                                                     \
    static T get_##T(rd *r) {                                                                      \
        T v = 0;                                                                                   \
        const void *p = take(r, sizeof v);                                                         \
        if (p)                                                                                     \
            memcpy(&v, p, sizeof v);                                                               \
        return v;                                                                                  \
    }
GET(uint8_t)
GET(uint32_t)
GET(uint64_t)
GET(double)

/* A length-prefixed string of 1..max bytes (0 allowed when allow_empty). */
static const char *get_str8(rd *r, size_t max, bool allow_empty, size_t *len) {
    *len = get_uint8_t(r);
    if ((!*len && !allow_empty) || *len > max) {
        r->bad = true;
        return NULL;
    }
    return take(r, *len);
}

static int dec_names(rd *r, store *s, int max, int (*intern)(store *, const char *, size_t)) {
    int n = get_uint8_t(r);
    if (n > max)
        r->bad = true;
    for (int i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *name = get_str8(r, 255, false, &len);
        if (name && memchr(name, 0, len))
            r->bad = true;
        if (name && s && intern(s, name, len) != i)
            r->bad = true;
    }
    return r->bad ? -1 : 0;
}

static int dec_meta(rd *r, snapshot_info *in, store *s) {
    score_settings *st = &in->settings;
    st->bins = (int)get_uint32_t(r);
    st->tie_break = (score_tie_break)get_uint32_t(r);
    st->clock = (score_clock)get_uint32_t(r);
    st->as_of_offset_days = (int)get_uint32_t(r);
    in->max_ts = get_uint32_t(r);
    if (st->bins < 2 || st->bins > SCORE_BINS_MAX || st->tie_break > SCORE_TIE_FIRST_ORDER ||
        st->clock > SCORE_CLOCK_WALL)
        return -1;
    if (s)
        store_note_ts(s, in->max_ts);
    if (dec_names(r, s, STORE_MAX_CATEGORIES, store_intern_category) ||
        dec_names(r, s, STORE_MAX_CHANNELS, store_intern_channel))
        return -1;
    in->nsegments = get_uint8_t(r);
    if (in->nsegments > SEGMENT_MAX)
        return -1;
    snprintf(in->segments[0], sizeof in->segments[0], "%s", SEGMENT_UNMATCHED_NAME);
    for (int i = 1; i <= in->nsegments && !r->bad; i++) {
        size_t len;
        const char *name = get_str8(r, SEGMENT_NAME_MAX, false, &len);
        if (name && memchr(name, 0, len))
            r->bad = true; /* names are C strings everywhere else */
        else if (name)
            snprintf(in->segments[i], sizeof in->segments[i], "%.*s", (int)len, name);
    }
    score_breakpoints *bp = &in->bp;
    bp->version = get_uint64_t(r);
    bp->bins = (int)get_uint32_t(r);
    bp->customers = get_uint64_t(r);
    bp->as_of = (int64_t)get_uint64_t(r);
    if (bp->version && bp->bins != st->bins)
        return -1;
    int edges = bp->version ? bp->bins + 1 : 0;
    for (int k = 0; k < edges; k++) {
        bp->r_edges[k] = get_double(r);
        bp->f_edges[k] = get_double(r);
        bp->m_edges[k] = get_double(r);
    }
    for (int k = 1; k < edges - 1 && !r->bad; k++) {
        score_cut *c = &bp->f_cuts[k];
        c->valid = get_uint8_t(r) != 0;
        c->frequency = get_uint32_t(r);
        c->first_ts = get_uint32_t(r);
        size_t len;
        const char *key = get_str8(r, STORE_KEY_MAX, true, &len);
        if (key) {
            memcpy(c->key, key, len);
            c->key_len = (uint8_t)len;
        }
    }
    return r->bad || r->p != r->end ? -1 : 0;
}

static int dec_offsets(rd *r, uint32_t count, snapshot_info *in) {
    /* count comes from the block header and sizes the array: at most what
     * the payload can hold (topic length, a topic byte, partition, offset). */
    if (count > (size_t)(r->end - r->p) / (1 + 1 + 4 + 8))
        return -1;
    in->offsets = calloc(count ? count : 1, sizeof *in->offsets);
    if (!in->offsets)
        return -1;
    for (uint32_t i = 0; i < count && !r->bad; i++) {
        snapshot_offset *o = &in->offsets[i];
        size_t len;
        const char *t = get_str8(r, SNAPSHOT_TOPIC_MAX, false, &len);
        if (t && memchr(t, 0, len))
            r->bad = true; /* a C string to Kafka and to the writer */
        else if (t)
            memcpy(o->topic, t, len);
        o->partition = (int32_t)get_uint32_t(r);
        o->next = (int64_t)get_uint64_t(r);
        o->redo_from = (int64_t)get_uint64_t(r);
        if (o->partition < 0 || o->next < 0 || o->redo_from < 0 || o->redo_from > o->next)
            r->bad = true;
        in->noffsets = i + 1;
    }
    return r->bad || r->p != r->end ? -1 : 0;
}

static int dec_customers(rd *r, uint32_t count, const snapshot_info *in, store *s,
                         const uint8_t *remap) {
    int bins = in->settings.bins;
    for (uint32_t i = 0; i < count; i++) {
        size_t klen;
        const char *key = get_str8(r, STORE_KEY_MAX, false, &klen);
        const unsigned char *f = take(r, RECORD_BYTES);
        if (!f)
            return -1;
        store_customer c;
        memcpy(&c.monetary_cents, f, 8);
        memcpy(&c.first_ts, f + 8, 4);
        memcpy(&c.last_ts, f + 12, 4);
        memcpy(&c.frequency, f + 16, 4);
        memcpy(c.recent, f + 20, 12);
        memcpy(&c.categories, f + 32, 2);
        c.channels = f[34];
        c.r = f[35];
        c.f = f[36];
        c.m = f[37];
        c.segment = f[38];
        c.recent_next = f[39];
        if (c.monetary_cents < 0 || c.r > bins || c.f > bins || c.m > bins ||
            c.segment > in->nsegments || c.recent_next >= STORE_RECENT_ORDERS)
            return -1;
        if (!s)
            continue;
        bool created;
        store_customer *dst = store_upsert(s, key, klen, &created);
        if (!dst || !created)
            return -1; /* out of memory, or the same id twice */
        c.key_ref = dst->key_ref;
        c.segment = remap[c.segment];
        *dst = c;
    }
    return r->p != r->end ? -1 : 0;
}

/* Pass 1: header and framing, every checksum. Fills the header fields. */
static int verify(const unsigned char *p, size_t size, uint64_t want_fp, snapshot_info *in,
                  char *err, size_t errlen) {
    if (size < HEADER_SIZE + BLOCK_SUM) {
        errbuf_set(err, errlen, "truncated: %zu bytes", size);
        return -1;
    }
    if (memcmp(p, MAGIC, 8)) {
        errbuf_set(err, errlen, "not an rfmd snapshot (bad magic)");
        return -1;
    }
    uint64_t hsum;
    memcpy(&hsum, p + 56, 8);
    if (hsum != XXH3_64bits(p, 56)) {
        errbuf_set(err, errlen, "header checksum mismatch");
        return -1;
    }
    memcpy(&in->version, p + 8, 4);
    memcpy(&in->created_ms, p + 16, 8);
    memcpy(&in->fingerprint, p + 24, 8);
    memcpy(&in->customers, p + 32, 8);
    in->file_bytes = size;
    if (in->version != SNAPSHOT_VERSION) {
        errbuf_set(err, errlen, "format version %u; this rfmd reads version %d", in->version,
                   SNAPSHOT_VERSION);
        return -1;
    }
    if (want_fp && in->fingerprint != want_fp) {
        errbuf_set(err, errlen,
                   "written under other scoring settings (bins, tie_break, clock or "
                   "as_of_offset_days differ: settings fingerprint %016llx, expected %016llx)",
                   (unsigned long long)in->fingerprint, (unsigned long long)want_fp);
        return -1;
    }
    size_t off = HEADER_SIZE, nblock = 0;
    bool end = false;
    while (!end) {
        if (size - off < BLOCK_HEAD + BLOCK_SUM) {
            errbuf_set(err, errlen, "truncated: block %zu at byte %zu is incomplete", nblock, off);
            return -1;
        }
        uint32_t type;
        uint64_t len;
        memcpy(&type, p + off, 4);
        memcpy(&len, p + off + 8, 8);
        if (len > size - off - BLOCK_HEAD - BLOCK_SUM) {
            errbuf_set(err, errlen, "truncated: block %zu at byte %zu claims %llu bytes", nblock,
                       off, (unsigned long long)len);
            return -1;
        }
        uint64_t sum;
        memcpy(&sum, p + off + BLOCK_HEAD + len, 8);
        if (sum != XXH3_64bits(p + off, BLOCK_HEAD + len)) {
            errbuf_set(err, errlen, "checksum mismatch in block %zu (type %u) at byte %zu", nblock,
                       type, off);
            return -1;
        }
        end = type == BLK_END;
        off += BLOCK_HEAD + len + BLOCK_SUM;
        nblock++;
    }
    if (size - off != BLOCK_SUM) {
        errbuf_set(err, errlen, "%s after the end block",
                   size - off < BLOCK_SUM ? "truncated" : "junk");
        return -1;
    }
    uint64_t whole;
    memcpy(&whole, p + off, 8);
    if (whole != XXH3_64bits(p, off)) {
        errbuf_set(err, errlen, "whole-file checksum mismatch");
        return -1;
    }
    /* The count sizes the store before any record is decoded, and checksums
     * only prove the file was not damaged, not that it was written by us:
     * never believe more customers than the file has room for (each takes a
     * length byte, at least one key byte and the record). */
    if (in->customers > (size - HEADER_SIZE) / (2 + RECORD_BYTES)) {
        errbuf_set(err, errlen, "header claims %llu customers, more than %zu bytes can hold",
                   (unsigned long long)in->customers, size);
        return -1;
    }
    return 0;
}

/* Pass 2: decode every block; builds into s when not NULL. */
static int decode(const unsigned char *p, snapshot_info *in, store *s, const segment_map *map,
                  char *err, size_t errlen) {
    uint8_t remap[SEGMENT_MAX + 1];
    size_t off = HEADER_SIZE, nblock = 0;
    uint64_t customers = 0;
    bool meta = false, offsets = false;
    for (;; nblock++) {
        uint32_t type, count;
        uint64_t len;
        memcpy(&type, p + off, 4);
        memcpy(&count, p + off + 4, 4);
        memcpy(&len, p + off + 8, 8);
        rd r = {.p = p + off + BLOCK_HEAD, .end = p + off + BLOCK_HEAD + len};
        off += BLOCK_HEAD + len + BLOCK_SUM;
        int rc = 0;
        if (type == BLK_META && !meta && nblock == 0) {
            meta = true;
            rc = dec_meta(&r, in, s);
            for (int i = 0; i <= SEGMENT_MAX; i++) {
                int to = !map || i > in->nsegments ? i : i ? segment_find(map, in->segments[i]) : 0;
                remap[i] = (uint8_t)(to > 0 ? to : 0);
            }
        } else if (type == BLK_OFFSETS && meta && !offsets) {
            offsets = true;
            rc = dec_offsets(&r, count, in);
        } else if (type == BLK_CUSTOMERS && offsets && count <= SNAPSHOT_BLOCK_CUSTOMERS) {
            rc = dec_customers(&r, count, in, s, remap);
            customers += count;
        } else if (type == BLK_END && offsets) {
            uint64_t n = get_uint64_t(&r), blocks = get_uint64_t(&r);
            if (r.bad || n != customers || n != in->customers || blocks != nblock) {
                errbuf_set(err, errlen, "end block disagrees: %llu customers in %zu blocks",
                           (unsigned long long)customers, nblock);
                return -1;
            }
            return 0;
        } else {
            errbuf_set(err, errlen, "unexpected block %zu (type %u)", nblock, type);
            return -1;
        }
        if (rc) {
            errbuf_set(err, errlen, "block %zu (type %u) does not decode (or out of memory)",
                       nblock, type);
            return -1;
        }
    }
}

int snapshot_load(const char *path, uint64_t want_fingerprint, const segment_map *map, store **out,
                  snapshot_info *info, char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errbuf_set(err, errlen, "%s", strerror(errno));
        return -1;
    }
    struct stat stt;
    int st_rc = fstat(fd, &stt);
    if (st_rc || !S_ISREG(stt.st_mode)) {
        errbuf_set(err, errlen, "%s", st_rc ? strerror(errno) : "not a regular file");
        close(fd);
        return -1;
    }
    size_t size = (size_t)stt.st_size;
    const unsigned char *p = NULL;
    if (size) {
        p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            errbuf_set(err, errlen, "mmap: %s", strerror(errno));
            close(fd);
            return -1;
        }
    }
    close(fd);
    int rc = verify(p, size, want_fingerprint, info, err, errlen);
    store *s = NULL;
    if (!rc && out) {
        s = store_new();
        if (!s || store_reserve(s, info->customers)) {
            errbuf_set(err, errlen, "out of memory for %llu customers",
                       (unsigned long long)info->customers);
            rc = -1;
        }
    }
    if (!rc)
        rc = decode(p, info, s, map, err, errlen);
    if (p)
        munmap((void *)p, size);
    if (rc) {
        store_free(s);
        snapshot_info_free(info);
        return -1;
    }
    if (out)
        *out = s;
    return 0;
}

void snapshot_info_free(snapshot_info *info) {
    free(info->offsets);
    info->offsets = NULL;
    info->noffsets = 0;
}
