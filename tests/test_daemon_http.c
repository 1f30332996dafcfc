/*
 * rfmd's HTTP interface against a running rfmd fed through Kafka (the mock
 * cluster, real protocol over TCP) and queried with a real HTTP client
 * (libcurl). The /metrics scrape is parsed by the Prometheus reference
 * parser (python prometheus_client, tests/daemon/prom_parse.py).
 *
 * Input: 24 customers c-00..c-23 (customer i has i%6+1 orders on 2021-05-(i+1),
 * amounts 10(i+1).25), one customer whose id needs percent-encoding, one
 * duplicate order and three bad messages (not JSON, missing field, bad ts).
 * Expected values are derived from that input, and cross-checked between
 * endpoints and against the segment events on Kafka.
 *
 * usage: test_daemon_http RFMD
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/harness.h"
#include "daemon/http_client.h"
#include "rfm/event.h"

#define NC        24
#define NCUST     (NC + 1)
#define SPECIAL   "a/b c+%\xc3\xa9" /* a/b c+%é */
#define SPECIAL_Q "a%2Fb%20c%2B%25%C3%A9"
#define AS_OF     "2021-05-26" /* newest order day 2021-05-24 + 2 */

static const char *rfmd_path;

typedef struct fixture {
    harness h;
    char addr[128];
    hreader *events;
    long applied, consumed;
} fixture;

static int norders(int i) {
    return i % 6 + 1;
}

static void produce_order(harness *h, const char *cid, const char *oid, const char *ts,
                          const char *amount, const char *cats, const char *channel) {
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"ts\":\"%s\",\"amount\":%s,"
                     "\"categories\":%s,\"channel\":\"%s\"}",
                     oid, cid, ts, amount, cats, channel);
    harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)n);
}

static void produce_input(fixture *f) {
    harness *h = &f->h;
    for (int i = 0; i < NC; i++) {
        char cid[16], oid[32], ts[32], amount[32];
        snprintf(cid, sizeof cid, "c-%02d", i);
        snprintf(amount, sizeof amount, "%d.25", 10 * (i + 1));
        for (int k = 0; k < norders(i); k++) {
            snprintf(oid, sizeof oid, "%s-%d", cid, k);
            snprintf(ts, sizeof ts, "2021-05-%02dT%02d:00:00Z", i + 1, 10 - k);
            produce_order(h, cid, oid, ts, amount, i % 2 ? "[\"ERKEK\",\"COCUK\"]" : "[\"KADIN\"]",
                          i % 2 ? "Offline" : "Android App");
            f->applied++;
        }
    }
    /* JSON escapes "\u00e9" for é: the id on the wire is UTF-8 once decoded. */
    produce_order(h, "a/b c+%\\u00e9", "s-0", "2021-05-10T09:00:00Z", "1.5", "[]", "Web");
    produce_order(h, "a/b c+%\\u00e9", "s-1", "2021-05-10T10:00:00Z", "2", "[]", "Web");
    f->applied += 2;
    /* A duplicate (same order_id, same customer) and three rejects. */
    produce_order(h, "c-00", "c-00-0", "2021-05-01T10:00:00Z", "10.25", "[\"KADIN\"]",
                  "Android App");
    static const char *bad[] = {
        "not json",
        "{\"order_id\":\"x\",\"customer_id\":\"c-bad\"}",
        "{\"order_id\":\"y\",\"customer_id\":\"c-bad\",\"ts\":\"yesterday\",\"amount\":1}",
    };
    for (size_t i = 0; i < 3; i++)
        harness_produce(h, HARNESS_ORDERS, "bad", 3, bad[i], strlen(bad[i]));
    f->consumed = f->applied + 1 + 3;
    harness_flush(h);
}

/* The default segment map of SPEC §3. */
static const char *default_segment(int r, int f) {
    if (r <= 2)
        return f <= 2 ? "hibernating" : f <= 4 ? "at_risk" : "cant_loose";
    if (r == 3)
        return f <= 2 ? "about_to_sleep" : f == 3 ? "need_attention" : "loyal_customers";
    if (r == 4)
        return f == 1 ? "promising" : f <= 3 ? "potential_loyalists" : "loyal_customers";
    return f == 1 ? "new_customers" : f <= 3 ? "potential_loyalists" : "champions";
}

