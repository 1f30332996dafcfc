/*
 * http_api — the JSON endpoints of the HTTP server (see http.h):
 * health, one customer, segment summary, breakpoints.
 *
 * Handlers run on the daemon thread between two input messages (http.c), so
 * they read the store and the breakpoints the status points to directly.
 * What they show is what the events say: r, f, m and segment as last scored,
 * recency against the current breakpoints' as_of (the as_of of the events
 * being published).
 *
 * JSON numbers with a fraction (monetary, means, edges) are printed with 15
 * significant digits: exact for every amount in cents rfmd accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "rfm/score.h"
#include "rfm/store.h"
#include "rfm/timefmt.h"
#include "util/clock.h"

/* ---- health ------------------------------------------------------------- */

void http_api_health(const http_status *st, bool readiness, http_reply *r) {
    double uptime = (double)(clock_mono_ms() - st->started_ms) / 1000.0;
    json_t *o =
        json_pack("{s:s,s:b,s:b,s:i,s:I,s:I,s:f}", "status",
                  !readiness  ? "ok"
                  : st->ready ? "ready"
                              : "not ready",
                  "ready", st->ready, "caught_up", st->caught_up, "partitions", st->partitions,
                  "customers", (json_int_t)store_count(st->store), "breakpoints_version",
                  (json_int_t)st->bp->version, "uptime_seconds", uptime);
    if (o && readiness && !st->ready)
        json_object_set_new(o, "reason", json_string("no partitions assigned yet"));
    http_reply_json(r, readiness && !st->ready ? 503 : 200, o);
}

/* ---- one customer ------------------------------------------------------- */

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode a path segment into out (at most cap bytes). '+' stays '+'
 * (it means space only in query strings). Returns the length, -1 for a bad
 * escape, -2 when longer than cap. */
static long decode_id(const char *s, char *out, size_t cap) {
    size_t n = 0;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (c == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            s += 2;
        }
        if (n == cap)
            return -2;
        out[n++] = (char)c;
    }
    return (long)n;
}

static json_t *iso_time(uint32_t epoch) {
    char buf[32];
    timefmt_rfc3339_ms((int64_t)epoch * 1000, buf, sizeof buf);
    return json_string(buf);
}

static json_t *score_or_null(uint8_t v) {
    return v ? json_integer(v) : json_null();
}

/* The as_of recency is counted against: the breakpoints', or before the first
 * rescore the one they will have. */
static int64_t http_as_of(const http_status *st) {
    if (st->bp->version)
        return st->bp->as_of;
    return score_as_of(st->scoring, st->store, clock_wall_ms() / 1000);
}

static json_t *customer_json(const http_status *st, const store_customer *c) {
    const segment_map *map = st->segments;
    size_t klen;
    const char *key = store_key(st->store, c, &klen);
    int64_t as_of = http_as_of(st);
    char as_of_s[16];
    timefmt_date(as_of, as_of_s, sizeof as_of_s);
    bool scored = c->r && c->f && c->m;
    json_t *o = json_object();
    json_t *cats = json_array(), *chans = json_array();
    if (!o || !cats || !chans) {
        json_decref(o);
        json_decref(cats);
        json_decref(chans);
        return NULL;
    }
    json_object_set_new(o, "customer_id", json_stringn(key, klen));
    json_object_set_new(o, "segment",
                        scored ? json_string(segment_name(map, c->segment)) : json_null());
    json_object_set_new(o, "r", score_or_null(c->r));
    json_object_set_new(o, "f", score_or_null(c->f));
    json_object_set_new(o, "m", score_or_null(c->m));
    if (scored) {
        char rf[3] = {(char)('0' + c->r), (char)('0' + c->f), 0};
        char rfm[4] = {rf[0], rf[1], (char)('0' + c->m), 0};
        json_object_set_new(o, "rf", json_string(rf));
        json_object_set_new(o, "rfm", json_string(rfm));
    } else {
        json_object_set_new(o, "rf", json_null());
        json_object_set_new(o, "rfm", json_null());
    }
    json_object_set_new(o, "recency_days", json_integer(score_recency_days(as_of, c->last_ts)));
    json_object_set_new(o, "frequency", json_integer(c->frequency));
    json_object_set_new(o, "monetary", json_real((double)c->monetary_cents / 100.0));
    json_object_set_new(o, "first_order", iso_time(c->first_ts));
    json_object_set_new(o, "last_order", iso_time(c->last_ts));
    for (int b = 0; b < STORE_MAX_CATEGORIES; b++)
        if (c->categories & (1u << b) && store_category_name(st->store, b))
            json_array_append_new(cats, json_string(store_category_name(st->store, b)));
    for (int b = 0; b < STORE_MAX_CHANNELS; b++)
        if (c->channels & (1u << b) && store_channel_name(st->store, b))
            json_array_append_new(chans, json_string(store_channel_name(st->store, b)));
    json_object_set_new(o, "categories", cats);
    json_object_set_new(o, "channels", chans);
    json_object_set_new(o, "as_of", json_string(as_of_s));
    json_object_set_new(o, "breakpoints_version", json_integer((json_int_t)st->bp->version));
    return o;
}

