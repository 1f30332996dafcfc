/*
 * event — decoding SPEC §2 order events (the encoder, for order events and
 * SPEC §4 segment changes, is event_encode.c; the fast path for flat objects
 * is event_flat.c).
 *
 * Decoding is jansson plus our own checks before and after it, so that every
 * rejection carries the most precise reason we can give:
 *  - size, then UTF-8 (validated here: jansson would only say "invalid
 *    UTF-8" somewhere) and raw NUL bytes, before parsing;
 *  - jansson with JSON_DECODE_ANY (a bare `42` is "not an object", not "not
 *    JSON"), JSON_REJECT_DUPLICATES (which "amount" would we believe?) and
 *    JSON_ALLOW_NUL (an escaped \u0000 is valid JSON; inside an id it is a
 *    control character and rejected as bad_id). Jansson caps nesting at
 *    JSON_PARSER_MAX_DEPTH (2048), so deep nesting fails cleanly. A number
 *    too big for jansson fails the whole parse; when it is the value of the
 *    top-level amount or ts field we say so (bad_amount / bad_ts);
 *  - then the fields, in SPEC order; the first problem found is reported.
 * A leading UTF-8 BOM is skipped (RFC 8259 lets parsers ignore it).
 *
 * Field decisions: ids must be JSON strings (an integer id is wrong_type, as
 * the SPEC says "string"), 1..128 bytes, no C0/C1 control characters or DEL.
 * `null` means absent: fine for optional fields, missing_field for required
 * ones. `ts` is an RFC 3339 string (or date) or integer epoch milliseconds;
 * a real number is wrong_type. Epoch seconds sent where milliseconds are
 * expected decode to January 1970: a valid instant we cannot tell apart from
 * a real one, so it is accepted. Empty strings in `categories` are dropped.
 *
 * Exact amounts: jansson keeps no number text and parses reals with strtod.
 * We turn the double back into the shortest decimal that strtod maps to the
 * same double and parse that with money_parse. Every decimal of at most 15
 * significant digits (DBL_DIG) comes back exactly, and every in-range amount
 * with at most two decimals has at most 15 (|amount| <= 10^13 units): 0.1,
 * 799.38, 1e2 and 9999999999999.99 are exact, and ties like 1.005 round as
 * written (101 cents), not as the double below them. Only a number written
 * with more than 15 significant digits can round differently from its text,
 * and only when it lies within a double's precision of a half-cent tie.
 * Decimal strings ("799.38") never touch a double.
 */
#include "rfm/event.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_internal.h"
#include "rfm/money.h"
#include "rfm/timefmt.h"
#include "util/errbuf.h"

/* A short, printable, quoted excerpt of a value for error details: they go
 * to logs and Kafka headers, so no control bytes and no unbounded length. */
