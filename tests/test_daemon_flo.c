/*
 * The seed reproduction through Kafka: every FLO order (reader_read_file,
 * SPEC §5) is produced into the orders topic, rfmd consumes them all, scores
 * them, is stopped with SIGTERM, and the last segment event of each customer
 * must equal tests/data/flo_golden.csv (the seed notebook's result) — for all
 * 19,945 customers, on segment and on r, f, m, recency, frequency, monetary.
 *
 * usage: test_daemon_flo RFMD   (RFM_SHARED, RFM_SOURCE from ctest)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/harness.h"
#include "rfm/event.h"
#include "rfm/reader.h"

#define FLO_CUSTOMERS 19945
#define FLO_ORDERS    100219

static const char *rfmd_path;

typedef struct produce_ctx {
    harness *h;
    event_fields fields;
    uint64_t n;
} produce_ctx;

static int produce_order(void *ctx, const order *o) {
    produce_ctx *pc = ctx;
    char *json = event_encode_order(&pc->fields, o);
    assert_non_null(json);
    harness_produce(pc->h, HARNESS_ORDERS, o->customer_id.p, o->customer_id.len, json,
                    strlen(json));
    free(json);
    pc->n++;
    return 0;
}

typedef struct last_event {
    const char *key;
    size_t seq;
    const json_t *json;
} last_event;

static int last_event_cmp(const void *a, const void *b) {
    const last_event *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int last_event_cmp_key_only(const void *a, const void *b) {
    return strcmp(((const last_event *)a)->key, ((const last_event *)b)->key);
}

/* Sorted by key, one entry per key: its last event. */
static last_event *last_events(const hreader *r, size_t *n) {
    last_event *v = calloc(r->n ? r->n : 1, sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < r->n; i++) {
        assert_non_null(r->msgs[i].key);
        assert_non_null(r->msgs[i].json);
        v[i].key = r->msgs[i].key;
        v[i].seq = i;
        v[i].json = r->msgs[i].json;
    }
    qsort(v, r->n, sizeof *v, last_event_cmp);
    size_t out = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (out && !strcmp(v[out - 1].key, v[i].key))
            v[out - 1] = v[i];
        else
            v[out++] = v[i];
    }
    *n = out;
    return v;
}

static int split_csv(char *line, char **cols, int max) {
    int n = 0;
    char *s = line;
    while (n < max) {
        cols[n++] = s;
        char *c = strchr(s, ',');
        if (!c)
            break;
        *c = '\0';
        s = c + 1;
    }
    char *nl = strpbrk(cols[n - 1], "\r\n");
    if (nl)
        *nl = '\0';
    return n;
}

static int col_index(char **cols, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(cols[i], name))
            return i;
    return -1;
}