static long long jint(const json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("field %s: not an integer", k);
    return (long long)json_integer_value(v);
}

static double jnum(const json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        fail_msg("field %s: not a number", k);
    return json_number_value(v);
}

static const char *jstr(const json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("field %s: not a string", k);
    return json_string_value(v);
}

static void assert_near(double a, double b) {
    if (fabs(a - b) > 1e-9 * (fabs(b) + 1))
        fail_msg("%.17g != %.17g", a, b);
}

static int group_setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    harness_init(&f->h, rfmd_path, 2, 2, 1);
    produce_input(f);
    f->h.http_listen = "127.0.0.1:0";
    harness_write_config(&f->h, "1h", NULL, NULL, NULL);
    harness_spawn(&f->h);
    harness_wait_log(&f->h, "http: listening on ", 1, f->addr, sizeof f->addr, 30000);

    /* Ready, everyone scored (the first rescore runs once caught up). */
    int64_t t0 = harness_now_ms();
    for (;;) {
        hresp r;
        hhttp(f->addr, NULL, "/segments", &r, 0);
        bool done = r.status == 200 && r.json && jint(r.json, "customers") == NCUST &&
                    jint(r.json, "breakpoints_version") >= 1 && jint(r.json, "unscored") == 0;
        hresp_free(&r);
        if (done)
            break;
        if (harness_now_ms() - t0 > 60000) {
            harness_dump_log(&f->h);
            fail_msg("rfmd did not score %d customers within 60 s", NCUST);
        }
        harness_sleep_ms(100);
    }
    /* Every customer's segment event, until the stream is quiet. */
    f->events = hreader_open(&f->h, HARNESS_SEGMENTS, f->h.segments_parts);
    t0 = harness_now_ms();
    while (f->events->n < NCUST && harness_now_ms() - t0 < 30000)
        hreader_poll(f->events, 200);
    while (hreader_poll(f->events, 1000) > 0)
        ;
    assert_true(f->events->n >= NCUST);
    return 0;
}

static int group_teardown(void **state) {
    fixture *f = *state;
    int64_t took;
    int status = harness_stop(&f->h, 15000, &took);
    if (status != 0)
        harness_dump_log(&f->h);
    hreader_close(f->events);
    harness_cleanup(&f->h);
    free(f);
    return status == 0 ? 0 : -1;
}

/* Segment of the customer's last event on the segments topic. */
static const char *last_event_segment(const hreader *r, const char *cid) {
    const char *seg = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->msgs[i].key && !strcmp(r->msgs[i].key, cid) && r->msgs[i].json)
            seg = hjson_str(r->msgs[i].json, "segment");
    return seg;
}

