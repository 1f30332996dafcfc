/*
 * The fast CSV path (memchr splitting of quote-free lines, 1 MiB blocks)
 * against the byte-at-a-time path it replaces, which stays in the code as
 * reader_options.csv_bytewise / csv_reader.bytewise: both must give the same
 * records, the same orders in the same order and the same counts.
 *
 * Orders are compared rather than rfmctl's table because the table is a
 * function of the order sequence (rfmctl feeds each order to order_apply in
 * emission order): equal sequences give equal tables byte for byte, and a
 * difference is caught at the order that differs, not three steps later.
 *
 * Inputs: the real files in shared/data (FLO, both Online Retail files), and
 * generated adversarial ones — quoted commas, doubled quotes and line breaks
 * inside quotes, CRLF, lone CRs, a quote inside an unquoted field, whole-line
 * quoted rows, bad rows, blank lines, a BOM, no final newline — read with
 * blocks of 1, 2, 3, 7, 64 and 1000 bytes so that lines and invoices fall
 * across every kind of block boundary. A record-level test feeds random text
 * over a tiny alphabet through csv_reader both ways.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfm/reader.h"
#include "rfm/reader_csv.h"
#include "test_rng.h"

/* ---- orders, digested in emission order ---- */

typedef struct digest {
    uint64_t h, n;
} digest;

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* reader_emit_fn: every field of the order, lengths included, into the hash. */
static int take(void *ctx, const order *o) {
    digest *d = ctx;
    d->h = mix(d->h, &o->customer_id.len, sizeof o->customer_id.len);
    d->h = mix(d->h, o->customer_id.p, o->customer_id.len);
    d->h = mix(d->h, &o->order_id.len, sizeof o->order_id.len);
    d->h = mix(d->h, o->order_id.p, o->order_id.len);
    d->h = mix(d->h, &o->ts, sizeof o->ts);
    d->h = mix(d->h, &o->amount_cents, sizeof o->amount_cents);
    d->n++;
    return 0;
}

typedef struct result {
    int rc;
    digest d;
    reader_stats st;
} result;

static result read_with(const char *path, reader_format fmt, bool bytewise, size_t block) {
    reader_options opt = {.format = fmt, .block_size = block, .csv_bytewise = bytewise};
    result r = {.d = {0xcbf29ce484222325ULL, 0}};
    char err[512] = "";
    r.rc = reader_read_file(path, &opt, take, &r.d, &r.st, err, sizeof err);
    return r;
}

/* The fast path at each block size gives what the byte loop gives. */
static void same_both_ways(const char *path, reader_format fmt, const size_t *blocks,
                           size_t nblocks, uint64_t min_orders) {
    result ref = read_with(path, fmt, true, 0);
    assert_int_equal(ref.rc, 0);
    assert_true(ref.d.n >= min_orders); /* the file was really read */
    for (size_t i = 0; i < nblocks; i++) {
        result r = read_with(path, fmt, false, blocks[i]);
        if (r.rc != ref.rc || r.d.n != ref.d.n || r.d.h != ref.d.h ||
            memcmp(&r.st, &ref.st, sizeof r.st) != 0)
            fail_msg("%s, block %zu: %llu orders (hash %llx), %llu lines %llu skipped %llu bad; "
                     "byte loop: %llu (hash %llx), %llu lines %llu skipped %llu bad",
                     path, blocks[i], (unsigned long long)r.d.n, (unsigned long long)r.d.h,
                     (unsigned long long)r.st.lines, (unsigned long long)r.st.skipped,
                     (unsigned long long)r.st.bad, (unsigned long long)ref.d.n,
                     (unsigned long long)ref.d.h, (unsigned long long)ref.st.lines,
                     (unsigned long long)ref.st.skipped, (unsigned long long)ref.st.bad);
    }
}

/* ---- the real files ---- */

