/*
 * reader — opening historical files, cutting them into lines, JSONL, and the
 * pieces the CSV formats share.
 *
 * Every file goes through zlib's gzread: it inflates gzip members and passes
 * anything else through unchanged, so ".gz" needs no special case and a
 * compressed stdin works too. Lines are cut from 1 MiB chunks with memchr and
 * handed out in place; only a line that straddles two chunks is copied. A
 * physical line over READER_LINE_MAX is dropped rather than buffered, which
 * keeps memory bounded whatever the input.
 *
 * Bad lines never stop a file: they are counted, the first few printed as
 * "file:line: reason" (a summary counts the rest), and reading goes on. Only
 * an unreadable file or a header that is not the format's fails the call.
 *
 * JSONL: each non-blank line is one SPEC §2 order event decoded by the same
 * codec the daemon uses, so a replayed file and a Kafka topic accept exactly
 * the same orders. Blank lines count as lines and as skipped.
 */
#include "reader_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/errbuf.h"

/* Large enough that zlib reads plain files straight into the chunk (it copies
 * through its own buffer only for reads smaller than that buffer). */
#define CHUNK_SIZE (1024 * 1024)

int reader_format_parse(const char *name) {
    if (!name)
        return -1;
    if (strcasecmp(name, "jsonl") == 0)
        return READER_JSONL;
    if (strcasecmp(name, "retail") == 0)
        return READER_RETAIL;
    if (strcasecmp(name, "flo") == 0)
        return READER_FLO;
    return -1;
}

/* ------------------------------------------------------------------ input */

static void read_failed(reader_in *in) {
    int errnum = Z_OK;
    const char *msg = gzerror(in->gz, &errnum);
    if (errnum == Z_ERRNO)
        msg = strerror(errno);
    else if (errnum == Z_BUF_ERROR)
        msg = "compressed data ends early (truncated .gz file?)";
    else if (!msg || !*msg)
        msg = "read error";
    snprintf(in->read_err, sizeof in->read_err, "%s: %s", in->name, msg);
    in->failed = true;
}

/* Refill the chunk. Returns 1 (bytes), 0 (end), -1 (error). */
static int refill(reader_in *in) {
    int n = gzread(in->gz, in->chunk, (unsigned)in->chunk_size);
    if (n < 0) {
        read_failed(in);
        return -1;
    }
    if (n == 0) {
        /* A truncated gzip stream reads as a clean end; only gzerror tells. */
        int errnum = Z_OK;
        gzerror(in->gz, &errnum);
        if (errnum != Z_OK && errnum != Z_STREAM_END) {
            read_failed(in);
            return -1;
        }
        in->eof = true;
        return 0;
    }
    in->chunk_len = (size_t)n;
    in->chunk_pos = 0;
    return 1;
}

int reader_in_line(void *vin, const char **line, size_t *len) {
    reader_in *in = vin;
    if (in->failed)
        return -1;
    bool any = false, too_long = false;
    strbuf_reset(&in->line);
    for (;;) {
        if (in->chunk_pos == in->chunk_len) {
            if (in->eof)
                break;
            int rc = refill(in);
            if (rc < 0)
                return -1;
            if (rc == 0)
                break;
        }
        char *start = in->chunk + in->chunk_pos;
        size_t avail = in->chunk_len - in->chunk_pos;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) + 1 : avail;
        in->chunk_pos += take;
        any = true;
        if (nl && in->line.len == 0 && !too_long) {
            *line = start; /* the usual case: the whole line is in the chunk */
            *len = take;
            goto got;
        }
        if (!too_long) {
            if (in->line.len + take > READER_LINE_MAX) {
                too_long = true;
            } else {
                strbuf_put(&in->line, start, take);
                if (in->line.oom) {
                    snprintf(in->read_err, sizeof in->read_err, "%s: out of memory", in->name);
                    in->failed = true;
                    return -1;
                }
            }
        }
        if (nl)
            break;
    }
    if (!any)
        return 0;
    if (too_long) {
        in->lineno++;
        return 2;
    }
    *line = in->line.p;
    *len = in->line.len;
