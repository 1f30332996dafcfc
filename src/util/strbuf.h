/*
 * strbuf — a growable, NUL-terminated byte string for building output
 * (JSON events, the Prometheus exposition, reports).
 *
 * Out of memory is sticky rather than returned by every call: appends after
 * a failed allocation do nothing, and strbuf_finish reports the failure
 * once, so a builder of many small appends checks one result at the end.
 *
 * Ownership: the buffer owns its bytes until strbuf_finish hands them to the
 * caller (free() them) or strbuf_free drops them. A zeroed strbuf
 * (STRBUF_INIT or `= {0}`) is empty and ready.
 */
#ifndef RFM_UTIL_STRBUF_H
#define RFM_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *p;    /* NULL until the first append; then always NUL-terminated */
    size_t len; /* bytes, excluding the terminating NUL */
    size_t cap;
    bool oom; /* an allocation failed: the content is incomplete */
} strbuf;

#define STRBUF_INIT                                                                                \
    { NULL, 0, 0, false }

/* Append n bytes of s (which may hold NULs). */
void strbuf_put(strbuf *b, const char *s, size_t n);

/* Append a C string. */
void strbuf_puts(strbuf *b, const char *s);

/* Append one byte. */
void strbuf_putc(strbuf *b, char c);

/* Append printf-formatted text, of any length. */
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Take the bytes: the malloc'd string (an empty one for an untouched
 * buffer) with its length in *len (may be NULL), or NULL after an
 * allocation failure (the buffer is then freed). The strbuf is empty after. */
char *strbuf_finish(strbuf *b, size_t *len);

/* Empty the content but keep the allocation, for a buffer reused many times
 * (a line buffer). An earlier allocation failure stays set. */
void strbuf_reset(strbuf *b);

/* Drop the bytes; the strbuf is empty after. */
void strbuf_free(strbuf *b);

#endif
