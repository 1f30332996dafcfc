/*
 * errbuf — the one way rfm fills a caller's error buffer.
 *
 * Functions that can fail take `char *err, size_t errlen` and, on failure,
 * write one line there saying what went wrong (file:line, key, value, as
 * they know it). errbuf_set is that write. It accepts err == NULL or
 * errlen == 0 (the caller does not want the text), and never leaves a
 * truncated message ending in the middle of a UTF-8 sequence: messages
 * quote input bytes, and they end up in logs, JSON and Kafka headers, which
 * must stay valid UTF-8 and one line: control bytes are written as '?'.
 */
#ifndef RFM_UTIL_ERRBUF_H
#define RFM_UTIL_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* printf into err (errlen bytes, NUL-terminated), cut at a UTF-8 boundary,
 * control bytes replaced by '?'. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with a va_list. */
void errbuf_vset(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