static void test_health(void **state) {
    fixture *f = *state;
    hresp r;
    json_t *o = hhttp_json(f->addr, "/healthz", 200, &r);
    assert_string_equal(jstr(o, "status"), "ok");
    assert_true(json_is_true(json_object_get(o, "ready")));
    assert_int_equal(jint(o, "customers"), NCUST);
    assert_true(jint(o, "partitions") >= 1);
    hresp_free(&r);
    o = hhttp_json(f->addr, "/readyz", 200, &r);
    assert_string_equal(jstr(o, "status"), "ready");
    hresp_free(&r);
    /* HEAD: same status and headers, no body. */
    hhttp(f->addr, "HEAD", "/healthz", &r, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_true(r.content_length > 0);
    assert_int_equal(r.len, 0);
    hresp_free(&r);
}

static void check_customer(fixture *f, const json_t *o, const char *cid, int freq, double monetary,
                           long long recency, const char *first, const char *last) {
    assert_string_equal(jstr(o, "customer_id"), cid);
    assert_int_equal(jint(o, "frequency"), freq);
    assert_near(jnum(o, "monetary"), monetary);
    assert_int_equal(jint(o, "recency_days"), recency);
    assert_string_equal(jstr(o, "first_order"), first);
    assert_string_equal(jstr(o, "last_order"), last);
    assert_string_equal(jstr(o, "as_of"), AS_OF);
    int r = (int)jint(o, "r"), fs = (int)jint(o, "f"), m = (int)jint(o, "m");
    assert_in_range(r, 1, 5);
    assert_in_range(fs, 1, 5);
    assert_in_range(m, 1, 5);
    char rf[3] = {(char)('0' + r), (char)('0' + fs), 0};
    assert_string_equal(jstr(o, "rf"), rf);
    assert_string_equal(jstr(o, "segment"), default_segment(r, fs));
    const char *ev = last_event_segment(f->events, cid);
    assert_non_null(ev);
    assert_string_equal(jstr(o, "segment"), ev);
}

static void test_customers(void **state) {
    fixture *f = *state;
    hresp br;
    json_t *bp = hhttp_json(f->addr, "/breakpoints", 200, &br);
    long long version = jint(bp, "version");
    for (int i = 0; i < NC; i++) {
        char cid[16], path[64], first[40], last[40];
        snprintf(cid, sizeof cid, "c-%02d", i);
        snprintf(path, sizeof path, "/customers/%s", cid);
        snprintf(first, sizeof first, "2021-05-%02dT%02d:00:00.000Z", i + 1, 10 - norders(i) + 1);
        snprintf(last, sizeof last, "2021-05-%02dT10:00:00.000Z", i + 1);
        hresp r;
        json_t *o = hhttp_json(f->addr, path, 200, &r);
        check_customer(f, o, cid, norders(i), norders(i) * (10.0 * (i + 1) + 0.25), 24 - i, first,
                       last);
        assert_int_equal(jint(o, "breakpoints_version"), version);
        json_t *cats = json_object_get(o, "categories");
        assert_int_equal(json_array_size(cats), i % 2 ? 2 : 1);
        json_t *chans = json_object_get(o, "channels");
        assert_int_equal(json_array_size(chans), 1);
        assert_string_equal(json_string_value(json_array_get(chans, 0)),
                            i % 2 ? "Offline" : "Android App");
        hresp_free(&r);
    }
    /* The id with '/', ' ', '+', '%' and a non-ASCII letter, percent-encoded;
     * and with '+' left as is, which in a path is a plus, not a space. */
    static const char *paths[] = {"/customers/" SPECIAL_Q, "/customers/a%2Fb%20c+%25%C3%A9"};
    for (size_t i = 0; i < 2; i++) {
        hresp r;
        json_t *o = hhttp_json(f->addr, paths[i], 200, &r);
        check_customer(f, o, SPECIAL, 2, 3.5, 15, "2021-05-10T09:00:00.000Z",
                       "2021-05-10T10:00:00.000Z");
        assert_int_equal(json_array_size(json_object_get(o, "categories")), 0);
        hresp_free(&r);
    }
    hresp_free(&br);
}

static void test_customer_errors(void **state) {
    fixture *f = *state;
    hresp r;
    json_t *o = hhttp_json(f->addr, "/customers/nobody", 404, &r);
    assert_string_equal(jstr(o, "error"), "unknown customer");
    assert_string_equal(jstr(o, "customer_id"), "nobody");
    hresp_free(&r);
    char path[400] = "/customers/";
    memset(path + 11, 'x', 128);
    path[11 + 128] = '\0';
    hhttp_json(f->addr, path, 404, &r); /* 128 bytes: a valid id, just unknown */
    hresp_free(&r);
    strcat(path, "x");
    o = hhttp_json(f->addr, path, 400, &r); /* 129 bytes */
    assert_non_null(strstr(jstr(o, "error"), "128"));
    hresp_free(&r);
    static const char *bad[] = {"/customers/", "/customers/%zz", "/customers/abc%4"};
    for (size_t i = 0; i < 3; i++) {
        o = hhttp_json(f->addr, bad[i], 400, &r);
        assert_non_null(jstr(o, "error"));
        hresp_free(&r);
    }
}

static void test_errors(void **state) {
    fixture *f = *state;
    hresp r;
    static const char *unknown[] = {"/", "/nope", "/metrics/", "/customers", "/segments/x"};
    for (size_t i = 0; i < 5; i++) {
        json_t *o = hhttp_json(f->addr, unknown[i], 404, &r);
        assert_non_null(jstr(o, "error"));
        hresp_free(&r);
    }
    static const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < 4; i++) {
        hhttp(f->addr, methods[i], i % 2 ? "/customers/c-00" : "/healthz", &r, 0);
        assert_int_equal(r.status, 405);
        assert_string_equal(r.allow, "GET, HEAD");
        assert_string_equal(r.content_type, "application/json");
        assert_non_null(r.json);
        assert_non_null(jstr(r.json, "error"));
        hresp_free(&r);
    }
}

