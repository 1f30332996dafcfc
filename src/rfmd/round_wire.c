/*
 * round_wire — the byte form of the round's control messages and of the
 * breakpoints record (round.h, round_internal.h).
 *
 *   magic[4] format[1] body crc32[4, little-endian, of everything before]
 *
 * Control messages ("RFCT") and records ("RFBP") use fixed-width
 * little-endian integers: they are a few dozen bytes around the engine's
 * own (varint-coded, checksummed) summary, request and answer, which travel
 * as an opaque payload. Doubles travel as their IEEE-754 bits, so a record
 * carries the coordinator's edges bit for bit.
 *
 * The decoders are strict (a buffer comes from another process): checksum
 * first, every field read against the bytes left, counts bounded by what
 * is left, ranges checked, and the body must end at the trailer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "round_internal.h"
#include "util/errbuf.h"
#include "util/strbuf.h"

#define ROUND_WIRE_FORMAT 1

static const char MAGIC_MSG[4] = {'R', 'F', 'C', 'T'};
static const char MAGIC_RECORD[4] = {'R', 'F', 'B', 'P'};

const char *round_kind_name(round_kind k) {
    switch (k) {
    case ROUND_BEGIN:
        return "BEGIN";
    case ROUND_SUMMARY:
        return "SUMMARY";
    case ROUND_REQUEST:
        return "REQUEST";
    case ROUND_ANSWER:
        return "ANSWER";
    case ROUND_WANT:
        return "WANT";
    }
    return "?";
}

/* ---- writing ---- */

static void put_u(strbuf *b, uint64_t v, int bytes) {
    char c[8];
    for (int i = 0; i < bytes; i++)
        c[i] = (char)(v >> (8 * i));
    strbuf_put(b, c, (size_t)bytes);
}

static void put_f64(strbuf *b, double d) {
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u(b, v, 8);
}

static void put_head(strbuf *b, const char magic[4]) {
    strbuf_put(b, magic, 4);
    put_u(b, ROUND_WIRE_FORMAT, 1);
}

/* Append the checksum and hand the bytes over. */
static uint8_t *finish(strbuf *b, size_t *len) {
    if (!b->oom)
        put_u(b, crc32(0, (const Bytef *)b->p, (uInt)b->len), 4);
    return (uint8_t *)strbuf_finish(b, len);
}

/* ---- reading ---- */

typedef struct rbuf {
    const uint8_t *p;
    size_t left;
    bool bad;
} rbuf;