void http_api_customer(const http_status *st, const char *path_id, http_reply *r) {
    char id[STORE_KEY_MAX];
    long n = decode_id(path_id, id, sizeof id);
    if (n == -1) {
        http_reply_error(r, 400, "malformed percent-encoding in the customer id");
        return;
    }
    if (n == -2) {
        http_reply_error(r, 400, "customer id longer than 128 bytes");
        return;
    }
    if (n == 0) {
        http_reply_error(r, 400, "empty customer id: use /customers/{id}");
        return;
    }
    store_customer *c = store_get(st->store, id, (size_t)n);
    if (!c) {
        json_t *o = json_pack("{s:s}", "error", "unknown customer");
        json_t *s = json_stringn(id, (size_t)n); /* NULL when not UTF-8: not echoed */
        if (o && s)
            json_object_set_new(o, "customer_id", s);
        else
            json_decref(s);
        http_reply_json(r, 404, o);
        return;
    }
    http_reply_json(r, 200, customer_json(st, c));
}

/* ---- segments ----------------------------------------------------------- */

void http_segment_totals(const http_status *st, segment_total tot[SEGMENT_MAX + 1],
                         uint64_t *unscored) {
    segment_totals(st->store, http_as_of(st), tot, unscored);
}

static json_t *segment_entry(const char *name, const segment_total *t) {
    json_t *o = json_pack("{s:s,s:I}", "segment", name, "customers", (json_int_t)t->count);
    if (!o)
        return NULL;
    double n = (double)t->count;
    json_object_set_new(o, "recency_mean",
                        t->count ? json_real((double)t->recency_days / n) : json_null());
    json_object_set_new(o, "frequency_mean",
                        t->count ? json_real((double)t->frequency / n) : json_null());
    json_object_set_new(o, "monetary_mean",
                        t->count ? json_real((double)t->cents / 100.0 / n) : json_null());
    return o;
}

void http_api_segments(const http_status *st, http_reply *r) {
    segment_total tot[SEGMENT_MAX + 1];
    uint64_t unscored;
    http_segment_totals(st, tot, &unscored);
    const segment_map *map = st->segments;
    char as_of[16];
    timefmt_date(http_as_of(st), as_of, sizeof as_of);
    json_t *list = json_array();
    /* as_of is the breakpoints' (or the coming one's); none without orders. */
    json_t *o = json_pack("{s:I,s:I,s:s?,s:I}", "customers", (json_int_t)store_count(st->store),
                          "breakpoints_version", (json_int_t)st->bp->version, "as_of",
                          store_count(st->store) ? as_of : NULL, "unscored", (json_int_t)unscored);
    if (!list || !o) {
        json_decref(list);
        json_decref(o);
        http_reply_json(r, 500, NULL);
        return;
    }
    /* Every configured segment in rule order, empty ones too, then the
     * customers no rule matched (only when there are any). */
    for (int s = 1; s <= map->nsegments; s++)
        json_array_append_new(list, segment_entry(segment_name(map, (uint8_t)s), &tot[s]));
    if (tot[0].count)
        json_array_append_new(list, segment_entry(SEGMENT_UNMATCHED_NAME, &tot[0]));
    json_object_set_new(o, "segments", list);
    http_reply_json(r, 200, o);
}

/* ---- breakpoints -------------------------------------------------------- */

static json_t *edges(const double *e, int bins) {
    json_t *a = json_array();
    for (int i = 0; a && i <= bins; i++)
        json_array_append_new(a, json_real(e[i]));
    return a;
}

void http_api_breakpoints(const http_status *st, http_reply *r) {
    const score_breakpoints *bp = st->bp;
    if (!bp->version) {
        http_reply_json(
            r, 503,
            json_pack("{s:s,s:i}", "error",
                      "no breakpoints yet: they are first computed once the backlog is consumed "
                      "or after rescore.interval",
                      "version", 0));
        return;
    }
    char as_of[16];
    timefmt_date(bp->as_of, as_of, sizeof as_of);
    json_t *o = json_pack(
        "{s:I,s:s,s:i,s:I,s:{s:s,s:o},s:{s:s,s:o},s:{s:s,s:o}}", "version", (json_int_t)bp->version,
        "as_of", as_of, "bins", bp->bins, "customers", (json_int_t)bp->customers, "r", "of",
        "recency_days", "edges", edges(bp->r_edges, bp->bins), "f", "of", "frequency_rank", "edges",
        edges(bp->f_edges, bp->bins), "m", "of", "monetary", "edges", edges(bp->m_edges, bp->bins));
    http_reply_json(r, 200, o);
}
