/*
 * reader_csv — RFC 4180 splitting as a byte-at-a-time state machine.
 *
 * The machine's state survives between feeds, so a record whose quoted field
 * spans lines costs one pass over its bytes however many lines it has (re-
 * splitting the growing text from the start would be quadratic). A line
 * without any quote, the common case, skips the machine: split_plain copies it
 * once and cuts it at the commas with memchr, giving the same fields. Unescaped
 * fields go into one buffer, NUL-terminated; since that buffer may move while
 * a record grows, fields are remembered as offsets and turned into pointers
 * only when the record is complete. Each input byte yields at most one output
 * byte (a separator becomes the field's NUL), so reserving len + 1 bytes per
 * feed is enough and the inner loop never checks capacity.
 */
#include "rfm/reader_csv.h"

#include "util/errbuf.h"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    ST_START,    /* at the first byte of a field */
    ST_UNQUOTED, /* inside an unquoted field */
    ST_QUOTED,   /* inside a quoted field */
    ST_QUOTE,    /* just after a quote inside a quoted field: "" or the end */
    ST_DONE,     /* record complete or abandoned; next feed starts afresh */
};

void csv_record_init(csv_record *r) {
    memset(r, 0, sizeof *r);
    r->state = ST_DONE;
}

void csv_record_free(csv_record *r) {
    free(r->fields);
    free(r->starts);
    free(r->buf);
    csv_record_init(r);
}

/* Start field number r->nfields at the current end of buf. */
static int open_field(csv_record *r) {
    if (r->nfields == r->fields_cap) {
        size_t cap = r->fields_cap ? 2 * r->fields_cap : 16;
        csv_field *f = realloc(r->fields, cap * sizeof *f);
        if (!f)
            return -1;
        r->fields = f;
        size_t *s = realloc(r->starts, cap * sizeof *s);
        if (!s)
            return -1;
        r->starts = s;
        r->fields_cap = cap;
    }
    r->starts[r->nfields] = r->buf_len;
    r->fields[r->nfields].p = NULL;
    r->fields[r->nfields].len = 0;
    r->nfields++;
    return 0;
}

static void close_field(csv_record *r) {
    size_t i = r->nfields - 1;
    r->fields[i].len = r->buf_len - r->starts[i];
    r->buf[r->buf_len++] = '\0';
}

void csv_record_reset(csv_record *r) {
    r->nfields = 0;
    r->buf_len = 0;
    r->state = ST_START;
}

static csv_status finish(csv_record *r) {
    close_field(r);
    for (size_t i = 0; i < r->nfields; i++)
        r->fields[i].p = r->buf + r->starts[i];
    r->state = ST_DONE;
    return CSV_OK;
}

static csv_status fail(csv_record *r) {
    r->state = ST_DONE;
    r->nfields = 0;
    return CSV_BAD;
}

/* A line break at text[i]: LF, or CR followed by LF or by the end. */
static int line_break_len(const char *text, size_t len, size_t i) {
    if (text[i] == '\n')
        return 1;
    if (text[i] == '\r') {
        if (i + 1 == len)
            return 1;
        if (text[i + 1] == '\n')
            return 2;
    }
    return 0;
}

csv_status csv_record_feed(csv_record *r, const char *text, size_t len, char *err, size_t errlen) {
    if (r->state == ST_DONE)
        csv_record_reset(r);
    if (r->nfields == 0 && open_field(r) < 0) {
        errbuf_set(err, errlen, "out of memory");
        return fail(r);
    }
    if (len > CSV_RECORD_MAX || r->buf_len + len > CSV_RECORD_MAX) {
        errbuf_set(err, errlen, "record longer than %d bytes (an unmatched quote?)",
                   CSV_RECORD_MAX);
        return fail(r);
    }
    if (r->buf_len + len + 1 > r->buf_cap) {
        size_t cap = r->buf_cap ? r->buf_cap : 256;
        while (cap < r->buf_len + len + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b) {
            errbuf_set(err, errlen, "out of memory");
            return fail(r);
        }
        r->buf = b;
        r->buf_cap = cap;
    }
    int st = r->state;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        int lb;
        switch (st) {
        case ST_START:
            if (c == '"') {
                st = ST_QUOTED;
                break;
            }
            st = ST_UNQUOTED;
            __attribute__((fallthrough));
        case ST_UNQUOTED:
        case ST_QUOTE:
            if (st == ST_QUOTE && c == '"') {
                r->buf[r->buf_len++] = '"';
                st = ST_QUOTED;
            } else if (c == ',') {
                close_field(r);
                if (open_field(r) < 0) {
                    errbuf_set(err, errlen, "out of memory");
                    return fail(r);
                }
                st = ST_START;
            } else if ((lb = line_break_len(text, len, i)) > 0) {
                if (i + (size_t)lb != len) {
                    errbuf_set(err, errlen, "field %zu: line break in the middle of the text",
                               r->nfields);
                    return fail(r);
                }
                return finish(r);
            } else if (st == ST_QUOTE) {
                errbuf_set(err, errlen, "field %zu: unexpected '%c' after a closing quote",
                           r->nfields, c >= ' ' && c < 127 ? c : '?');
                return fail(r);
            } else {
                r->buf[r->buf_len++] = c;
            }
            break;
        case ST_QUOTED:
            if (c == '"')
                st = ST_QUOTE;
            else
                r->buf[r->buf_len++] = c;
            break;
        }
    }
    if (st == ST_QUOTED) {
        r->state = st;
        return CSV_INCOMPLETE;
    }
    return finish(r);
}