static void test_segments(void **state) {
    fixture *f = *state;
    /* Expected per-segment sums from the customers' own documents. */
    struct {
        const char *name;
        long count;
        double recency, frequency, monetary;
    } exp[16];
    int nexp = 0;
    for (int i = 0; i <= NC; i++) {
        char path[64];
        if (i < NC)
            snprintf(path, sizeof path, "/customers/c-%02d", i);
        else
            snprintf(path, sizeof path, "/customers/%s", SPECIAL_Q);
        hresp r;
        json_t *o = hhttp_json(f->addr, path, 200, &r);
        const char *seg = jstr(o, "segment");
        int k = 0;
        while (k < nexp && strcmp(exp[k].name, seg))
            k++;
        if (k == nexp) {
            memset(&exp[k], 0, sizeof exp[k]);
            exp[k].name = strdup(seg);
            nexp++;
        }
        exp[k].count++;
        exp[k].recency += (double)jint(o, "recency_days");
        exp[k].frequency += (double)jint(o, "frequency");
        exp[k].monetary += jnum(o, "monetary");
        hresp_free(&r);
    }
    hresp r;
    json_t *o = hhttp_json(f->addr, "/segments", 200, &r);
    assert_int_equal(jint(o, "customers"), NCUST);
    assert_int_equal(jint(o, "unscored"), 0);
    assert_string_equal(jstr(o, "as_of"), AS_OF);
    json_t *list = json_object_get(o, "segments");
    assert_int_equal(json_array_size(list), 10); /* the default map, empty ones too */
    assert_string_equal(jstr(json_array_get(list, 0), "segment"), "hibernating");
    assert_string_equal(jstr(json_array_get(list, 9), "segment"), "champions");
    long total = 0;
    int matched = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        long n = (long)jint(e, "customers");
        total += n;
        int k = 0;
        while (k < nexp && strcmp(exp[k].name, jstr(e, "segment")))
            k++;
        if (k == nexp) {
            assert_int_equal(n, 0);
            assert_true(json_is_null(json_object_get(e, "recency_mean")));
            continue;
        }
        matched++;
        assert_int_equal(n, exp[k].count);
        assert_near(jnum(e, "recency_mean"), exp[k].recency / (double)n);
        assert_near(jnum(e, "frequency_mean"), exp[k].frequency / (double)n);
        assert_near(jnum(e, "monetary_mean"), exp[k].monetary / (double)n);
    }
    assert_int_equal(total, NCUST);
    assert_int_equal(matched, nexp);
    for (int k = 0; k < nexp; k++)
        free((char *)exp[k].name);
    hresp_free(&r);
}

static void test_breakpoints(void **state) {
    fixture *f = *state;
    hresp r;
    json_t *o = hhttp_json(f->addr, "/breakpoints", 200, &r);
    assert_true(jint(o, "version") >= 1);
    assert_string_equal(jstr(o, "as_of"), AS_OF);
    assert_int_equal(jint(o, "bins"), 5);
    assert_int_equal(jint(o, "customers"), NCUST);
    /* Lowest and highest edges are the extremes of each value. */
    const struct {
        const char *k, *of;
        double lo, hi;
    } dims[] = {{"r", "recency_days", 1, 24},
                {"f", "frequency_rank", 1, NCUST},
                {"m", "monetary", 3.5, 6 * (10.0 * 24 + 0.25)}};
    for (size_t d = 0; d < 3; d++) {
        json_t *dim = json_object_get(o, dims[d].k);
        assert_string_equal(jstr(dim, "of"), dims[d].of);
        json_t *e = json_object_get(dim, "edges");
        assert_int_equal(json_array_size(e), 6);
        for (size_t i = 1; i < 6; i++)
            assert_true(json_number_value(json_array_get(e, i)) >=
                        json_number_value(json_array_get(e, i - 1)));
        assert_near(json_number_value(json_array_get(e, 0)), dims[d].lo);
        assert_near(json_number_value(json_array_get(e, 5)), dims[d].hi);
    }
    hresp_free(&r);
}

/* ---- /metrics through the Prometheus parser ------------------------------ */