static uint64_t get_u(rbuf *r, int bytes) {
    if (r->bad || r->left < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    r->left -= (size_t)bytes;
    return v;
}

static double get_f64(rbuf *r) {
    uint64_t v = get_u(r, 8);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static const uint8_t *get_bytes(rbuf *r, size_t n) {
    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

/* Check magic, format and checksum; r covers the body. */
static int open_buf(const uint8_t *buf, size_t len, const char magic[4], rbuf *r, char *err,
                    size_t errlen) {
    if (len < 9) {
        errbuf_set(err, errlen, "too short (%zu bytes)", len);
        return -1;
    }
    if (memcmp(buf, magic, 4)) {
        errbuf_set(err, errlen, "not a %.4s buffer", magic);
        return -1;
    }
    if (buf[4] != ROUND_WIRE_FORMAT) {
        errbuf_set(err, errlen, "format %u unknown (this rfmd reads %d)", buf[4],
                   ROUND_WIRE_FORMAT);
        return -1;
    }
    uint32_t want = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 |
                    (uint32_t)buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24;
    if ((uint32_t)crc32(0, buf, (uInt)(len - 4)) != want) {
        errbuf_set(err, errlen, "checksum mismatch");
        return -1;
    }
    *r = (rbuf){buf + 5, len - 9, false};
    return 0;
}

/* ---- control messages ---- */

uint8_t *round_msg_encode(const round_msg *m, size_t *len) {
    strbuf b = STRBUF_INIT;
    put_head(&b, MAGIC_MSG);
    put_u(&b, (uint64_t)m->kind, 1);
    put_u(&b, m->coordinator, 8);
    put_u(&b, m->version, 8);
    put_u(&b, m->attempt, 4);
    put_u(&b, m->sender, 8);
    switch (m->kind) {
    case ROUND_BEGIN:
        put_u(&b, (uint64_t)m->now, 8);
        put_u(&b, (uint64_t)(uint32_t)m->partitions, 4);
        break;
    case ROUND_SUMMARY:
        put_u(&b, m->nparts, 4);
        for (uint32_t i = 0; i < m->nparts; i++) {
            put_u(&b, (uint64_t)(uint32_t)m->parts[i].partition, 4);
            put_u(&b, (uint64_t)m->parts[i].offset, 8);
            put_u(&b, m->parts[i].caught_up, 1);
        }
        put_u(&b, m->payload_len, 4);
        strbuf_put(&b, (const char *)m->payload, m->payload_len);
        break;
    case ROUND_REQUEST:
    case ROUND_ANSWER:
        put_u(&b, m->step, 4);
        put_u(&b, m->payload_len, 4);
        strbuf_put(&b, (const char *)m->payload, m->payload_len);
        break;
    case ROUND_WANT: {
        size_t n = strnlen(m->why, sizeof m->why - 1);
        put_u(&b, n, 1);
        strbuf_put(&b, m->why, n);
        break;
    }
    }
    return finish(&b, len);
}

static void get_payload(rbuf *r, round_msg *m) {
    size_t n = (size_t)get_u(r, 4);
    m->payload = get_bytes(r, n);
    m->payload_len = m->payload ? n : 0;
}

int round_msg_decode(const uint8_t *buf, size_t len, round_msg *m, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    rbuf r;
    if (open_buf(buf, len, MAGIC_MSG, &r, err, errlen) < 0)
        return -1;
    m->kind = (round_kind)get_u(&r, 1);
    m->coordinator = get_u(&r, 8);
    m->version = get_u(&r, 8);
    m->attempt = (uint32_t)get_u(&r, 4);
    m->sender = get_u(&r, 8);
    switch (m->kind) {
    case ROUND_BEGIN:
        m->now = (int64_t)get_u(&r, 8);
        m->partitions = (int32_t)(uint32_t)get_u(&r, 4);
        if (!r.bad && (m->partitions <= 0 || m->partitions > ROUND_MAX_PARTITIONS))
            r.bad = true;
        break;
    case ROUND_SUMMARY: {
        uint64_t n = get_u(&r, 4);
        /* 13 bytes a partition: a corrupt count cannot promise more. */
        if (r.bad || n > ROUND_MAX_PARTITIONS || n * 13 > r.left) {
            r.bad = true;
            break;
        }
        m->parts = calloc(n ? n : 1, sizeof *m->parts);
        if (!m->parts) {
            errbuf_set(err, errlen, "out of memory");
            return -1;
        }
        m->nparts = (uint32_t)n;
        for (uint32_t i = 0; i < m->nparts; i++) {
            m->parts[i].partition = (int32_t)(uint32_t)get_u(&r, 4);
            m->parts[i].offset = (int64_t)get_u(&r, 8);
            m->parts[i].caught_up = get_u(&r, 1) != 0;
            if (m->parts[i].partition < 0 || m->parts[i].partition >= ROUND_MAX_PARTITIONS)
                r.bad = true;
        }
        get_payload(&r, m);
        break;
    }
    case ROUND_REQUEST:
    case ROUND_ANSWER:
        m->step = (uint32_t)get_u(&r, 4);
        get_payload(&r, m);
        break;
    case ROUND_WANT: {
        size_t n = (size_t)get_u(&r, 1);
        const uint8_t *p = get_bytes(&r, n);
        if (p && n < sizeof m->why)
            memcpy(m->why, p, n);
        else
            r.bad = true;
        break;
    }
    default:
        errbuf_set(err, errlen, "unknown message kind %d", (int)m->kind);
        round_msg_clear(m);
        return -1;
    }
    if (r.bad || r.left) {
        errbuf_set(err, errlen, "%s message malformed (%s)", round_kind_name(m->kind),
                   r.bad ? "truncated or out of range" : "trailing bytes");
        round_msg_clear(m);
        return -1;
    }
    return 0;
}

void round_msg_clear(round_msg *m) {
    free(m->parts);
    m->parts = NULL;
    m->nparts = 0;
}

/* ---- the breakpoints record ---- */

uint8_t *round_record_encode(const round_record *rec, size_t *len) {
    const score_breakpoints *bp = &rec->bp;
    strbuf b = STRBUF_INIT;
    put_head(&b, MAGIC_RECORD);
    put_u(&b, rec->version, 8);
    put_u(&b, rec->attempt, 4);
    put_u(&b, rec->coordinator, 8);
    put_u(&b, (uint64_t)(uint32_t)rec->partitions, 4);
    for (int32_t p = 0; p < rec->partitions; p++)
        put_u(&b, (uint64_t)rec->offsets[p], 8);
    put_u(&b, rec->members, 4);
    put_u(&b, rec->requests, 4);
    put_u(&b, rec->bytes, 8);
    put_u(&b, (uint64_t)rec->duration_ms, 8);
    put_u(&b, (uint64_t)rec->begun_wall_ms, 8);
    put_u(&b, bp->version, 8);
    put_u(&b, (uint64_t)(uint32_t)bp->bins, 4);
    put_u(&b, (uint64_t)bp->customers, 8);
    put_u(&b, (uint64_t)bp->as_of, 8);
    for (int k = 0; k <= bp->bins; k++) {
        put_f64(&b, bp->r_edges[k]);
        put_f64(&b, bp->f_edges[k]);
        put_f64(&b, bp->m_edges[k]);
    }
    for (int k = 1; k < bp->bins; k++) {
        const score_cut *c = &bp->f_cuts[k];
        put_u(&b, c->valid, 1);
        put_u(&b, c->frequency, 4);
        put_u(&b, c->first_ts, 4);
        put_u(&b, c->key_len, 1);
        strbuf_put(&b, c->key, c->key_len);
    }
    return finish(&b, len);
}

int round_record_decode(const uint8_t *buf, size_t len, round_record *rec, char *err,
                        size_t errlen) {
    memset(rec, 0, sizeof *rec);
    rbuf r;
    if (open_buf(buf, len, MAGIC_RECORD, &r, err, errlen) < 0)
        return -1;
    rec->version = get_u(&r, 8);
    rec->attempt = (uint32_t)get_u(&r, 4);
    rec->coordinator = get_u(&r, 8);
    int64_t parts = (int32_t)(uint32_t)get_u(&r, 4);
    if (r.bad || parts <= 0 || parts > ROUND_MAX_PARTITIONS || (size_t)parts * 8 > r.left) {
        errbuf_set(err, errlen, "record malformed (partition count)");
        return -1;
    }
    rec->offsets = malloc((size_t)parts * sizeof *rec->offsets);
    if (!rec->offsets) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    rec->partitions = (int32_t)parts;
    for (int32_t p = 0; p < rec->partitions; p++)
        rec->offsets[p] = (int64_t)get_u(&r, 8);
    rec->members = (unsigned)get_u(&r, 4);
    rec->requests = (unsigned)get_u(&r, 4);
    rec->bytes = get_u(&r, 8);
    rec->duration_ms = (int64_t)get_u(&r, 8);
    rec->begun_wall_ms = (int64_t)get_u(&r, 8);
    score_breakpoints *bp = &rec->bp;
    bp->version = get_u(&r, 8);
    bp->bins = (int)(uint32_t)get_u(&r, 4);
    bp->customers = (size_t)get_u(&r, 8);
    bp->as_of = (int64_t)get_u(&r, 8);
    if (!r.bad && (bp->bins < 2 || bp->bins > SCORE_BINS_MAX || bp->version != rec->version))
        r.bad = true;
    for (int k = 0; !r.bad && k <= bp->bins; k++) {
        bp->r_edges[k] = get_f64(&r);
        bp->f_edges[k] = get_f64(&r);
        bp->m_edges[k] = get_f64(&r);
    }
    for (int k = 1; !r.bad && k < bp->bins; k++) {
        score_cut *c = &bp->f_cuts[k];
        c->valid = get_u(&r, 1) != 0;
        c->frequency = (uint32_t)get_u(&r, 4);
        c->first_ts = (uint32_t)get_u(&r, 4);
        c->key_len = (uint8_t)get_u(&r, 1);
        const uint8_t *key = c->key_len <= STORE_KEY_MAX ? get_bytes(&r, c->key_len) : NULL;
        if (!key)
            r.bad = true;
        else
            memcpy(c->key, key, c->key_len);
    }
    if (r.bad || r.left) {
        errbuf_set(err, errlen, "record malformed (%s)",
                   r.bad ? "truncated or out of range" : "trailing bytes");
        round_record_clear(rec);
        return -1;
    }
    return 0;
}

void round_record_clear(round_record *rec) {
    free(rec->offsets);
    rec->offsets = NULL;
}
