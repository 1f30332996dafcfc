/*
 * http_api — the JSON endpoints of the HTTP server (see http.h):
 * health, one customer, segment summary, breakpoints.
 *
 * Handlers run on the daemon thread between two input messages (http.c), so
 * they read the stores and the breakpoints the status points to directly.
 * What they show is what the events say: r, f, m and segment as last scored,
 * recency against the current breakpoints' as_of (the as_of of the events
 * being published).
 *
 * The stores are a set, one per running owned partition: a customer is
 * looked up in the store of its partition when the status's home function
 * tells it, else in each; totals are summed over the set, and every body
 * that depends on the set names the partitions it covers.
 *
 * JSON numbers with a fraction (monetary, means, edges) are printed with 15
 * significant digits: exact for every amount in cents rfmd accepts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "rfm/score.h"
#include "rfm/store.h"
#include "rfm/timefmt.h"
#include "util/clock.h"

/* ---- the set of stores -------------------------------------------------- */

#define HTTP_STORES_ON_STACK 64

int http_as_of(const http_status *st, int64_t *as_of) {
    if (st->bp->version) {
        *as_of = st->bp->as_of;
        return 0;
    }
    const store *buf[HTTP_STORES_ON_STACK], **v = buf;
    if (st->nstores > HTTP_STORES_ON_STACK && !(v = malloc(st->nstores * sizeof *v)))
        return -1;
    for (size_t i = 0; i < st->nstores; i++)
        v[i] = st->stores[i].store;
    *as_of = score_as_of_set(st->scoring, v, st->nstores, clock_wall_ms() / 1000);
    if (v != buf)
        free(v);
    return 0;
}

uint64_t http_customers(const http_status *st) {
    uint64_t n = 0;
    for (size_t i = 0; i < st->nstores; i++)
        n += store_count(st->stores[i].store);
    return n;
}

static int int32_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

json_t *http_owned_json(const http_status *st) {
    int32_t *v = st->nstores ? malloc(st->nstores * sizeof *v) : NULL;
    json_t *a = json_array();
    if (!a || (st->nstores && !v)) {
        free(v);
        json_decref(a);
        return NULL;
    }
    for (size_t i = 0; i < st->nstores; i++)
        v[i] = st->stores[i].partition;
    if (st->nstores) /* qsort(NULL, 0, ...) is undefined */
        qsort(v, st->nstores, sizeof *v, int32_cmp);
    for (size_t i = 0; i < st->nstores; i++)
        if (json_array_append_new(a, json_integer(v[i]))) {
            json_decref(a);
            a = NULL;
            break;
        }
    free(v);
    return a;
}

/* The store of partition p, NULL when not among the stores. */
static store *store_of(const http_status *st, int32_t p) {
    for (size_t i = 0; i < st->nstores; i++)
        if (st->stores[i].partition == p)
            return st->stores[i].store;
    return NULL;
}

typedef struct restoring_find {
    int32_t partition;
    bool found;
} restoring_find;

static void restoring_one(void *ctx, const http_partition *p) {
    restoring_find *r = ctx;
    if (p->partition == r->partition && p->state == HTTP_PARTITION_RESTORING)
        r->found = true;
}

/* Is partition p owned and being restored (the owned walk says so)? */
static bool partition_restoring(const http_status *st, int32_t p) {
    restoring_find r = {.partition = p};
    if (st->owned)
        st->owned(st->owned_ctx, restoring_one, &r);
    return r.found;
}

/* ---- health ------------------------------------------------------------- */