typedef struct scrape {
    json_t *doc; /* {"types": {...}, "samples": [...]} */
} scrape;

static void scrape_metrics(fixture *f, scrape *s) {
    hresp r;
    hhttp(f->addr, NULL, "/metrics", &r, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    char path[400];
    snprintf(path, sizeof path, "%s/metrics.txt", f->h.dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    assert_int_equal(fwrite(r.body, 1, r.len, out), r.len);
    assert_int_equal(fclose(out), 0);
    hresp_free(&r);
    const char *src = getenv("RFM_SOURCE");
    if (!src)
        fail_msg("RFM_SOURCE is not set (ctest sets it to the source tree)");
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s/scripts/python.sh' '%s/tests/daemon/prom_parse.py' < '%s'", src,
             src, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t jerr;
    s->doc = json_loadf(p, 0, &jerr);
    int status = pclose(p);
    if (status != 0 || !s->doc)
        fail_msg("prom_parse.py failed (status %d): the exposition is in %s", status, path);
}

/* Value of the sample `name` whose labels include k=v (k NULL: any). */
static bool sample(const scrape *s, const char *name, const char *k, const char *v, double *out) {
    json_t *list = json_object_get(s->doc, "samples");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(e, "name")), name))
            continue;
        if (k) {
            json_t *lv = json_object_get(json_object_get(e, "labels"), k);
            if (!lv || strcmp(json_string_value(lv), v))
                continue;
        }
        json_t *val = json_object_get(e, "value");
        *out = json_is_string(val) ? NAN : json_number_value(val);
        return true;
    }
    return false;
}

static double value(const scrape *s, const char *name, const char *k, const char *v) {
    double d = 0;
    if (!sample(s, name, k, v, &d))
        fail_msg("no sample %s{%s=\"%s\"}", name, k ? k : "", v ? v : "");
    return d;
}

static double sum_of(const scrape *s, const char *name, int *count) {
    json_t *list = json_object_get(s->doc, "samples");
    double sum = 0;
    *count = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        if (!strcmp(json_string_value(json_object_get(e, "name")), name)) {
            sum += json_number_value(json_object_get(e, "value"));
            (*count)++;
        }
    }
    return sum;
}

static const char *type_of(const scrape *s, const char *family) {
    return json_string_value(json_object_get(json_object_get(s->doc, "types"), family));
}

