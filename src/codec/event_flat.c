/*
 * event_flat — the fast path of event_decode for the order event as it
 * nearly always comes: one flat JSON object, no escapes, every field valid.
 *
 * The general decoder builds a jansson tree (a malloc per value) and then
 * looks the fields up; at Kafka rates that is most of rfmd's time per
 * message. This scanner reads the same text once, in place, and either
 * produces exactly the order the general decoder would, or gives up (-1)
 * and lets the general decoder do everything, rejections and their messages
 * included. It never rejects anything itself. So it only has to be right
 * about what it accepts, and it accepts only what it fully understands:
 *
 *  - an object of string, number, null keyed values, and one array of
 *    strings for the categories field; any other value (true/false, nested
 *    object, other arrays) gives up;
 *  - no backslash anywhere in a string (escapes would need decoding), no raw
 *    control character (invalid JSON), no key seen twice (the general
 *    decoder rejects duplicates), at most FLAT_MAX_KEYS keys;
 *  - numbers in strict JSON grammar, in any field: integers up to 18
 *    digits, reals that strtod reads as finite (jansson fails the whole
 *    text otherwise); amounts turned into cents exactly as the general
 *    decoder does, or given up on;
 *  - every field passing the general decoder's checks (the same helpers:
 *    timefmt_parse_rfc3339, money_parse, the id rules).
 *
 * The caller has already checked size, UTF-8, NUL bytes and a BOM. The
 * strings of the order point into buf. tests/fuzz/fuzz_event.c checks on
 * every input that both paths agree.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event_internal.h"
#include "rfm/money.h"
#include "rfm/timefmt.h"

#define FLAT_MAX_KEYS 24

typedef enum { V_STRING, V_INT, V_REAL, V_NULL, V_ARRAY } vkind;

typedef struct span {
    const char *p;
    size_t len;
} span;

typedef struct scan {
    const char *p, *end;
} scan;

static void ws(scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* A string without escapes or control characters; s->p at the quote. */
static bool str(scan *s, span *out) {
    const char *q = ++s->p;
    while (q < s->end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c == '\\' || c < 0x20)
            return false;
        q++;
    }
    if (q == s->end)
        return false;
    out->p = s->p;
    out->len = (size_t)(q - s->p);
    s->p = q + 1;
    return true;
}

static bool digits(scan *s) {
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

/* A JSON number (strict grammar); real when it has a fraction or exponent. */
static bool number(scan *s, span *out, bool *real) {
    const char *start = s->p;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0') {
        s->p++;
        if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            return false; /* leading zero */
    } else if (!digits(s)) {
        return false;
    }
    *real = false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s))
            return false;
        *real = true;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!digits(s))
            return false;
        *real = true;
    }
    out->p = start;
    out->len = (size_t)(s->p - start);
    return true;
}

static bool lit(scan *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
        return false;
    s->p += n;
    return true;
}

static bool is_key(span k, const char *name) {
    return name && strlen(name) == k.len && !memcmp(k.p, name, k.len);
}

/* The general decoder's id rules, accepting only. */
static bool id_ok(span v) {
    if (v.len == 0 || v.len > ORDER_ID_MAX)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == 0x7F || (c == 0xC2 && i + 1 < v.len && (unsigned char)v.p[i + 1] <= 0x9F))
            return false;
    }
    return true;
}

static bool int_of(span v, long long *out) {
    const char *p = v.p;
    size_t n = v.len;
    bool neg = n && *p == '-';
    if (neg)
        p++, n--;
    if (n == 0 || n > 18)
        return false;
    long long x = 0;
    for (size_t i = 0; i < n; i++)
        x = x * 10 + (p[i] - '0');
    *out = neg ? -x : x;
    return true;
}

/* A number's value, read once. jansson fails the whole text on a number it
 * cannot hold, whatever field it is in; so must we (by giving up). */
static bool number_value(span v, bool real, long long *i, double *d) {
    if (!real)
        return int_of(v, i);
    char num[40];
    if (v.len >= sizeof num)
        return false;
    memcpy(num, v.p, v.len);
    num[v.len] = '\0';
    *d = strtod(num, NULL);
    return isfinite(*d);
}

static bool ts_ok(vkind k, span v, long long i, int64_t *ts) {
    if (k == V_STRING) {
        if (timefmt_parse_rfc3339(v.p, v.len, ts))
            return false;
    } else if (k == V_INT) {
        *ts = i / 1000 - (i % 1000 < 0);
    } else {
        return false;
    }
    return *ts >= ORDER_TS_MIN && *ts <= ORDER_TS_MAX;
}