static char *shared(const char *rel) {
    const char *dir = getenv("RFM_SHARED");
    if (!dir)
        fail_msg("RFM_SHARED is not set (ctest sets it)");
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static void test_real_files(void **state) {
    (void)state;
    static const size_t blocks[] = {0, 4093};
    static const struct {
        const char *rel;
        reader_format fmt;
        uint64_t min_orders;
    } files[] = {
        {"data/flo_data_20k.csv", READER_FLO, 19000},
        {"data/online_retail_2010_2011.csv.gz", READER_RETAIL, 18000},
        {"data/online_retail_ii_2009_2010.csv.gz", READER_RETAIL, 19000},
        {"data/online_retail_sample.csv", READER_RETAIL, 100},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = shared(files[i].rel);
        same_both_ways(p, files[i].fmt, blocks, 2, files[i].min_orders);
        free(p);
    }
}

/* ---- adversarial retail files ---- */

static const char *const HEADER =
    "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Country,Customer ID";

/* One data line of invoice inv in one of the shapes real exports (or broken
 * ones) have, ending in eol. Customer ID is the last column, so that a line
 * break handled wrongly changes the customer and so the orders. */
static void put_line(FILE *f, unsigned inv, const char *eol) {
    unsigned cust = 12000 + (unsigned)(rnd() % 40);
    unsigned qty = 1 + (unsigned)(rnd() % 30);
    switch (rnd() % 12) {
    case 0: /* a quoted comma */
        fprintf(f, "%u,85123A,\"HEART , HOLDER\",%u,2010-12-01 08:26:00,2.55,UK,%u%s", inv, qty,
                cust, eol);
        break;
    case 1: /* a doubled quote */
        fprintf(f, "%u,22041,\"RECORD 7\"\" SIZE \",%u,2010-12-01 08:26:00,2.1,UK,%u%s", inv, qty,
                cust, eol);
        break;
    case 2: /* a line break inside quotes, LF or CRLF */
        fprintf(f, "%u,22041,\"TWO%sLINES\",%u,2010-12-01 08:26:00,1.5,UK,%u%s", inv,
                rnd() % 2 ? "\n" : "\r\n", qty, cust, eol);
        break;
    case 3: /* a quote inside an unquoted field: kept literally */
        fprintf(f, "%u,22041,RECORD 7\" SIZE,%u,12/1/2010 8:26,2.1,UK,%u%s", inv, qty, cust, eol);
        break;
    case 4: /* a lone CR inside a field: data */
        fprintf(f, "%u,22041,CR\rHERE,%u,2010-12-01 08:26:00,2.1,UK,%u%s", inv, qty, cust, eol);
        break;
    case 5: /* the whole line quoted, as some UCI exports do */
        fprintf(f, "\"%u,82567,\"\"A,B\"\",%u,2010-12-01 08:26,1.25,UK,%u\"%s", inv, qty, cust,
                eol);
        break;
    case 6: /* bad: too few fields */
        fprintf(f, "%u,22041,SHORT,%u%s", inv, qty, eol);
        break;
    case 7: /* bad: text after a closing quote */
        fprintf(f, "%u,22041,\"X\"Y,%u,2010-12-01 08:26:00,2.1,UK,%u%s", inv, qty, cust, eol);
        break;
    case 8: /* no customer; a cancellation */
        fprintf(f, "%s%u,22041,PLAIN,%u,2010-12-01 08:26:00,2.1,UK,%s%s", rnd() % 2 ? "C" : "", inv,
                qty, rnd() % 2 ? "" : "12001", eol);
        break;
    case 9: /* a blank line, then a plain one */
        fprintf(f, "%s%u,22041,PLAIN,%u,2010-12-02 09:00,0.85,UK,%u.0%s", eol, inv, qty, cust, eol);
        break;
    default: /* plain, with blanks around fields */
        fprintf(f, "%u,22041, PLAIN ,%u, 2010-12-0%u 10:00:00 ,3.75 ,UK, %u %s", inv, qty,
                1 + (unsigned)(rnd() % 9), cust, eol);
    }
}

static void write_adversarial(const char *path, uint64_t seed, int end) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    rng_state = seed;
    fprintf(f, "%s%s\n", seed % 2 ? "\xEF\xBB\xBF" : "", HEADER);
    unsigned inv = 536365;
    for (int i = 0; i < 400; i++) {
        const char *eol = rnd() % 3 ? "\n" : "\r\n";
        put_line(f, inv, eol);
        if (rnd() % 4 == 0)
            inv++; /* invoices of several lines, some far apart */
        if (rnd() % 17 == 0)
            inv -= 2;
    }
    /* The last line: no line break, a lone CR, an unclosed quote or CRLF. */
    static const char *const last[] = {
        "536999,1,PLAIN,2,2011-01-01 10:00:00,1.0,UK,12009",
        "536999,1,PLAIN,2,2011-01-01 10:00:00,1.0,UK,12009\r",
        "536999,1,\"OPEN,2,2011-01-01 10:00:00,1.0,UK,12009\n",
        "536999,1,PLAIN,2,2011-01-01 10:00:00,1.0,UK,12009\r\n",
    };
    fputs(last[end % 4], f);
    assert_int_equal(fclose(f), 0);
}