static void test_metrics(void **state) {
    fixture *f = *state;
    scrape s;
    scrape_metrics(f, &s);

    assert_string_equal(type_of(&s, "rfmd_orders_rejected_total"), "counter");
    assert_string_equal(type_of(&s, "rfmd_customers"), "gauge");
    assert_string_equal(type_of(&s, "rfmd_rescore_duration_seconds"), "summary");

    assert_int_equal(value(&s, "rfmd_customers", NULL, NULL), NCUST);
    int n;
    assert_int_equal(sum_of(&s, "rfmd_segment_customers", &n), NCUST);
    assert_int_equal(n, 12); /* 10 segments, unclassified, unscored */
    assert_int_equal(value(&s, "rfmd_segment_customers", "segment", "unscored"), 0);
    /* Per segment, the same counts as /segments. */
    hresp r;
    json_t *segs = json_object_get(hhttp_json(f->addr, "/segments", 200, &r), "segments");
    for (size_t i = 0; i < json_array_size(segs); i++) {
        json_t *e = json_array_get(segs, i);
        assert_int_equal(value(&s, "rfmd_segment_customers", "segment", jstr(e, "segment")),
                         jint(e, "customers"));
    }
    hresp_free(&r);

    assert_int_equal(value(&s, "rfmd_orders_consumed_total", NULL, NULL), f->consumed);
    assert_int_equal(value(&s, "rfmd_orders_applied_total", NULL, NULL), f->applied);
    assert_int_equal(value(&s, "rfmd_orders_duplicate_total", NULL, NULL), 1);
    assert_int_equal(
        value(&s, "rfmd_orders_rejected_total", "reason", event_reject_name(EVENT_NOT_JSON)), 1);
    assert_int_equal(
        value(&s, "rfmd_orders_rejected_total", "reason", event_reject_name(EVENT_MISSING_FIELD)),
        1);
    assert_int_equal(
        value(&s, "rfmd_orders_rejected_total", "reason", event_reject_name(EVENT_BAD_TS)), 1);
    assert_int_equal(sum_of(&s, "rfmd_orders_rejected_total", &n), 3);
    /* every reason, plus invalid_order and wrong_partition */
    assert_int_equal(n, EVENT_REJECT_COUNT + 1);
    assert_int_equal(value(&s, "rfmd_orders_rejected_total", "reason", "wrong_partition"), 0);

    hresp br;
    json_t *bp = hhttp_json(f->addr, "/breakpoints", 200, &br);
    assert_int_equal(value(&s, "rfmd_breakpoints_version", NULL, NULL), jint(bp, "version"));
    hresp_free(&br);
    assert_true(value(&s, "rfmd_rescore_duration_seconds_count", NULL, NULL) >= 1);
    assert_true(value(&s, "rfmd_rescore_duration_seconds_sum", NULL, NULL) >= 0);
    assert_int_equal(value(&s, "rfmd_ready", NULL, NULL), 1);
    assert_int_equal(value(&s, "rfmd_build_info", "version", RFM_VERSION), 1);
    assert_true(value(&s, "rfmd_uptime_seconds", NULL, NULL) > 0);
    assert_true(value(&s, "rfmd_producer_queue_messages", NULL, NULL) >= 0);
    /* No snapshot subsystem has reported yet: unknown, not 1970. */
    assert_true(isnan(value(&s, "rfmd_snapshot_age_seconds", NULL, NULL)));
    assert_int_equal(value(&s, "rfmd_snapshot_failures_total", NULL, NULL), 0);
    json_decref(s.doc);

    /* Events by cause add up to what is on the topic, and the lag of both
     * input partitions drops to 0 (cached watermarks: poll for it). */
    int64_t t0 = harness_now_ms();
    for (;;) {
        hreader_poll(f->events, 200);
        scrape_metrics(f, &s);
        double events = value(&s, "rfmd_events_published_total", "cause", "order") +
                        value(&s, "rfmd_events_published_total", "cause", "rescore");
        double lag = sum_of(&s, "rfmd_consumer_lag_messages", &n);
        bool done = events == (double)f->events->n && n == 2 && lag == 0;
        if (done || harness_now_ms() - t0 > 30000) {
            assert_int_equal(events, f->events->n);
            assert_int_equal(n, 2);
            assert_int_equal(lag, 0);
            assert_true(value(&s, "rfmd_consumer_lag_messages", "partition", "1") == 0);
            json_decref(s.doc);
            break;
        }
        json_decref(s.doc);
        harness_sleep_ms(200);
    }
}

/* ---- /partitions ---------------------------------------------------------- */

/* An entry's offset: its value, or -1 for null. */
static long long joffset(const json_t *o, const char *k) {
    return json_is_null(json_object_get(o, k)) ? -1 : jint(o, k);
}

/* Both input partitions, caught up with lag 0: the offsets agree with each
 * other, with what was produced, and with /metrics' per-partition lag. */
static void test_partitions(void **state) {
    fixture *f = *state;
    int64_t t0 = harness_now_ms();
    hresp r;
    for (;;) {
        json_t *o = hhttp_json(f->addr, "/partitions", 200, &r);
        json_t *list = json_object_get(o, "assignment");
        bool done = json_array_size(list) == 2;
        for (size_t i = 0; done && i < 2; i++) {
            json_t *e = json_array_get(list, i);
            done = joffset(e, "lag") == 0 && json_is_true(json_object_get(e, "caught_up")) &&
                   joffset(e, "committed_offset") == joffset(e, "next_offset");
        }
        if (done)
            break;
        if (harness_now_ms() - t0 > 30000)
            fail_msg("/partitions never settled: %.*s", (int)r.len, r.body);
        hresp_free(&r);
        harness_sleep_ms(200);
    }
    json_t *o = r.json;
    assert_string_equal(jstr(o, "group_id"), HARNESS_GROUP);
    assert_int_equal(jint(o, "partitions"), 2);
    assert_true(json_is_true(json_object_get(o, "caught_up")));
    json_t *list = json_object_get(o, "assignment");
    long long produced = 0;
    scrape s;
    scrape_metrics(f, &s);
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_array_get(list, i);
        assert_string_equal(jstr(e, "topic"), HARNESS_ORDERS);
        assert_int_equal(jint(e, "partition"), (long long)i); /* sorted */
        assert_string_equal(jstr(e, "state"), "running");
        long long next = jint(e, "next_offset"), high = jint(e, "high_watermark");
        /* Offsets start at 0: all produced there applied and committed. */
        assert_int_equal(next, high);
        assert_int_equal(jint(e, "committed_offset"), next);
        produced += high;
        assert_int_equal(high - next, jint(e, "lag"));
        assert_int_equal(value(&s, "rfmd_consumer_lag_messages", "partition", i ? "1" : "0"), 0);
    }
    json_decref(s.doc);
    assert_int_equal(produced, f->consumed);
    hresp_free(&r);
}