static bool amount_ok(vkind k, span v, long long i, double d, int64_t *cents) {
    if (k == V_STRING)
        return money_parse(v.p, v.len, cents) == 0;
    if (k == V_INT) {
        if (i > MONEY_MAX_CENTS / 100 || i < -(MONEY_MAX_CENTS / 100))
            return false;
        *cents = (int64_t)i * 100;
        return true;
    }
    return k == V_REAL && event_cents_of_double(d, cents);
}

/* After a member or element: 1 on ',' (another follows), 0 on `close`,
 * -1 on anything else. */
static int next_or_close(scan *s, char close) {
    ws(s);
    if (s->p < s->end && (*s->p == ',' || *s->p == close))
        return *s->p++ == ',';
    return -1;
}

/* An id field: a valid string, or give up. */
static bool take_id(vkind k, span v, order_str *dst) {
    if (k != V_STRING || !id_ok(v))
        return false;
    dst->p = v.p;
    dst->len = v.len;
    return true;
}

int event_flat_decode(const event_fields *f, const char *buf, size_t len, event_decoded *out) {
    scan s = {buf, buf + len};
    span keys[FLAT_MAX_KEYS];
    size_t nkeys = 0;
    bool have_oid = false, have_cid = false, have_ts = false, have_amount = false;
    order *o = &out->o;
    memset(o, 0, sizeof *o);

    ws(&s);
    if (s.p == s.end || *s.p != '{')
        return -1;
    s.p++;
    ws(&s);
    if (s.p < s.end && *s.p == '}')
        return -1; /* empty object: the general decoder says what is missing */
    for (;;) {
        span k, v = {NULL, 0};
        ws(&s);
        if (s.p == s.end || *s.p != '"' || !str(&s, &k) || nkeys == FLAT_MAX_KEYS)
            return -1;
        for (size_t i = 0; i < nkeys; i++)
            if (keys[i].len == k.len && !memcmp(keys[i].p, k.p, k.len))
                return -1;
        keys[nkeys++] = k;
        ws(&s);
        if (s.p == s.end || *s.p != ':')
            return -1;
        s.p++;
        ws(&s);
        if (s.p == s.end)
            return -1;
        vkind kind;
        bool real = false;
        long long iv = 0;
        double dv = 0;
        size_t ncats = 0;
        if (*s.p == '"') {
            if (!str(&s, &v))
                return -1;
            kind = V_STRING;
        } else if (*s.p == '-' || (*s.p >= '0' && *s.p <= '9')) {
            if (!number(&s, &v, &real) || !number_value(v, real, &iv, &dv))
                return -1;
            kind = real ? V_REAL : V_INT;
        } else if (lit(&s, "null")) {
            kind = V_NULL;
        } else if (*s.p == '[' && is_key(k, f->categories)) {
            s.p++;
            ws(&s);
            if (s.p < s.end && *s.p == ']') {
                s.p++;
            } else {
                for (;;) {
                    span c;
                    ws(&s);
                    if (s.p == s.end || *s.p != '"' || !str(&s, &c) ||
                        ncats == ORDER_MAX_CATEGORIES)
                        return -1;
                    if (c.len) {
                        out->cats[o->ncategories].p = c.p;
                        out->cats[o->ncategories].len = c.len;
                        o->ncategories++;
                    }
                    ncats++;
                    int more = next_or_close(&s, ']');
                    if (more < 0)
                        return -1;
                    if (!more)
                        break;
                }
            }
            kind = V_ARRAY;
            o->categories = out->cats;
        } else {
            return -1;
        }

        if (is_key(k, f->order_id)) {
            if (!(have_oid = take_id(kind, v, &o->order_id)))
                return -1;
        } else if (is_key(k, f->customer_id)) {
            if (!(have_cid = take_id(kind, v, &o->customer_id)))
                return -1;
        } else if (is_key(k, f->ts)) {
            if (!(have_ts = ts_ok(kind, v, iv, &o->ts)))
                return -1;
        } else if (is_key(k, f->amount)) {
            if (!(have_amount = amount_ok(kind, v, iv, dv, &o->amount_cents)))
                return -1;
        } else if (is_key(k, f->currency)) {
            if (kind != V_STRING && kind != V_NULL)
                return -1;
        } else if (is_key(k, f->channel)) {
            if (kind == V_STRING)
                o->channel.p = v.p, o->channel.len = v.len;
            else if (kind != V_NULL)
                return -1;
        } else if (is_key(k, f->categories)) {
            if (kind != V_ARRAY && kind != V_NULL)
                return -1;
        } else if (kind == V_ARRAY) {
            return -1;
        }

        int more = next_or_close(&s, '}');
        if (more < 0)
            return -1;
        if (!more)
            break;
    }
    ws(&s);
    if (s.p != s.end || !have_oid || !have_cid || !have_ts || !have_amount)
        return -1;
    return 0;
}