got:
    in->lineno++;
    if (in->lineno == 1 && *len >= 3 && memcmp(*line, "\xEF\xBB\xBF", 3) == 0) {
        *line += 3;
        *len -= 3;
    }
    return 1;
}

static int open_input(reader_in *in, const char *path, char *err, size_t errlen) {
    if (strcmp(path, "-") == 0) {
        in->name = "<stdin>";
        /* gzclose closes the descriptor; stdin itself stays open for others. */
        int fd = dup(STDIN_FILENO);
        if (fd < 0) {
            errbuf_set(err, errlen, "<stdin>: %s", strerror(errno));
            return -1;
        }
        in->gz = gzdopen(fd, "rb");
        if (!in->gz)
            close(fd);
    } else {
        in->name = path;
        errno = 0;
        in->gz = gzopen(path, "rb");
    }
    if (!in->gz) {
        errbuf_set(err, errlen, "%s: %s", in->name, errno ? strerror(errno) : "cannot open");
        return -1;
    }
    gzbuffer(in->gz, 128 * 1024);
    in->chunk_size = in->opt->block_size ? in->opt->block_size : CHUNK_SIZE;
    if (in->chunk_size > INT_MAX)
        in->chunk_size = INT_MAX; /* gzread returns an int */
    in->chunk = malloc(in->chunk_size);
    if (!in->chunk) {
        errbuf_set(err, errlen, "%s: out of memory", in->name);
        return -1;
    }
    return 0;
}

static void close_input(reader_in *in) {
    if (in->gz)
        gzclose(in->gz);
    free(in->chunk);
    strbuf_free(&in->line);
}

/* -------------------------------------------------------------- reporting */

void reader_bad(reader_in *in, uint64_t lineno, const char *fmt, ...) {
    in->stats->bad++;
    if (in->reported >= READER_REPORT_MAX)
        return;
    in->reported++;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s:%llu: %s\n", in->name, (unsigned long long)lineno, msg);
}

void reader_note(reader_in *in, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", in->name, msg);
}

/* ------------------------------------------------------------ CSV helpers */

/* CSV header: the first record. Returns 0, or -1 with err set (read error,
 * empty input, malformed header). */
static int csv_header(reader_in *in, csv_reader *cr, char *err, size_t errlen) {
    char why[256] = "";
    int rc = csv_reader_next(cr, why, sizeof why);
    if (rc == 1)
        return 0;
    if (rc == -2)
        errbuf_set(err, errlen, "%s", in->read_err);
    else if (rc == 0)
        errbuf_set(err, errlen, "%s: empty file, no header line", in->name);
    else
        errbuf_set(err, errlen, "%s:%llu: header: %s", in->name,
                   (unsigned long long)cr->record_line, why);
    return -1;
}

/* Next data row with exactly ncols fields into *row, split again from its one
 * field into *spare when it is a whole quoted line (see reader_csv_each).
 * Returns 1, 0 at the end, -1 on a read error (err set). */
static int csv_row(reader_in *in, csv_reader *cr, size_t ncols, csv_record *spare,
                   const csv_record **row, char *err, size_t errlen) {
    for (;;) {
        char why[256] = "";
        int rc = csv_reader_next(cr, why, sizeof why);
        if (rc == 0)
            return 0;
        if (rc == -2) {
            errbuf_set(err, errlen, "%s", in->read_err);
            return -1;
        }
        in->stats->lines++;
        if (rc == -1) {
            reader_bad(in, cr->record_line, "%s", why);
            continue;
        }
        const csv_record *r = &cr->rec;
        if (r->nfields == 1 && ncols > 1 && memchr(r->fields[0].p, ',', r->fields[0].len) &&
            csv_split(spare, r->fields[0].p, r->fields[0].len, NULL, 0) == CSV_OK &&
            spare->nfields == ncols)
            r = spare;
        if (r->nfields != ncols) {
            reader_bad(in, cr->record_line, "expected %zu fields as in the header, found %zu",
                       ncols, r->nfields);
            continue;
        }
        *row = r;
        return 1;
    }
}

