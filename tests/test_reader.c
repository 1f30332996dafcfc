/* reader: the three formats (contract §10), gzip and stdin input, and the real
 * shared files when RFM_SHARED is set; the CSV splitter is tested in
 * test_reader_csv.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "rfm/reader.h"

/* ---------------------------------------------------------------- helpers */

typedef struct got {
    char cust[ORDER_ID_MAX + 1];
    char id[ORDER_ID_MAX + 1];
    int64_t ts, cents;
    char channel[64];
    char cats[256]; /* "A|B" */
} got;

typedef struct sink {
    got *v;
    size_t n, cap;
    size_t stop_after; /* 0 = never */
    /* Totals for the big files, where orders are not kept. */
    bool totals_only;
    uint64_t orders;
    int64_t cents;
    char **custs; /* every customer id seen, for distinct counts */
    size_t ncusts, custs_cap;
} sink;

static void copy_str(char *dst, size_t cap, order_str s) {
    assert_true(s.len < cap);
    if (s.len) /* absent strings may be {NULL, 0} */
        memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';
}

static int sink_emit(void *ctx, const order *o) {
    sink *s = ctx;
    s->orders++;
    s->cents += o->amount_cents;
    if (s->totals_only) {
        if (s->ncusts == s->custs_cap) {
            s->custs_cap = s->custs_cap ? 2 * s->custs_cap : 1024;
            s->custs = realloc(s->custs, s->custs_cap * sizeof *s->custs);
            assert_non_null(s->custs);
        }
        s->custs[s->ncusts] = strndup(o->customer_id.p, o->customer_id.len);
        assert_non_null(s->custs[s->ncusts]);
        s->ncusts++;
    } else {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 16;
            s->v = realloc(s->v, s->cap * sizeof *s->v);
            assert_non_null(s->v);
        }
        got *g = &s->v[s->n++];
        memset(g, 0, sizeof *g);
        copy_str(g->cust, sizeof g->cust, o->customer_id);
        copy_str(g->id, sizeof g->id, o->order_id);
        g->ts = o->ts;
        g->cents = o->amount_cents;
        copy_str(g->channel, sizeof g->channel, o->channel);
        for (size_t i = 0; i < o->ncategories; i++) {
            if (i)
                strcat(g->cats, "|");
            assert_true(strlen(g->cats) + o->categories[i].len < sizeof g->cats);
            strncat(g->cats, o->categories[i].p, o->categories[i].len);
        }
    }
    return s->stop_after && s->orders >= s->stop_after;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t sink_distinct_customers(sink *s) {
    qsort(s->custs, s->ncusts, sizeof *s->custs, cmp_str);
    size_t d = 0;
    for (size_t i = 0; i < s->ncusts; i++)
        if (i == 0 || strcmp(s->custs[i], s->custs[i - 1]) != 0)
            d++;
    return d;
}

