/*
 * reader — historical order files (SPEC §5) turned into `order`s: JSONL order
 * events, Online Retail / Online Retail II CSV, the FLO customer CSV. Shared by
 * rfmctl and rfm-replay. Gzip-compressed input (".gz") is read transparently.
 */
#ifndef RFM_READER_H
#define RFM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/event.h"
#include "rfm/order.h"

typedef enum reader_format { READER_JSONL, READER_RETAIL, READER_FLO } reader_format;

/* "jsonl" | "retail" | "flo"; -1 when unknown. */
int reader_format_parse(const char *name);

typedef struct reader_options {
    reader_format format;
    bool cancellations_as_refunds; /* retail: 'C' invoices become refunds */
    const event_fields *fields;    /* jsonl field names; NULL = defaults */
    /* Bytes read from the input at a time; 0 = the default (1 MiB). Results
     * never depend on it: tests use tiny blocks to put lines across blocks. */
    size_t block_size;
    /* CSV: split every line with the byte-at-a-time machine instead of the
     * memchr path for quote-free lines. Same results, slower: for tests. */
    bool csv_bytewise;
} reader_options;

typedef struct reader_stats {
    uint64_t lines;   /* data lines read (header excluded) */
    uint64_t orders;  /* orders emitted */
    uint64_t skipped; /* lines skipped by the format's rules (no customer, ...) */
    uint64_t bad;     /* lines that could not be read at all */
} reader_stats;

/* Called for every order; return non-zero to stop reading. */
typedef int (*reader_emit_fn)(void *ctx, const order *o);

/* Read one file ("-" = stdin). Bad lines are counted and reported to stderr
 * as "file:line: reason" (first few only) and skipped. Returns 0, or -1 with a
 * message in err when the file cannot be read or its header is not the format's. */
int reader_read_file(const char *path, const reader_options *opt, reader_emit_fn emit, void *ctx,
                     reader_stats *stats, char *err, size_t errlen);

#endif