int reader_csv_each(reader_in *in, reader_csv_header_fn header, reader_csv_row_fn row, void *st,
                    char *err, size_t errlen) {
    csv_reader cr;
    csv_reader_init(&cr, reader_in_line, in);
    cr.bytewise = in->opt->csv_bytewise;
    csv_record spare;
    csv_record_init(&spare);
    int ret = -1;
    if (csv_header(in, &cr, err, errlen) < 0 || header(st, &cr.rec, err, errlen) < 0)
        goto out;
    size_t ncols = cr.rec.nfields;
    for (;;) {
        const csv_record *r;
        int rc = csv_row(in, &cr, ncols, &spare, &r, err, errlen);
        if (rc < 0)
            goto out;
        if (rc == 0)
            break;
        rc = row(st, r, cr.record_line);
        if (rc < 0) {
            errbuf_set(err, errlen, "%s: out of memory", in->name);
            goto out;
        }
        if (rc > 0)
            break;
    }
    ret = 0;
out:
    csv_record_free(&spare);
    csv_reader_free(&cr);
    return ret;
}

int reader_parse_whole(csv_field f, int64_t min, int64_t max, int64_t *out) {
    f = csv_trim(f);
    size_t i = 0;
    bool neg = false;
    if (i < f.len && (f.p[i] == '-' || f.p[i] == '+'))
        neg = f.p[i++] == '-';
    if (i == f.len || f.p[i] < '0' || f.p[i] > '9')
        return -1;
    int64_t v = 0;
    for (; i < f.len && f.p[i] >= '0' && f.p[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (f.p[i] - '0');
    }
    if (i < f.len && f.p[i] == '.') {
        for (i++; i < f.len && f.p[i] == '0'; i++)
            ;
    }
    if (i != f.len)
        return -1;
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ JSONL */

static int is_blank(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t')
            return 0;
    return 1;
}

static int read_jsonl(reader_in *in, reader_emit_fn emit, void *ctx, char *err, size_t errlen) {
    event_fields defaults;
    const event_fields *fields = in->opt->fields;
    if (!fields) {
        event_fields_default(&defaults);
        fields = &defaults;
    }
    event_decoded dec;
    memset(&dec, 0, sizeof dec);
    int ret = 0;
    for (;;) {
        const char *line;
        size_t len;
        int rc = reader_in_line(in, &line, &len);
        if (rc == 0)
            break;
        if (rc < 0) {
            errbuf_set(err, errlen, "%s", in->read_err);
            ret = -1;
            break;
        }
        in->stats->lines++;
        if (rc == 2) {
            reader_bad(in, in->lineno, "line longer than %d bytes", READER_LINE_MAX);
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (is_blank(line, len)) {
            in->stats->skipped++;
            continue;
        }
        char why[256] = "";
        event_reject rej = event_decode(fields, line, len, EVENT_MAX_BYTES, &dec, why, sizeof why);
        if (rej != EVENT_OK) {
            reader_bad(in, in->lineno, "%s: %s", event_reject_name(rej), why);
            continue;
        }
        in->stats->orders++;
        if (emit(ctx, &dec.o))
            break;
    }
    event_decoded_free(&dec);
    return ret;
}

/* ------------------------------------------------------------------ entry */

int reader_read_file(const char *path, const reader_options *opt, reader_emit_fn emit, void *ctx,
                     reader_stats *stats, char *err, size_t errlen) {
    reader_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!path || !opt || !emit) {
        errbuf_set(err, errlen, "reader: missing path, options or callback");
        return -1;
    }
    reader_in in;
    memset(&in, 0, sizeof in);
    in.stats = stats;
    in.opt = opt;
    if (open_input(&in, path, err, errlen) < 0) {
        close_input(&in);
        return -1;
    }
    int rc;
    switch (opt->format) {
    case READER_JSONL:
        rc = read_jsonl(&in, emit, ctx, err, errlen);
        break;
    case READER_RETAIL:
        rc = reader_retail_read(&in, emit, ctx, err, errlen);
        break;
    case READER_FLO:
        rc = reader_flo_read(&in, emit, ctx, err, errlen);
        break;
    default:
        errbuf_set(err, errlen, "reader: unknown format %d", (int)opt->format);
        rc = -1;
    }
    if (stats->bad > in.reported)
        reader_note(&in, "%llu more bad lines not reported one by one",
                    (unsigned long long)(stats->bad - in.reported));
    close_input(&in);
    return rc;
}
