/*
 * FLO seed data for the daemon tests: the orders (SPEC §5, read with the
 * engine's own reader) and checks against tests/data/flo_golden.csv, the
 * seed notebook's table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flo.h"
#include "rfm/reader.h"

static int keep_order(void *ctx, const order *o) {
    flo_orders *os = ctx;
    if (os->n == os->cap) {
        os->cap = os->cap ? os->cap * 2 : 4096;
        os->m = realloc(os->m, os->cap * sizeof *os->m);
        assert_non_null(os->m);
    }
    flo_msg *m = &os->m[os->n++];
    snprintf(m->key, sizeof m->key, "%.*s", (int)o->customer_id.len, o->customer_id.p);
    m->json = event_encode_order(&os->fields, o);
    assert_non_null(m->json);
    return 0;
}

void flo_load(flo_orders *os) {
    const char *shared = getenv("RFM_SHARED");
    assert_non_null(shared);
    memset(os, 0, sizeof *os);
    event_fields_default(&os->fields);
    char flo[1024], err[512];
    snprintf(flo, sizeof flo, "%s/data/flo_data_20k.csv", shared);
    reader_options ro = {.format = READER_FLO};
    reader_stats rs;
    assert_int_equal(reader_read_file(flo, &ro, keep_order, os, &rs, err, sizeof err), 0);
    assert_int_equal(os->n, FLO_ORDERS);
}

void flo_free(flo_orders *os) {
    for (size_t i = 0; i < os->n; i++)
        free(os->m[i].json);
    free(os->m);
    memset(os, 0, sizeof *os);
}

void flo_produce(harness *h, const flo_orders *os, size_t from, size_t to) {
    for (size_t i = from; i < to && i < os->n; i++)
        harness_produce(h, HARNESS_ORDERS, os->m[i].key, strlen(os->m[i].key), os->m[i].json,
                        strlen(os->m[i].json));
    harness_flush(h);
}

char *flo_golden_path(char *buf, size_t len) {
    const char *source = getenv("RFM_SOURCE");
    assert_non_null(source);
    snprintf(buf, len, "%s/tests/data/flo_golden.csv", source);
    return buf;
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

static size_t mismatches(const hreader *r, bool segment_only) {
    char golden[1024];
    FILE *gf = fopen(flo_golden_path(golden, sizeof golden), "r");
    if (!gf)
        fail_msg("golden file %s missing (made by tests/ref/seed_rfm.py)", golden);
    size_t nlast = 0;
    last_event *last = last_events(r, &nlast);
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
        if (segment_only)
            goto done;
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
    done:
        if (!ok && mismatches++ < 10)
            fprintf(stderr, "customer %s: golden %s, last event %.*s\n", cols[c_id], cols[c_seg],
                    (int)r->msgs[e->seq].len, r->msgs[e->seq].value);
    }
    fclose(gf);
    fprintf(stderr, "%zu golden rows, %zu customers with events, %zu mismatches\n", rows, nlast,
            mismatches);
    free(last);
    return rows == FLO_CUSTOMERS && nlast == FLO_CUSTOMERS ? mismatches : mismatches + 1;
}

size_t flo_event_mismatches(const hreader *r) {
    return mismatches(r, false);
}

size_t flo_segment_mismatches(const hreader *r) {
    return mismatches(r, true);
}

char *flo_dump(const harness *h, const char *out) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/rfmctl' snapshot dump '%s' > '%s/%s'", getenv("RFM_BIN"), h->dir,
             h->dir, out);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/%s", h->dir, out);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *p = calloc(1, (size_t)len + 1);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return p;
}

char *flo_slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *p = calloc(1, (size_t)len + 1);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return p;
}

void flo_first_difference(const char *a, const char *b, const char *what) {
    size_t line = 1;
    const char *la = a, *lb = b;
    for (; *a && *a == *b; a++, b++)
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
    if (*a || *b)
        fail_msg("%s differs at line %zu:\n  %.100s\n  %.100s", what, line, la, lb);
}

void flo_assert_dump_is_golden(const harness *h) {
    char golden[1024];
    char *table = flo_slurp(flo_golden_path(golden, sizeof golden));
    char *dumped = flo_dump(h, "final.csv");
    flo_first_difference(dumped, table, "snapshot dump vs the seed's table");
    free(dumped);
    free(table);
}