#define SNIP_MAX 40
static const char *snip(char *out, size_t outlen, const char *s, size_t len) {
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < outlen;) {
        if (i >= SNIP_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        size_t n = event_utf8_seq((const unsigned char *)s, len, i);
        if (c < 0x20 || c == 0x7F || n == 0) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
            i++;
        } else if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else {
            if (o + n + 2 >= outlen)
                break;
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* ---- decoding ---------------------------------------------------------- */

void event_fields_default(event_fields *f) {
    f->order_id = "order_id";
    f->customer_id = "customer_id";
    f->ts = "ts";
    f->amount = "amount";
    f->currency = "currency";
    f->channel = "channel";
    f->categories = "categories";
}

const char *event_reject_name(event_reject r) {
    static const char *const names[EVENT_REJECT_COUNT] = {
        [EVENT_OK] = "ok",
        [EVENT_TOO_LARGE] = "too_large",
        [EVENT_NOT_UTF8] = "not_utf8",
        [EVENT_NOT_JSON] = "not_json",
        [EVENT_NOT_OBJECT] = "not_object",
        [EVENT_MISSING_FIELD] = "missing_field",
        [EVENT_WRONG_TYPE] = "wrong_type",
        [EVENT_BAD_ID] = "bad_id",
        [EVENT_BAD_TS] = "bad_ts",
        [EVENT_BAD_AMOUNT] = "bad_amount",
        [EVENT_TOO_MANY_CATEGORIES] = "too_many_categories",
    };
    return (int)r >= 0 && r < EVENT_REJECT_COUNT ? names[r] : "unknown";
}

void event_decoded_free(event_decoded *d) {
    if (!d)
        return;
    json_decref((json_t *)d->priv);
    d->priv = NULL;
    memset(&d->o, 0, sizeof d->o);
}

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Which top-level key's value sits at byte `pos` of a JSON text that parsed
 * fine up to there? Returns the raw key bytes, or NULL when pos is not in a
 * top-level value. Used only to attribute jansson's number overflows. */
static const char *toplevel_key_at(const char *buf, size_t pos, size_t *klen) {
    int depth = 0;
    bool in_str = false, esc = false;
    const char *str = NULL, *key = NULL;
    size_t slen = 0;
    for (size_t i = 0; i < pos; i++) {
        char c = buf[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
                slen = (size_t)(buf + i - str);
            }
            continue;
        }
        switch (c) {
        case '"':
            in_str = true;
            str = buf + i + 1;
            break;
        case '{':
        case '[':
            depth++;
            key = NULL;
            break;
        case '}':
        case ']':
            depth--;
            key = NULL;
            break;
        case ',':
            if (depth == 1)
                key = NULL;
            break;
        case ':':
            if (depth == 1) {
                key = str;
                *klen = slen;
            }
            break;
        default:
            break;
        }
    }
    return depth == 1 && !in_str ? key : NULL;
}

static bool key_is(const char *key, size_t klen, const char *name) {
    return key && name && strlen(name) == klen && !memcmp(key, name, klen);
}

typedef struct dctx {
    char *err;
    size_t errlen;
} dctx;

/* Fetch a field; NULL when absent or null. */
static json_t *field(json_t *root, const char *name) {
    json_t *v = name ? json_object_get(root, name) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

/* Fetch a required field; NULL (absent or null) with missing_field's
 * message written, so the caller only returns EVENT_MISSING_FIELD. */
static json_t *required(dctx *x, json_t *root, const char *name) {
    json_t *v = field(root, name);
    if (!v)
        errbuf_set(x->err, x->errlen, "field '%s' is missing", name);
    return v;
}

/* The wrong_type rejection of field `name`, whose value v is not `want`. */
static event_reject wrong_type(dctx *x, const char *name, const char *want, const json_t *v) {
    errbuf_set(x->err, x->errlen, "field '%s': expected %s, got %s", name, want, type_name(v));
    return EVENT_WRONG_TYPE;
}

static event_reject required_string(dctx *x, json_t *root, const char *name, order_str *out) {
    json_t *v = required(x, root, name);
    if (!v)
        return EVENT_MISSING_FIELD;
    if (!json_is_string(v))
        return wrong_type(x, name, "a string", v);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    char q[SNIP_MAX * 4 + 16];
    if (len == 0) {
        errbuf_set(x->err, x->errlen, "field '%s' is empty", name);
        return EVENT_BAD_ID;
    }
    if (len > ORDER_ID_MAX) {
        errbuf_set(x->err, x->errlen, "field '%s': %s is %zu bytes, more than %d", name,
                   snip(q, sizeof q, s, len), len, ORDER_ID_MAX);
        return EVENT_BAD_ID;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool c1 = c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9F;
        if (c < 0x20 || c == 0x7F || c1) {
            errbuf_set(x->err, x->errlen, "field '%s': %s contains a control character", name,
                       snip(q, sizeof q, s, len));
            return EVENT_BAD_ID;
        }
    }
    out->p = s;
    out->len = len;
    return EVENT_OK;
}

static event_reject decode_ts(dctx *x, json_t *root, const char *name, int64_t *ts) {
    json_t *v = required(x, root, name);
    char q[SNIP_MAX * 4 + 16];
    if (!v)
        return EVENT_MISSING_FIELD;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (timefmt_parse_rfc3339(s, len, ts)) {
            errbuf_set(x->err, x->errlen,
                       "field '%s': %s is not a valid RFC 3339 time or epoch milliseconds", name,
                       snip(q, sizeof q, s, len));
            return EVENT_BAD_TS;
        }
    } else if (json_is_integer(v)) {
        json_int_t ms = json_integer_value(v);
        *ts = ms / 1000 - (ms % 1000 < 0);
    } else {
        return wrong_type(x, name, "an RFC 3339 string or integer epoch milliseconds", v);
    }
    if (*ts < ORDER_TS_MIN || *ts > ORDER_TS_MAX) {
        char lo[32], hi[32];
        timefmt_rfc3339_ms(ORDER_TS_MIN * 1000, lo, sizeof lo);
        timefmt_rfc3339_ms(ORDER_TS_MAX * 1000, hi, sizeof hi);
        errbuf_set(x->err, x->errlen, "field '%s': time %lld is outside %s .. %s", name,
                   (long long)*ts, lo, hi);
        return EVENT_BAD_TS;
    }
    return EVENT_OK;
}

/* Shortest "%.*g" text that reads back as the same double (see the top). */
static void shortest_repr(double d, char *buf, size_t len) {
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* A locale may have printed a decimal comma; money_parse wants '.'. */
    for (char *c = buf; *c; c++)
        if (!((*c >= '0' && *c <= '9') || *c == '-' || *c == '+' || *c == 'e' || *c == 'E'))
            *c = '.';
}

/* The common case without any printf: a double that is exactly the nearest
 * double of a decimal with at most two places. Below 2^45 doubles are less
 * than 0.01 apart, so no other such decimal maps to the same double and the
 * result is what shortest_repr + money_parse would give. */
bool event_cents_of_double(double d, int64_t *cents) {
    if (!(d > -35184372088832.0 && d < 35184372088832.0)) /* 2^45; NaN fails too */
        return false;
    double c = nearbyint(d * 100.0);
    if (c / 100.0 != d || c > (double)MONEY_MAX_CENTS || c < -(double)MONEY_MAX_CENTS)
        return false;
    *cents = (int64_t)c;
    return true;
}

static event_reject decode_amount(dctx *x, json_t *root, const char *name, int64_t *cents) {
    json_t *v = required(x, root, name);
    char q[SNIP_MAX * 4 + 16];
    if (!v)
        return EVENT_MISSING_FIELD;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n > MONEY_MAX_CENTS / 100 || n < -(MONEY_MAX_CENTS / 100)) {
            errbuf_set(x->err, x->errlen, "field '%s': %lld is beyond +-%lld", name, (long long)n,
                       MONEY_MAX_CENTS / 100);
            return EVENT_BAD_AMOUNT;
        }
        *cents = (int64_t)n * 100;
        return EVENT_OK;
    }
    const char *s;
    size_t len;
    char num[40];
    if (json_is_real(v) && event_cents_of_double(json_real_value(v), cents))
        return EVENT_OK;
    if (json_is_real(v)) {
        shortest_repr(json_real_value(v), num, sizeof num);
        s = num;
        len = strlen(num);
    } else if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else {
        return wrong_type(x, name, "a number or decimal string", v);
    }
    if (money_parse(s, len, cents)) {
        errbuf_set(x->err, x->errlen, "field '%s': %s is not a finite decimal within +-%lld", name,
                   snip(q, sizeof q, s, len), MONEY_MAX_CENTS / 100);
        return EVENT_BAD_AMOUNT;
    }
    return EVENT_OK;
}