static void test_flo_through_kafka(void **state) {
    harness *hp = *state;
    const char *shared = getenv("RFM_SHARED");
    const char *source = getenv("RFM_SOURCE");
    assert_non_null(shared);
    assert_non_null(source);
    char flo[1024], golden[1024];
    snprintf(flo, sizeof flo, "%s/data/flo_data_20k.csv", shared);
    snprintf(golden, sizeof golden, "%s/tests/data/flo_golden.csv", source);
    FILE *gf = fopen(golden, "r");
    if (!gf)
        fail_msg("golden file %s missing (made by tests/ref/seed_rfm.py)", golden);

    harness_init(hp, rfmd_path, 8, 8, 1);

    produce_ctx pc = {.h = hp};
    event_fields_default(&pc.fields);
    reader_options ro = {.format = READER_FLO};
    reader_stats rs;
    char err[512];
    assert_int_equal(reader_read_file(flo, &ro, produce_order, &pc, &rs, err, sizeof err), 0);
    assert_int_equal(pc.n, FLO_ORDERS);
    harness_flush(hp);

    harness_write_config(hp, "60s", NULL, NULL, NULL);
    int64_t t0 = harness_now_ms();
    harness_spawn(hp);

    /* The first scoring happens once the backlog is consumed: one event per
     * customer (previous_segment null). */
    hreader *r = hreader_open(hp, HARNESS_SEGMENTS, hp->segments_parts);
    while (r->n < FLO_CUSTOMERS && harness_now_ms() - t0 < 90000)
        hreader_poll(r, 500);
    if (r->n < FLO_CUSTOMERS) {
        harness_dump_log(hp);
        fail_msg("only %zu segment events after 90 s", r->n);
    }
    fprintf(stderr, "first %zu events after %.1f s\n", r->n,
            (double)(harness_now_ms() - t0) / 1000.0);

    int64_t took = 0;
    int status = harness_stop(hp, 10000, &took);
    harness_dump_log(hp);
    assert_int_equal(status, 0);
    assert_true(took < 10000);
    assert_true(harness_log_contains(hp, "stopped cleanly"));

    hreader_drain(r, 30000);
    size_t nlast = 0;
    last_event *last = last_events(r, &nlast);
    assert_int_equal(nlast, FLO_CUSTOMERS);

    char line[1024];
    char *cols[16];
    assert_non_null(fgets(line, sizeof line, gf));
    int ncols = split_csv(line, cols, 16);
    int c_id = col_index(cols, ncols, "customer_id"), c_seg = col_index(cols, ncols, "segment");
    int c_rec = col_index(cols, ncols, "recency"), c_freq = col_index(cols, ncols, "frequency");
    int c_mon = col_index(cols, ncols, "monetary");
    int c_r = col_index(cols, ncols, "r"), c_f = col_index(cols, ncols, "f");
    int c_m = col_index(cols, ncols, "m");
    assert_true(c_id >= 0 && c_seg >= 0);
    size_t rows = 0, mismatches = 0;
    while (fgets(line, sizeof line, gf)) {
        int n = split_csv(line, cols, 16);
        assert_int_equal(n, ncols);
        rows++;
        last_event key = {.key = cols[c_id]};
        last_event *e = bsearch(&key, last, nlast, sizeof *last, last_event_cmp_key_only);
        if (!e) {
            if (mismatches++ < 10)
                fprintf(stderr, "customer %s: no segment event\n", cols[c_id]);
            continue;
        }
        const char *seg = hjson_str(e->json, "segment");
        char mon[32];
        snprintf(mon, sizeof mon, "%.2f", json_number_value(json_object_get(e->json, "monetary")));
        bool ok = seg && !strcmp(seg, cols[c_seg]);
        if (c_r >= 0)
            ok = ok && hjson_int(e->json, "r") == atoll(cols[c_r]);
        if (c_f >= 0)
            ok = ok && hjson_int(e->json, "f") == atoll(cols[c_f]);
        if (c_m >= 0)
            ok = ok && hjson_int(e->json, "m") == atoll(cols[c_m]);
        if (c_rec >= 0)
            ok = ok && hjson_int(e->json, "recency_days") == atoll(cols[c_rec]);
        if (c_freq >= 0)
            ok = ok && hjson_int(e->json, "frequency") == atoll(cols[c_freq]);
        if (c_mon >= 0)
            ok = ok && !strcmp(mon, cols[c_mon]);
        ok = ok && !strcmp(hjson_str(e->json, "as_of"), "2021-06-01");
        if (!ok && mismatches++ < 10)
            fprintf(stderr, "customer %s: golden %s, last event %.*s\n", cols[c_id], cols[c_seg],
                    (int)r->msgs[e->seq].len, r->msgs[e->seq].value);
    }
    fclose(gf);
    fprintf(stderr, "%zu golden rows, %zu customers with events, %zu mismatches\n", rows, nlast,
            mismatches);
    assert_int_equal(rows, FLO_CUSTOMERS);
    assert_int_equal(mismatches, 0);

    free(last);
    hreader_close(r);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flo_through_kafka, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