static void sink_free(sink *s) {
    for (size_t i = 0; i < s->ncusts; i++)
        free(s->custs[i]);
    free(s->custs);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static const char *fixture(const char *name) {
    static char path[4096];
    const char *src = getenv("RFM_SOURCE");
    if (!src)
        fail_msg("RFM_SOURCE is not set (run the test through ctest)");
    snprintf(path, sizeof path, "%s/tests/data/reader/%s", src, name);
    return path;
}

/* A temporary file holding data; gz = write it gzip-compressed. */
static char *temp_file(const char *data, size_t len, const char *suffix, bool gz) {
    const char *dir = getenv("TMPDIR");
    char *path;
    assert_true(asprintf(&path, "%s/rfm_reader_XXXXXX%s", dir ? dir : "/tmp", suffix) > 0);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    if (gz) {
        gzFile g = gzdopen(fd, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
    }
    return path;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static int read_file(const char *path, reader_format fmt, bool refunds, sink *s, reader_stats *st,
                     char *err, size_t errlen) {
    reader_options opt = {.format = fmt, .cancellations_as_refunds = refunds, .fields = NULL};
    return reader_read_file(path, &opt, sink_emit, s, st, err, errlen);
}

static void expect_order(const got *g, const char *cust, const char *id, int64_t ts,
                         int64_t cents) {
    assert_string_equal(g->cust, cust);
    assert_string_equal(g->id, id);
    assert_int_equal(g->ts, ts);
    assert_int_equal(g->cents, cents);
}

/* ----------------------------------------------------------------- retail */

/* Epoch seconds of 2010-12-01 00:00 UTC and 2009-12-01 00:00 UTC. */
#define D20101201 1291161600LL
#define D20091201 1259625600LL

static void test_retail_online_retail(void **state) {
    (void)state;
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(
        read_file(fixture("retail_online.csv"), READER_RETAIL, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.lines, 11); /* the two-line record is one */
    assert_int_equal(st.bad, 0);
    /* C536379 (cancellation), 536367 x2 (Quantity < 0, Price 0), 536368 (no customer) */
    assert_int_equal(st.skipped, 4);
    assert_int_equal(st.orders, 4);
    assert_int_equal(s.n, 4);
    /* 3 x 0.85 + 2 x 1.65; lines not contiguous; the earlier line's time (08:20). */
    expect_order(&s.v[0], "17850", "536365", D20101201 + 8 * 3600 + 20 * 60, 585);
    /* "12/1/2010 8:28": month first. */
    expect_order(&s.v[1], "17850", "536366", D20101201 + 8 * 3600 + 28 * 60, 1850);
    /* 3 x 1.15 + 1 x 0.005 = 3.455 exactly -> 3.46; in doubles the sum is
     * 3.4549999999999996 and would round to 3.45. "13047.00" is 13047. */
    expect_order(&s.v[2], "13047", "536369", D20101201 + 8 * 3600 + 35 * 60, 346);
    /* One line quoted whole ("536370,...,""A, B"",..."), one with a line break
     * inside its description: 2 x 3.75 + 24 x 3.75, earliest time 8:44. */
    expect_order(&s.v[3], "12583", "536370", D20101201 + 8 * 3600 + 44 * 60, 9750);
    for (size_t i = 0; i < s.n; i++) {
        assert_string_equal(s.v[i].channel, "");
        assert_string_equal(s.v[i].cats, "");
    }
    sink_free(&s);
}

static void test_retail_cancellations_as_refunds(void **state) {
    (void)state;
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(
        read_file(fixture("retail_online.csv"), READER_RETAIL, true, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.orders, 5);
    assert_int_equal(st.skipped, 3);
    assert_int_equal(s.n, 5);
    /* In order of first appearance: after 536366, before 536369. */
    expect_order(&s.v[2], "14527", "C536379", D20101201 + 9 * 3600 + 41 * 60, -2750);
    assert_string_equal(s.v[3].id, "536369");
    sink_free(&s);
}

static void test_retail_ii_names_and_bad_lines(void **state) {
    (void)state;
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(
        read_file(fixture("retail_ii.csv"), READER_RETAIL, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.lines, 10);
    /* Quantity "abc", month 13, a short line */
    assert_int_equal(st.bad, 3);
    /* a second customer on 489436, no customer x2 (one an 'A' adjustment) */
    assert_int_equal(st.skipped, 3);
    assert_int_equal(s.n, 3);
    expect_order(&s.v[0], "13085", "489434", D20091201 + 7 * 3600 + 45 * 60, 16440);
    expect_order(&s.v[1], "13085", "489435", D20091201 + 7 * 3600 + 46 * 60, 3060);
    /* Only the valid line of the first customer (3 x 5.95). */
    expect_order(&s.v[2], "13078", "489436", D20091201 + 9 * 3600 + 6 * 60, 1785);
    sink_free(&s);
}

static void test_retail_only_invalid_lines_is_no_order(void **state) {
    (void)state;
    const char *t = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
                    "1,a,x,0,2010-01-01 10:00,1.00,7,UK\n"
                    "1,b,x,5,2010-01-01 10:00,-1.00,7,UK\n"
                    "2,c,x,1,2010-01-01 11:00,0.01,8,UK\n";
    char *path = temp_file(t, strlen(t), ".csv", false);
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(read_file(path, READER_RETAIL, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    expect_order(&s.v[0], "8", "2", 1262343600, 1);
    assert_int_equal(st.skipped, 2);
    sink_free(&s);
    unlink(path);
    free(path);
}

static void test_retail_wrong_header(void **state) {
    (void)state;
    const char *t = "InvoiceNo,StockCode,Description,Qty,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "1,a,x,1,2010-01-01 10:00,1.00,7,UK\n";
    char *path = temp_file(t, strlen(t), ".csv", false);
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(read_file(path, READER_RETAIL, false, &s, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "Quantity"));
    assert_int_equal(s.n, 0);
    /* The FLO file is not a retail file either. */
    assert_int_equal(
        read_file(fixture("flo_small.csv"), READER_RETAIL, false, &s, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an Online Retail file"));
    /* Nor an empty one. */
    char *empty = temp_file("", 0, ".csv", false);
    assert_int_equal(read_file(empty, READER_RETAIL, false, &s, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    sink_free(&s);
    unlink(path);
    unlink(empty);
    free(path);
    free(empty);
}

/* -------------------------------------------------------------------- FLO */

#define DAY 86400LL

static void test_flo_expansion(void **state) {
    (void)state;
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(
        read_file(fixture("flo_small.csv"), READER_FLO, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.lines, 11);
    assert_int_equal(st.bad, 6);
    assert_int_equal(st.orders, 5 + 21 + 1 + 1 + 3);
    assert_int_equal(s.n, st.orders);

    /* Row 1: 4 online + 1 offline, 139.99 + 799.38 = 939.37 in 5 orders. */
    const char *c1 = "cc294636-19f0-11eb-8d74-000d3a38a36f";
    int64_t sum = 0;
    for (int k = 0; k < 5; k++) {
        const got *g = &s.v[k];
        char id[80];
        snprintf(id, sizeof id, "%s#%d", c1, k + 1);
        assert_string_equal(g->cust, c1);
        assert_string_equal(g->id, id);
        assert_string_equal(g->channel, k < 4 ? "Android App" : "Offline");
        assert_string_equal(g->cats, "KADIN");
        assert_true(g->cents == 18787 || g->cents == 18788);
        if (k)
            assert_true(g->ts >= s.v[k - 1].ts);
        sum += g->cents;
    }
    assert_int_equal(sum, 93937);
    assert_int_equal(s.v[0].ts, 1604016000); /* 2020-10-30 */
    assert_int_equal(s.v[4].ts, 1614297600); /* 2021-02-26 */

    /* Row 2: 19 + 2 orders, 159.97 + 1853.58, four categories. */
    sum = 0;
    for (int k = 5; k < 26; k++) {
        sum += s.v[k].cents;
        assert_string_equal(s.v[k].channel, k < 24 ? "Android App" : "Offline");
        assert_string_equal(s.v[k].cats, "ERKEK|COCUK|KADIN|AKTIFSPOR");
    }
    assert_int_equal(sum, 201355);
    assert_int_equal(s.v[5].ts, 1486512000);  /* 2017-02-08 */
    assert_int_equal(s.v[25].ts, 1613433600); /* 2021-02-16 */

    /* A single order is at last_order_date; "[]" is no category. */
    expect_order(&s.v[26], "single-online", "single-online#1", 1609804800, 4999);
    assert_string_equal(s.v[26].channel, "Desktop");
    assert_string_equal(s.v[26].cats, "");
    expect_order(&s.v[27], "single-offline", "single-offline#1", 1608768000, 1);
    assert_string_equal(s.v[27].channel, "Offline");
    assert_string_equal(s.v[27].cats, "AKTIFCOCUK");

    /* 3 orders over 2021-03-01..03: one a day; 1000 cents -> 334+333+333. */
    int64_t d0 = 1614556800;
    expect_order(&s.v[28], "three-days", "three-days#1", d0, 334);
    expect_order(&s.v[29], "three-days", "three-days#2", d0 + DAY, 333);
    expect_order(&s.v[30], "three-days", "three-days#3", d0 + 2 * DAY, 333);
    assert_string_equal(s.v[29].channel, "Ios App");
    assert_string_equal(s.v[30].channel, "Offline");
    assert_string_equal(s.v[30].cats, "KADIN|ERKEK");
    sink_free(&s);
}

static void test_flo_missing_column_and_stop(void **state) {
    (void)state;
    const char *t = "master_id,first_order_date,last_order_date,order_num_total_ever_online,"
                    "order_num_total_ever_offline,customer_value_total_ever_online\n"
                    "a,2021-01-01,2021-01-02,1.0,1.0,10\n";
    char *path = temp_file(t, strlen(t), ".csv", false);
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(read_file(path, READER_FLO, false, &s, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "customer_value_total_ever_offline"));
    unlink(path);
    free(path);

    /* Optional columns absent: no channel for online orders, no categories.
     * emit asking to stop is obeyed at once. */
    t = "master_id,first_order_date,last_order_date,order_num_total_ever_online,"
        "order_num_total_ever_offline,customer_value_total_ever_online,"
        "customer_value_total_ever_offline\n"
        "a,2021-01-01,2021-01-02,2,1,10,0.05\n"
        "b,2021-01-01,2021-01-02,2,1,10,0.05\n";
    path = temp_file(t, strlen(t), ".csv", false);
    s.stop_after = 2;
    assert_int_equal(read_file(path, READER_FLO, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.v[0].channel, "");
    assert_int_equal(s.v[0].cents, 335);
    assert_int_equal(s.v[1].ts, 1609459200 + 12 * 3600); /* halfway */
    sink_free(&s);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------------ JSONL */

static void test_jsonl(void **state) {
    (void)state;
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(
        read_file(fixture("orders.jsonl"), READER_JSONL, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.lines, 8);
    assert_int_equal(st.skipped, 2); /* blank lines */
    assert_int_equal(st.bad, 3);     /* not JSON, no customer_id, Feb 30 */
    assert_int_equal(st.orders, 3);
    assert_int_equal(s.n, 3);
    expect_order(&s.v[0], "c1", "o1", 1614333600, 1250);
    assert_string_equal(s.v[0].channel, "Android App");
    assert_string_equal(s.v[0].cats, "KADIN");
    expect_order(&s.v[1], "c2", "o2", 1614333600, -310); /* CRLF line, epoch ms */
    expect_order(&s.v[2], "c1", "o4", 1614322800, 1);    /* +03:00; 0.005 -> 1 cent */
    sink_free(&s);
}

static void test_jsonl_custom_fields(void **state) {
    (void)state;
    const char *t =
        "{\"id\":\"x1\",\"cust\":\"y\",\"time\":\"2021-01-01\",\"value\":2}\n"
        "{\"order_id\":\"x2\",\"customer_id\":\"y\",\"ts\":\"2021-01-01\",\"amount\":2}";
    char *path = temp_file(t, strlen(t), ".jsonl", false);
    event_fields f;
    event_fields_default(&f);
    f.order_id = "id";
    f.customer_id = "cust";
    f.ts = "time";
    f.amount = "value";
    reader_options opt = {.format = READER_JSONL, .fields = &f};
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(reader_read_file(path, &opt, sink_emit, &s, &st, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    expect_order(&s.v[0], "y", "x1", 1609459200, 200);
    assert_int_equal(st.bad, 1); /* the default names are not these */
    sink_free(&s);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------ input forms */

static void test_gzip_and_truncated(void **state) {
    (void)state;
    size_t len;
    char *data = slurp(fixture("retail_online.csv"), &len);
    char *gz = temp_file(data, len, ".csv.gz", true);
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(read_file(gz, READER_RETAIL, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(s.n, 4);
    expect_order(&s.v[2], "13047", "536369", D20101201 + 8 * 3600 + 35 * 60, 346);
    assert_int_equal(st.lines, 11);
    sink_free(&s);

    /* Cut the compressed file short: an error, not a silently short read. */
    size_t glen;
    char *gdata = slurp(gz, &glen);
    assert_true(glen > 40);
    FILE *f = fopen(gz, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(gdata, 1, glen - 20, f), glen - 20);
    fclose(f);
    assert_int_equal(read_file(gz, READER_RETAIL, false, &s, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, gz));
    assert_int_equal(s.n, 0); /* retail emits nothing from a partial file */
    sink_free(&s);
    unlink(gz);
    free(gz);
    free(gdata);
    free(data);
}

static void test_stdin_and_missing_file(void **state) {
    (void)state;
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    int fd = open(fixture("orders.jsonl"), O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
    sink s = {0};
    reader_stats st;
    char err[512] = "";
    int rc = read_file("-", READER_JSONL, false, &s, &st, err, sizeof err);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    assert_int_equal(s.n, 3);
    sink_free(&s);

    assert_int_equal(read_file("no/such/file.csv", READER_FLO, false, &s, &st, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "no/such/file.csv"));
    assert_non_null(strstr(err, "No such file"));
}

static void test_format_parse(void **state) {
    (void)state;
    assert_int_equal(reader_format_parse("jsonl"), READER_JSONL);
    assert_int_equal(reader_format_parse("retail"), READER_RETAIL);
    assert_int_equal(reader_format_parse("FLO"), READER_FLO);
    assert_int_equal(reader_format_parse("csv"), -1);
    assert_int_equal(reader_format_parse(NULL), -1);
}

/* ------------------------------------------------------------ real files */

static const char *shared_file(const char *name) {
    static char path[4096];
    const char *dir = getenv("RFM_SHARED");
    if (!dir)
        return NULL;
    snprintf(path, sizeof path, "%s/data/%s", dir, name);
    return path;
}

/* Expected figures computed independently of rfmd, with Python's csv and
 * Decimal over the file:
 *   n += 1; orders += int(Decimal(online) + Decimal(offline))
 *   cents += int((Decimal(value_online) + Decimal(value_offline)) * 100)
 * -> 19945 rows, 100219 orders, 1498356731 cents. */
static void test_real_flo(void **state) {
    (void)state;
    const char *path = shared_file("flo_data_20k.csv");
    if (!path)
        skip();
    sink s = {.totals_only = true};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(read_file(path, READER_FLO, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.lines, 19945);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.orders, 100219);
    assert_int_equal(s.orders, 100219);
    assert_int_equal(s.cents, 1498356731);
    assert_int_equal(sink_distinct_customers(&s), 19945);
    sink_free(&s);
}

/* Expected figures from tests/ref/seed_rfm.py's retail rules re-implemented in
 * a few lines of Python (csv + Decimal; a line quoted whole is split again):
 * orders = invoices with a valid line, cents = Σ invoice totals rounded half
 * up, customers = distinct customers among them (4,338 as SHARED README). */
static void test_real_retail(void **state) {
    (void)state;
    const char *path = shared_file("online_retail_2010_2011.csv.gz");
    if (!path)
        skip();
    sink s = {.totals_only = true};
    reader_stats st;
    char err[512] = "";
    assert_int_equal(read_file(path, READER_RETAIL, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.lines, 541909);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.skipped, 144025);
    assert_int_equal(st.orders, 18532);
    assert_int_equal(s.cents, 891140790);
    assert_int_equal(sink_distinct_customers(&s), 4338);
    sink_free(&s);

    /* The sample: BOM, CRLF, float ids and 119 lines quoted whole. */
    path = shared_file("online_retail_sample.csv");
    s = (sink){.totals_only = true};
    assert_int_equal(read_file(path, READER_RETAIL, false, &s, &st, err, sizeof err), 0);
    assert_int_equal(st.lines, 8373);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.skipped, 2385);
    assert_int_equal(st.orders, 352);
    assert_int_equal(s.cents, 13028178);
    assert_int_equal(sink_distinct_customers(&s), 266);
    sink_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retail_online_retail),
        cmocka_unit_test(test_retail_cancellations_as_refunds),
        cmocka_unit_test(test_retail_ii_names_and_bad_lines),
        cmocka_unit_test(test_retail_only_invalid_lines_is_no_order),
        cmocka_unit_test(test_retail_wrong_header),
        cmocka_unit_test(test_flo_expansion),
        cmocka_unit_test(test_flo_missing_column_and_stop),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_jsonl_custom_fields),
        cmocka_unit_test(test_gzip_and_truncated),
        cmocka_unit_test(test_stdin_and_missing_file),
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_real_flo),
        cmocka_unit_test(test_real_retail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