static event_reject decode_optional(dctx *x, json_t *root, const event_fields *f,
                                    event_decoded *out) {
    json_t *v = field(root, f->currency);
    if (v && !json_is_string(v))
        return wrong_type(x, f->currency, "a string", v);
    v = field(root, f->channel);
    if (v) {
        if (!json_is_string(v))
            return wrong_type(x, f->channel, "a string", v);
        out->o.channel.p = json_string_value(v);
        out->o.channel.len = json_string_length(v);
    }
    v = field(root, f->categories);
    if (!v)
        return EVENT_OK;
    if (!json_is_array(v))
        return wrong_type(x, f->categories, "an array of strings", v);
    size_t n = json_array_size(v);
    if (n > ORDER_MAX_CATEGORIES) {
        errbuf_set(x->err, x->errlen, "field '%s': %zu entries, at most %d", f->categories, n,
                   ORDER_MAX_CATEGORIES);
        return EVENT_TOO_MANY_CATEGORIES;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e)) {
            errbuf_set(x->err, x->errlen, "field '%s': entry %zu is %s, expected a string",
                       f->categories, i, type_name(e));
            return EVENT_WRONG_TYPE;
        }
        if (json_string_length(e) == 0)
            continue;
        out->cats[k].p = json_string_value(e);
        out->cats[k].len = json_string_length(e);
        k++;
    }
    out->o.categories = out->cats;
    out->o.ncategories = k;
    return EVENT_OK;
}