/* The record of one physical line that holds no quote: what csv_record_feed
 * gives for it, found with memchr instead of the byte loop. The line break
 * rules are the same: LF or CRLF at the end, or a CR ending the text, closes
 * the record; a CR anywhere else is data. Returns CSV_OK, or CSV_INCOMPLETE
 * when the line is not for this path (an LF before its end, over
 * CSV_RECORD_MAX, out of memory): the caller then feeds it the slow way,
 * which reports those cases as it always did. */
static csv_status split_plain(csv_record *r, const char *text, size_t len) {
    size_t n = len;
    if (n && text[n - 1] == '\n')
        n--;
    if (n && text[n - 1] == '\r')
        n--; /* CRLF, or a CR at the very end of the text */
    if (n > CSV_RECORD_MAX || memchr(text, '\n', n))
        return CSV_INCOMPLETE;
    if (n + 1 > r->buf_cap) {
        size_t cap = r->buf_cap ? r->buf_cap : 256;
        while (cap < n + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            return CSV_INCOMPLETE;
        r->buf = b;
        r->buf_cap = cap;
    }
    csv_record_reset(r);
    memcpy(r->buf, text, n);
    r->buf[n] = '\0';
    char *p = r->buf, *end = r->buf + n;
    for (;;) {
        if (open_field(r) < 0)
            return CSV_INCOMPLETE;
        char *comma = memchr(p, ',', (size_t)(end - p));
        if (!comma)
            break;
        *comma = '\0';
        r->fields[r->nfields - 1].len = (size_t)(comma - p);
        p = comma + 1;
        r->buf_len = (size_t)(p - r->buf);
    }
    r->fields[r->nfields - 1].len = (size_t)(end - p);
    r->buf_len = n + 1;
    for (size_t i = 0; i < r->nfields; i++)
        r->fields[i].p = r->buf + r->starts[i];
    r->state = ST_DONE;
    return CSV_OK;
}

csv_status csv_split(csv_record *r, const char *text, size_t len, char *err, size_t errlen) {
    csv_record_reset(r);
    return csv_record_feed(r, text, len, err, errlen);
}

void csv_reader_init(csv_reader *r, csv_line_fn next_line, void *ctx) {
    memset(r, 0, sizeof *r);
    csv_record_init(&r->rec);
    r->next_line = next_line;
    r->ctx = ctx;
}

void csv_reader_free(csv_reader *r) {
    csv_record_free(&r->rec);
}

static int blank(const char *line, size_t len) {
    return len == 0 || (len == 1 && line[0] == '\n') ||
           (len == 2 && line[0] == '\r' && line[1] == '\n');
}

int csv_reader_next(csv_reader *r, char *err, size_t errlen) {
    int in_record = 0;
    for (;;) {
        const char *line;
        size_t len;
        int rc = r->next_line(r->ctx, &line, &len);
        if (rc < 0) {
            errbuf_set(err, errlen, "read error");
            return -2;
        }
        if (rc == 0) {
            if (!in_record)
                return 0;
            r->rec.state = ST_DONE;
            r->rec.nfields = 0;
            errbuf_set(err, errlen, "quoted field not closed before the end of the input");
            return -1;
        }
        r->line++;
        if (rc == 2) {
            if (!in_record)
                r->record_line = r->line;
            r->rec.state = ST_DONE;
            r->rec.nfields = 0;
            errbuf_set(err, errlen, "line %llu is too long", (unsigned long long)r->line);
            return -1;
        }
        if (!in_record) {
            /* Excel and the UCI files start with a UTF-8 byte order mark. */
            if (r->line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
                line += 3;
                len -= 3;
            }
            if (blank(line, len))
                continue;
            r->record_line = r->line;
            /* Most lines have no quote: split those with memchr. */
            if (!r->bytewise && !memchr(line, '"', len) &&
                split_plain(&r->rec, line, len) == CSV_OK)
                return 1;
            csv_record_reset(&r->rec);
        }
        csv_status st = csv_record_feed(&r->rec, line, len, err, errlen);
        if (st == CSV_OK)
            return 1;
        if (st == CSV_BAD)
            return -1;
        in_record = 1;
    }
}

csv_field csv_trim(csv_field f) {
    while (f.len && (f.p[0] == ' ' || f.p[0] == '\t')) {
        f.p++;
        f.len--;
    }
    while (f.len && (f.p[f.len - 1] == ' ' || f.p[f.len - 1] == '\t'))
        f.len--;
    return f;
}

int csv_find_column(const csv_record *header, const char *const *names) {
    for (size_t i = 0; i < header->nfields; i++) {
        csv_field f = csv_trim(header->fields[i]);
        for (const char *const *n = names; *n; n++)
            if (strlen(*n) == f.len && strncasecmp(*n, f.p, f.len) == 0)
                return i > (size_t)INT_MAX ? -1 : (int)i;
    }
    return -1;
}