static void test_adversarial_files(void **state) {
    (void)state;
    static const size_t blocks[] = {0, 1, 2, 3, 7, 64, 1000};
    char path[] = "/tmp/rfm-scan-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (uint64_t seed = 1; seed <= 24; seed++) {
        write_adversarial(path, seed, (int)seed);
        same_both_ways(path, READER_RETAIL, blocks, sizeof blocks / sizeof blocks[0], 10);
    }
    /* FLO with CRLF lines and no final line break. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("master_id,order_channel,last_order_channel,first_order_date,last_order_date,"
          "last_order_date_online,last_order_date_offline,order_num_total_ever_online,"
          "order_num_total_ever_offline,customer_value_total_ever_offline,"
          "customer_value_total_ever_online,interested_in_categories_12\r\n",
          f);
    for (int i = 0; i < 50; i++)
        fprintf(f,
                "id-%02d,Android App,Offline,2020-01-%02d,2021-02-%02d,2021-02-01,2020-01-01,"
                "%d.0,1.0,139.99,%d.50,\"[KADIN, AKTIFSPOR]\"%s",
                i, 1 + i % 28, 1 + i % 28, i % 5, i * 3, i == 49 ? "" : "\r\n");
    assert_int_equal(fclose(f), 0);
    same_both_ways(path, READER_FLO, blocks, sizeof blocks / sizeof blocks[0], 40);
    unlink(path);
}

/* ---- records: random text both ways ---- */

typedef struct lines {
    const char *p;
    size_t len, pos;
} lines;

/* csv_line_fn: LF-terminated pieces of the text, the last one as it is. */
static int next_line(void *ctx, const char **line, size_t *len) {
    lines *l = ctx;
    if (l->pos == l->len)
        return 0;
    const char *s = l->p + l->pos;
    const char *nl = memchr(s, '\n', l->len - l->pos);
    size_t n = nl ? (size_t)(nl - s) + 1 : l->len - l->pos;
    l->pos += n;
    *line = s;
    *len = n;
    return 1;
}

static void test_records_random(void **state) {
    (void)state;
    static const char alphabet[] = "a,,\"\r\n b";
    rng_state = 16;
    char text[96];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rnd() % sizeof text);
        for (size_t i = 0; i < n; i++)
            text[i] = alphabet[rnd() % (sizeof alphabet - 1)];
        lines la = {text, n, 0}, lb = {text, n, 0};
        csv_reader a, b;
        csv_reader_init(&a, next_line, &la);
        csv_reader_init(&b, next_line, &lb);
        b.bytewise = true;
        for (;;) {
            int ra = csv_reader_next(&a, NULL, 0), rb = csv_reader_next(&b, NULL, 0);
            if (ra != rb)
                fail_msg("round %d: %d vs %d on \"%.*s\"", round, ra, rb, (int)n, text);
            assert_int_equal(a.record_line, b.record_line);
            if (ra == 1) {
                assert_int_equal(a.rec.nfields, b.rec.nfields);
                for (size_t i = 0; i < a.rec.nfields; i++) {
                    assert_int_equal(a.rec.fields[i].len, b.rec.fields[i].len);
                    assert_memory_equal(a.rec.fields[i].p, b.rec.fields[i].p,
                                        a.rec.fields[i].len + 1); /* with its NUL */
                }
            }
            if (ra == 0 || ra == -2)
                break;
        }
        csv_reader_free(&a);
        csv_reader_free(&b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_random),
        cmocka_unit_test(test_adversarial_files),
        cmocka_unit_test(test_real_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
