/*
 * reader_csv — the RFC 4180 record splitter behind the CSV readers.
 *
 * Fields are separated by commas; a field that starts with '"' is quoted and
 * may hold commas, line breaks and doubled quotes ("" = one quote). Records
 * end at LF or CRLF outside quotes. Lenient where real exports are sloppy: a
 * quote inside an unquoted field is kept literally, a lone CR is data. Strict
 * where guessing would corrupt data: text after a closing quote is an error.
 *
 * Two layers: csv_record_feed() splits text fed to it piece by piece (a record
 * can span lines), csv_reader pulls physical lines from a callback, skips the
 * UTF-8 BOM at input start and blank lines, and reports where records start.
 */
#ifndef RFM_READER_CSV_H
#define RFM_READER_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A record larger than this (unescaped) is an error: an unmatched quote would
 * otherwise swallow the rest of the input. */
#define CSV_RECORD_MAX (1024 * 1024)

typedef struct csv_field {
    const char *p; /* NUL-terminated; valid until the record is reset or fed */
    size_t len;
} csv_field;

typedef enum csv_status {
    CSV_OK = 0,         /* record complete: fields are valid */
    CSV_INCOMPLETE = 1, /* the text ends inside a quoted field: feed more */
    CSV_BAD = -1,       /* malformed; the record must be reset */
} csv_status;

typedef struct csv_record {
    csv_field *fields;
    size_t nfields;
    /* private */
    char *buf; /* unescaped fields, each NUL-terminated */
    size_t buf_len, buf_cap;
    size_t *starts; /* field start offsets in buf (buf may move while feeding) */
    size_t fields_cap;
    int state;
} csv_record;

void csv_record_init(csv_record *r);
void csv_record_free(csv_record *r);
/* Forget the current record; the next feed starts a new one. */
void csv_record_reset(csv_record *r);

/* Continue the current record with len more bytes, a whole line at a time. A
 * line break outside quotes ends the record and must be the last byte(s) fed;
 * without one, the end of the text ends the record unless a quoted field is
 * open. After CSV_OK or CSV_BAD the next feed starts a new record. On CSV_BAD,
 * err says why (with the 1-based field number). */
csv_status csv_record_feed(csv_record *r, const char *text, size_t len, char *err, size_t errlen);

/* csv_record_reset + csv_record_feed. */
csv_status csv_split(csv_record *r, const char *text, size_t len, char *err, size_t errlen);

/* Source of physical lines: 1 = a line in *line, *len (with its line break, if
 * any), 0 = end of input, -1 = read error, 2 = a line too long to keep
 * (dropped). */
typedef int (*csv_line_fn)(void *ctx, const char **line, size_t *len);

typedef struct csv_reader {
    csv_record rec;
    uint64_t line;        /* physical lines consumed */
    uint64_t record_line; /* first physical line of the last record (or error) */
    /* false (csv_reader_init's default): a line without a quote is split with
     * memchr; true: every byte goes through the state machine. Both give the
     * same records; true is there so tests can compare the two. */
    bool bytewise;
    /* private */
    csv_line_fn next_line;
    void *ctx;
} csv_reader;

void csv_reader_init(csv_reader *r, csv_line_fn next_line, void *ctx);
void csv_reader_free(csv_reader *r);

/* Next record into r->rec. Returns 1 (record), 0 (end of input), -1 (a bad
 * record, skipped: err says why, r->record_line where; call again to go on),
 * -2 (the line source failed). */
int csv_reader_next(csv_reader *r, char *err, size_t errlen);

/* Index of the first field equal to one of names (NULL-terminated list),
 * ignoring ASCII case and surrounding blanks; -1 when none. */
int csv_find_column(const csv_record *header, const char *const *names);

/* Field with surrounding spaces and tabs removed. */
csv_field csv_trim(csv_field f);

#endif