static event_reject parse_error(dctx *x, const event_fields *f, const char *buf, size_t len,
                                const json_error_t *e) {
    if (json_error_code(e) == json_error_numeric_overflow && e->position >= 0 &&
        (size_t)e->position <= len) {
        size_t klen = 0;
        const char *key = toplevel_key_at(buf, (size_t)e->position, &klen);
        if (key_is(key, klen, f->amount)) {
            errbuf_set(x->err, x->errlen, "field '%s': number out of range (%s)", f->amount,
                       e->text);
            return EVENT_BAD_AMOUNT;
        }
        if (key_is(key, klen, f->ts)) {
            errbuf_set(x->err, x->errlen, "field '%s': number out of range (%s)", f->ts, e->text);
            return EVENT_BAD_TS;
        }
    }
    errbuf_set(x->err, x->errlen, "not JSON: %s at line %d column %d", e->text, e->line, e->column);
    return EVENT_NOT_JSON;
}

static event_reject decode_root(dctx *x, const event_fields *f, json_t *root, event_decoded *out) {
    if (!json_is_object(root)) {
        errbuf_set(x->err, x->errlen, "top level is %s, not an object", type_name(root));
        return EVENT_NOT_OBJECT;
    }
    event_reject r;
    if ((r = required_string(x, root, f->order_id, &out->o.order_id)) ||
        (r = required_string(x, root, f->customer_id, &out->o.customer_id)) ||
        (r = decode_ts(x, root, f->ts, &out->o.ts)) ||
        (r = decode_amount(x, root, f->amount, &out->o.amount_cents)) ||
        (r = decode_optional(x, root, f, out)))
        return r;
    return EVENT_OK;
}

static event_reject decode(const event_fields *f, const char *buf, size_t len, size_t max_bytes,
                           event_decoded *out, char *err, size_t errlen, bool fast) {
    dctx x = {err, errlen};
    event_fields defaults;
    if (!f) {
        event_fields_default(&defaults);
        f = &defaults;
    }
    event_decoded_free(out);
    errbuf_set(err, errlen, "%s", "");
    /* 0 means "the default", so a zeroed config never disables the guard. */
    if (max_bytes == 0)
        max_bytes = EVENT_MAX_BYTES;
    if (len > max_bytes) {
        errbuf_set(err, errlen, "message is %zu bytes, more than the %zu byte limit", len,
                   max_bytes);
        return EVENT_TOO_LARGE;
    }
    const unsigned char *u = (const unsigned char *)buf;
    for (size_t i = 0; i < len;) {
        if (u[i] == 0) {
            errbuf_set(err, errlen, "not JSON: NUL byte at offset %zu", i);
            return EVENT_NOT_JSON;
        }
        size_t n = event_utf8_seq(u, len, i);
        if (n == 0) {
            errbuf_set(err, errlen, "invalid UTF-8 at offset %zu (byte 0x%02x)", i, u[i]);
            return EVENT_NOT_UTF8;
        }
        i += n;
    }
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) {
        buf += 3;
        len -= 3;
    }
    if (len == 0) {
        errbuf_set(err, errlen, "not JSON: empty message");
        return EVENT_NOT_JSON;
    }
    if (fast && event_flat_decode(f, buf, len, out) == 0)
        return EVENT_OK;
    memset(&out->o, 0, sizeof out->o);
    json_error_t e;
    json_t *root =
        json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (!root)
        return parse_error(&x, f, buf, len, &e);
    out->priv = root;
    event_reject r = decode_root(&x, f, root, out);
    if (r != EVENT_OK)
        event_decoded_free(out);
    return r;
}

event_reject event_decode(const event_fields *f, const char *buf, size_t len, size_t max_bytes,
                          event_decoded *out, char *err, size_t errlen) {
    return decode(f, buf, len, max_bytes, out, err, errlen, true);
}

event_reject event_decode_general(const event_fields *f, const char *buf, size_t len,
                                  size_t max_bytes, event_decoded *out, char *err, size_t errlen) {
    return decode(f, buf, len, max_bytes, out, err, errlen, false);
}