/* ---- an rfmd with nothing to score --------------------------------------- */

static void test_before_first_rescore(void **state) {
    (void)state;
    harness h;
    harness_init(&h, rfmd_path, 1, 1, 1);
    h.http_listen = "127.0.0.1:0";
    harness_write_config(&h, "1h", NULL, NULL, NULL);
    harness_spawn(&h);
    char addr[128];
    harness_wait_log(&h, "http: listening on ", 1, addr, sizeof addr, 30000);
    hresp r;
    /* Live from the start; ready only once partitions are assigned. */
    json_t *o = hhttp_json(addr, "/healthz", 200, &r);
    assert_string_equal(jstr(o, "status"), "ok");
    hresp_free(&r);
    int64_t t0 = harness_now_ms();
    for (;;) {
        hhttp(addr, NULL, "/readyz", &r, 0);
        assert_non_null(r.json);
        bool ready = json_is_true(json_object_get(r.json, "ready"));
        assert_int_equal(r.status, ready ? 200 : 503);
        hresp_free(&r);
        if (ready)
            break;
        if (harness_now_ms() - t0 > 30000)
            fail_msg("/readyz never 200");
        harness_sleep_ms(100);
    }
    o = hhttp_json(addr, "/breakpoints", 503, &r);
    assert_non_null(strstr(jstr(o, "error"), "no breakpoints yet"));
    assert_int_equal(jint(o, "version"), 0);
    hresp_free(&r);
    o = hhttp_json(addr, "/segments", 200, &r);
    assert_int_equal(jint(o, "customers"), 0);
    assert_true(json_is_null(json_object_get(o, "as_of")));
    hresp_free(&r);
    /* One empty partition, owned: nothing applied or committed, at its end
     * once the first fetch says so. */
    t0 = harness_now_ms();
    for (;;) {
        o = hhttp_json(addr, "/partitions", 200, &r);
        assert_int_equal(jint(o, "partitions"), 1);
        json_t *e = json_array_get(json_object_get(o, "assignment"), 0);
        assert_string_equal(jstr(e, "state"), "running");
        assert_true(json_is_null(json_object_get(e, "committed_offset")));
        if (json_is_true(json_object_get(e, "caught_up")) && joffset(e, "lag") == 0 &&
            joffset(e, "high_watermark") == 0)
            break;
        if (harness_now_ms() - t0 > 30000)
            fail_msg("/partitions: the empty partition never caught up: %.*s", (int)r.len, r.body);
        hresp_free(&r);
        harness_sleep_ms(100);
    }
    hresp_free(&r);
    int64_t took;
    assert_int_equal(harness_stop(&h, 15000, &took), 0);
    /* Stopped: the port is closed, not hanging. */
    hhttp(addr, NULL, "/healthz", &r, 1);
    assert_int_equal(r.status, 0);
    hresp_free(&r);
    harness_cleanup(&h);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s RFMD\n", argv[0]);
        return 2;
    }
    rfmd_path = argv[1];
    const struct CMUnitTest fed[] = {
        cmocka_unit_test(test_health),          cmocka_unit_test(test_customers),
        cmocka_unit_test(test_customer_errors), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_segments),        cmocka_unit_test(test_breakpoints),
        cmocka_unit_test(test_metrics),         cmocka_unit_test(test_partitions),
    };
    const struct CMUnitTest empty[] = {
        cmocka_unit_test(test_before_first_rescore),
    };
    int failed = cmocka_run_group_tests_name("fed", fed, group_setup, group_teardown);
    failed += cmocka_run_group_tests_name("empty", empty, NULL, NULL);
    return failed;
}
