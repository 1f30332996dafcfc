/*
 * What reader.c shares with the per-format readers (reader_retail.c,
 * reader_flo.c): the opened input, bad-line reporting, CSV row helpers.
 */
#ifndef RFM_READER_INTERNAL_H
#define RFM_READER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "rfm/reader.h"
#include "rfm/reader_csv.h"
#include "util/strbuf.h"

/* Physical lines longer than this are dropped (and counted bad): no format
 * here has lines anywhere near it, and it bounds memory on garbage input. */
#define READER_LINE_MAX (1024 * 1024)
/* Bad lines reported individually per file; the rest only as a count. */
#define READER_REPORT_MAX 10

typedef struct reader_in {
    const char *name; /* the path, or "<stdin>" */
    gzFile gz;
    char *chunk; /* raw bytes read from gz, chunk_size at a time */
    size_t chunk_size, chunk_len, chunk_pos;
    strbuf line;     /* a line that straddles chunks is assembled here */
    uint64_t lineno; /* physical lines returned so far */
    bool eof;
    bool failed;        /* a read error happened: read_err says which */
    char read_err[256]; /* "<name>: <reason>" */
    uint64_t reported;  /* bad lines printed */
    reader_stats *stats;
    const reader_options *opt;
} reader_in;

/* csv_line_fn over the input: the next physical line with its line break;
 * the UTF-8 BOM at file start removed. */
int reader_in_line(void *in, const char **line, size_t *len);

/* Count a bad line (stats->bad++) and print "name:line: reason" for the first
 * READER_REPORT_MAX of them. */
void reader_bad(reader_in *in, uint64_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A note about the whole file, printed as "name: message". */
void reader_note(reader_in *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A CSV format's header: find its columns in h (the first record) and keep
 * them in st. Returns 0, or -1 with err set ("<name>: not a ... file"). */
typedef int (*reader_csv_header_fn)(void *st, const csv_record *h, char *err, size_t errlen);

/* One data row of the format, read at record line lineno, with exactly as
 * many fields as the header. Returns 0 for the next row, 1 to stop reading
 * (emit asked to), -1 on allocation failure. */
typedef int (*reader_csv_row_fn)(void *st, const csv_record *row, uint64_t lineno);

/* Read a CSV input through a format's two callbacks: the header into
 * header(), then every data row into row(). Malformed rows and rows whose
 * field count differs from the header's are reported bad (stats->lines
 * counts them too) and skipped. A row that is one quoted field holding the
 * whole line (some exports of the UCI files quote every line that contains
 * quotes) is split again from that field. Returns 0 at the end or when row()
 * stopped, or -1 with err set: a read error, an empty input, a malformed
 * header, header() refusing it, or row() out of memory. */
int reader_csv_each(reader_in *in, reader_csv_header_fn header, reader_csv_row_fn row, void *st,
                    char *err, size_t errlen);

/* Whole number in [min, max]: "12", "-3", "12.0", "12.00" (the FLO file writes
 * counts as floats). Returns 0 or -1. */
int reader_parse_whole(csv_field f, int64_t min, int64_t max, int64_t *out);

int reader_retail_read(reader_in *in, reader_emit_fn emit, void *ctx, char *err, size_t errlen);
int reader_flo_read(reader_in *in, reader_emit_fn emit, void *ctx, char *err, size_t errlen);

#endif