void http_api_health(const http_status *st, bool readiness, http_reply *r) {
    double uptime = (double)(clock_mono_ms() - st->started_ms) / 1000.0;
    json_t *o =
        json_pack("{s:s,s:b,s:b,s:i,s:I,s:I,s:f}", "status",
                  !readiness  ? "ok"
                  : st->ready ? "ready"
                              : "not ready",
                  "ready", st->ready, "caught_up", st->caught_up, "partitions", st->partitions,
                  "customers", (json_int_t)http_customers(st), "breakpoints_version",
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

static json_t *customer_json(const http_status *st, store *s, int32_t partition,
                             const store_customer *c) {
    const segment_map *map = st->segments;
    size_t klen;
    const char *key = store_key(s, c, &klen);
    int64_t as_of;
    if (http_as_of(st, &as_of))
        return NULL;
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
        if (c->categories & (1u << b) && store_category_name(s, b))
            json_array_append_new(cats, json_string(store_category_name(s, b)));
    for (int b = 0; b < STORE_MAX_CHANNELS; b++)
        if (c->channels & (1u << b) && store_channel_name(s, b))
            json_array_append_new(chans, json_string(store_channel_name(s, b)));
    json_object_set_new(o, "categories", cats);
    json_object_set_new(o, "channels", chans);
    json_object_set_new(o, "as_of", json_string(as_of_s));
    json_object_set_new(o, "breakpoints_version", json_integer((json_int_t)st->bp->version));
    json_object_set_new(o, "partition", json_integer(partition));
    return o;
}

/* A 404/503 about id: {"error": msg, "customer_id": id (when UTF-8),
 * "partition": p or null, ...}; partitions (the count) only when >= 0,
 * "owned" only when asked. */
static void customer_miss(const http_status *st, http_reply *r, int status, const char *msg,
                          const char *id, size_t n, int32_t p, int32_t count, bool owned) {
    json_t *o = json_pack("{s:s}", "error", msg);
    json_t *s = json_stringn(id, n); /* NULL when not UTF-8: not echoed */
    if (o && s)
        json_object_set_new(o, "customer_id", s);
    else
        json_decref(s);
    if (o) {
        json_object_set_new(o, "partition", p >= 0 ? json_integer(p) : json_null());
        if (count >= 0)
            json_object_set_new(o, "partitions", json_integer(count));
        if (owned) {
            json_t *a = http_owned_json(st);
            if (!a || json_object_set_new(o, "owned", a)) {
                json_decref(o);
                o = NULL; /* -> 500 */
            }
        }
    }
    http_reply_json(r, status, o);
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
    int32_t count = -1;
    int32_t p = st->home ? st->home(st->home_ctx, id, (size_t)n, &count) : -1;
    if (p >= 0) {
        /* Its partition is known: only that store can hold it. */
        store *s = store_of(st, p);
        if (!s) {
            char msg[128];
            bool restoring = partition_restoring(st, p);
            snprintf(msg, sizeof msg, "customer belongs to partition %" PRId32 ", which %s", p,
                     restoring ? "is being restored" : "this instance does not own");
            customer_miss(st, r, restoring ? 503 : 404, msg, id, (size_t)n, p, count, true);
            return;
        }
        store_customer *c = store_get(s, id, (size_t)n);
        if (!c) {
            customer_miss(st, r, 404, "unknown customer", id, (size_t)n, p, -1, false);
            return;
        }
        http_reply_json(r, 200, customer_json(st, s, p, c));
        return;
    }
    /* Partition unknown: each store in turn (an id lives in one at most). */
    for (size_t i = 0; i < st->nstores; i++) {
        store_customer *c = store_get(st->stores[i].store, id, (size_t)n);
        if (c) {
            http_reply_json(r, 200,
                            customer_json(st, st->stores[i].store, st->stores[i].partition, c));
            return;
        }
    }
    customer_miss(st, r, 404, "unknown customer", id, (size_t)n, -1, -1, true);
}

/* ---- segments ----------------------------------------------------------- */

int http_segment_totals(const http_status *st, segment_total tot[SEGMENT_MAX + 1],
                        uint64_t *unscored) {
    int64_t as_of;
    if (http_as_of(st, &as_of))
        return -1;
    memset(tot, 0, (SEGMENT_MAX + 1) * sizeof *tot);
    uint64_t u = 0;
    for (size_t i = 0; i < st->nstores; i++) {
        segment_total one[SEGMENT_MAX + 1];
        uint64_t one_unscored;
        segment_totals(st->stores[i].store, as_of, one, &one_unscored);
        u += one_unscored;
        for (int k = 0; k <= SEGMENT_MAX; k++) {
            tot[k].count += one[k].count;
            tot[k].recency_days += one[k].recency_days;
            tot[k].frequency += one[k].frequency;
            tot[k].cents += one[k].cents;
        }
    }
    if (unscored)
        *unscored = u;
    return 0;
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
    int64_t as_of_ts;
    if (http_segment_totals(st, tot, &unscored) || http_as_of(st, &as_of_ts)) {
        http_reply_json(r, 500, NULL);
        return;
    }
    const segment_map *map = st->segments;
    uint64_t customers = http_customers(st);
    char as_of[16];
    timefmt_date(as_of_ts, as_of, sizeof as_of);
    json_t *list = json_array();
    json_t *owned = http_owned_json(st);
    /* as_of is the breakpoints' (or the coming one's); none without orders.
     * "partitions": the stores summed, so whose customers these are. */
    json_t *o = json_pack("{s:I,s:I,s:s?,s:I}", "customers", (json_int_t)customers,
                          "breakpoints_version", (json_int_t)st->bp->version, "as_of",
                          customers ? as_of : NULL, "unscored", (json_int_t)unscored);
    if (!list || !o || !owned) {
        json_decref(list);
        json_decref(owned);
        json_decref(o);
        http_reply_json(r, 500, NULL);
        return;
    }
    json_object_set_new(o, "partitions", owned);
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

/* The "round" object of /breakpoints: how the group agreed on them. */
static json_t *round_json(const http_round *g) {
    char hex[2][17];
    snprintf(hex[0], sizeof hex[0], "%016" PRIx64, g->coordinator);
    snprintf(hex[1], sizeof hex[1], "%016" PRIx64, g->member);
    json_t *offsets = json_array();
    for (int32_t p = 0; g->offsets && p < g->partitions; p++)
        json_array_append_new(offsets, json_integer((json_int_t)g->offsets[p]));
    char begun[40] = "";
    if (g->begun_wall_ms)
        timefmt_rfc3339_ms(g->begun_wall_ms, begun, sizeof begun);
    return json_pack(
        "{s:s,s:I,s:i,s:s,s:s,s:b,s:b,s:I,s:i,s:i,s:o,s:i,s:i,s:I,s:I,s:s,s:{s:I,s:I,"
        "s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
        "scope", "group", "version", (json_int_t)g->version, "attempt", (int)g->attempt,
        "coordinator", g->version ? hex[0] : "", "member", hex[1], "is_coordinator",
        g->is_coordinator, "holding", g->holding, "active_version", (json_int_t)g->active_version,
        "active_attempt", (int)g->active_attempt, "partitions", (int)g->partitions, "offsets",
        offsets, "members", (int)g->members, "requests", (int)g->requests, "bytes",
        (json_int_t)g->bytes, "duration_ms", (json_int_t)g->duration_ms, "begun", begun,
        "this_member", "rounds", (json_int_t)g->rounds, "attempts", (json_int_t)g->attempts,
        "restarted", (json_int_t)g->restarted, "requests", (json_int_t)g->requests_total,
        "bytes_sent", (json_int_t)g->bytes_sent, "bytes_received", (json_int_t)g->bytes_received,
        "applied", (json_int_t)g->applied, "summaries", (json_int_t)g->summaries, "hold_ms",
        (json_int_t)g->hold_ms_total);
}

void http_api_breakpoints(const http_status *st, http_reply *r) {
    const score_breakpoints *bp = st->bp;
    if (!bp->version) {
        json_t *o =
            json_pack("{s:s,s:i}", "error",
                      st->round ? "no breakpoints yet: the group's first round has not ended"
                                : "no breakpoints yet: they are first computed once the backlog "
                                  "is consumed or after rescore.interval",
                      "version", 0);
        if (o && st->round)
            json_object_set_new(o, "round", round_json(st->round));
        http_reply_json(r, 503, o);
        return;
    }
    char as_of[16];
    timefmt_date(bp->as_of, as_of, sizeof as_of);
    json_t *o = json_pack(
        "{s:I,s:s,s:i,s:I,s:{s:s,s:o},s:{s:s,s:o},s:{s:s,s:o}}", "version", (json_int_t)bp->version,
        "as_of", as_of, "bins", bp->bins, "customers", (json_int_t)bp->customers, "r", "of",
        "recency_days", "edges", edges(bp->r_edges, bp->bins), "f", "of", "frequency_rank", "edges",
        edges(bp->f_edges, bp->bins), "m", "of", "monetary", "edges", edges(bp->m_edges, bp->bins));
    if (o)
        json_object_set_new(
            o, "round", st->round ? round_json(st->round) : json_pack("{s:s}", "scope", "local"));
    http_reply_json(r, 200, o);
}
