/*
 * reader_csv (src/codec/reader_csv.c): the RFC 4180 splitter the readers
 * share — plain and empty fields, quotes, newlines inside quotes, the record
 * size limit, a BOM, blank lines, records over several lines, and finding a
 * column by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/reader_csv.h"

static void test_csv_plain_and_empty_fields(void **state) {
    (void)state;
    csv_record r;
    csv_record_init(&r);
    assert_int_equal(csv_split(&r, "a,b,c\n", 6, NULL, 0), CSV_OK);
    assert_int_equal(r.nfields, 3);
    assert_string_equal(r.fields[0].p, "a");
    assert_string_equal(r.fields[2].p, "c");
    assert_int_equal(r.fields[2].len, 1);

    assert_int_equal(csv_split(&r, ",,\r\n", 4, NULL, 0), CSV_OK);
    assert_int_equal(r.nfields, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r.fields[i].len, 0);

    assert_int_equal(csv_split(&r, "", 0, NULL, 0), CSV_OK);
    assert_int_equal(r.nfields, 1);
    assert_int_equal(r.fields[0].len, 0);

    assert_int_equal(csv_split(&r, "x,\"\"", 4, NULL, 0), CSV_OK);
    assert_int_equal(r.nfields, 2);
    assert_string_equal(r.fields[0].p, "x");
    assert_int_equal(r.fields[1].len, 0);
    csv_record_free(&r);
}

static void test_csv_quotes(void **state) {
    (void)state;
    csv_record r;
    csv_record_init(&r);
    const char *t = "\"x,y\",\"say \"\"hi\"\"\",z,\"\"\"\"\r\n";
    assert_int_equal(csv_split(&r, t, strlen(t), NULL, 0), CSV_OK);
    assert_int_equal(r.nfields, 4);
    assert_string_equal(r.fields[0].p, "x,y");
    assert_string_equal(r.fields[1].p, "say \"hi\"");
    assert_int_equal(r.fields[1].len, 8);
    assert_string_equal(r.fields[2].p, "z"); /* CRLF is not part of the field */
    assert_string_equal(r.fields[3].p, "\"");

    /* A quote inside an unquoted field is data (lenient, like pandas). */
    assert_int_equal(csv_split(&r, "ab\"c,d\n", 7, NULL, 0), CSV_OK);
    assert_string_equal(r.fields[0].p, "ab\"c");

    /* Text after a closing quote is malformed; the field is named. */
    char err[128] = "";
    assert_int_equal(csv_split(&r, "a,\"bc\"d,e\n", 10, err, sizeof err), CSV_BAD);
    assert_non_null(strstr(err, "field 2"));
    csv_record_free(&r);
}

static void test_csv_newline_in_quotes(void **state) {
    (void)state;
    csv_record r;
    csv_record_init(&r);
    char err[128];
    csv_record_reset(&r);
    assert_int_equal(csv_record_feed(&r, "1,\"two\r\n", 8, err, sizeof err), CSV_INCOMPLETE);
    assert_int_equal(csv_record_feed(&r, "lines, really\n", 14, err, sizeof err), CSV_INCOMPLETE);
    assert_int_equal(csv_record_feed(&r, "\",3\r\n", 5, err, sizeof err), CSV_OK);
    assert_int_equal(r.nfields, 3);
    assert_string_equal(r.fields[0].p, "1");
    assert_string_equal(r.fields[1].p, "two\r\nlines, really\n"); /* kept verbatim */
    assert_string_equal(r.fields[2].p, "3");
    /* The next feed starts a new record. */
    assert_int_equal(csv_record_feed(&r, "q\n", 2, err, sizeof err), CSV_OK);
    assert_int_equal(r.nfields, 1);
    assert_string_equal(r.fields[0].p, "q");
    csv_record_free(&r);
}

static void test_csv_record_too_long(void **state) {
    (void)state;
    size_t n = CSV_RECORD_MAX + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    csv_record r;
    csv_record_init(&r);
    char err[128] = "";
    assert_int_equal(csv_split(&r, big, n, err, sizeof err), CSV_BAD);
    assert_non_null(strstr(err, "longer"));
    /* Usable afterwards. */
    assert_int_equal(csv_split(&r, "ok\n", 3, err, sizeof err), CSV_OK);
    assert_string_equal(r.fields[0].p, "ok");
    csv_record_free(&r);
    free(big);
}

typedef struct memsrc {
    const char *text;
    size_t pos, len;
} memsrc;

static int mem_line(void *ctx, const char **line, size_t *len) {
    memsrc *m = ctx;
    if (m->pos == m->len)
        return 0;
    const char *p = m->text + m->pos;
    const char *nl = memchr(p, '\n', m->len - m->pos);
    size_t n = nl ? (size_t)(nl - p) + 1 : m->len - m->pos;
    *line = p;
    *len = n;
    m->pos += n;
    return 1;
}

static void test_csv_reader_bom_blank_multiline(void **state) {
    (void)state;
    const char *t = "\xEF\xBB\xBF"
                    "id,text\r\n"  /* 1 */
                    "\r\n"         /* 2: blank */
                    "1,\"a\r\n"    /* 3 */
                    "b\"\r\n"      /* 4 */
                    "2,\"x\"y\r\n" /* 5: bad */
                    "3,last\r\n"   /* 6 */
                    "\n"           /* 7: blank */
                    "4,\"open";    /* 8: never closed */
    memsrc m = {t, 0, strlen(t)};
    csv_reader cr;
    csv_reader_init(&cr, mem_line, &m);
    char err[128];
    assert_int_equal(csv_reader_next(&cr, err, sizeof err), 1);
    assert_int_equal(cr.record_line, 1);
    assert_string_equal(cr.rec.fields[0].p, "id"); /* no BOM */
    assert_int_equal(csv_reader_next(&cr, err, sizeof err), 1);
    assert_int_equal(cr.record_line, 3);
    assert_string_equal(cr.rec.fields[1].p, "a\r\nb");
    assert_int_equal(csv_reader_next(&cr, err, sizeof err), -1);
    assert_int_equal(cr.record_line, 5);
    assert_int_equal(csv_reader_next(&cr, err, sizeof err), 1);
    assert_int_equal(cr.record_line, 6);
    assert_string_equal(cr.rec.fields[1].p, "last");
    assert_int_equal(csv_reader_next(&cr, err, sizeof err), -1);
    assert_int_equal(cr.record_line, 8);
    assert_non_null(strstr(err, "not closed"));
    assert_int_equal(csv_reader_next(&cr, err, sizeof err), 0);
    csv_reader_free(&cr);
}

static void test_csv_find_column(void **state) {
    (void)state;
    csv_record r;
    csv_record_init(&r);
    const char *h = "Invoice, customer id ,Price\n";
    assert_int_equal(csv_split(&r, h, strlen(h), NULL, 0), CSV_OK);
    static const char *const cust[] = {"CustomerID", "Customer ID", NULL};
    static const char *const price[] = {"UnitPrice", "Price", NULL};
    static const char *const none[] = {"Quantity", NULL};
    assert_int_equal(csv_find_column(&r, cust), 1);
    assert_int_equal(csv_find_column(&r, price), 2);
    assert_int_equal(csv_find_column(&r, none), -1);
    csv_record_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_plain_and_empty_fields),
        cmocka_unit_test(test_csv_quotes),
        cmocka_unit_test(test_csv_newline_in_quotes),
        cmocka_unit_test(test_csv_record_too_long),
        cmocka_unit_test(test_csv_reader_bom_blank_multiline),
        cmocka_unit_test(test_csv_find_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
