/*
 * strbuf — see strbuf.h. Capacity doubles from 256 bytes, so n appends cost
 * O(total length) copies.
 */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `more` bytes plus the NUL; false (and oom set) if not to be had. */
static bool strbuf_reserve(strbuf *b, size_t more) {
    if (b->oom)
        return false;
    if (more > SIZE_MAX / 2 - b->len - 1) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + more + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void strbuf_put(strbuf *b, const char *s, size_t n) {
    if (!strbuf_reserve(b, n))
        return;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void strbuf_puts(strbuf *b, const char *s) {
    strbuf_put(b, s, strlen(s));
}

void strbuf_putc(strbuf *b, char c) {
    strbuf_put(b, &c, 1);
}

void strbuf_printf(strbuf *b, const char *fmt, ...) {
    if (!strbuf_reserve(b, 64))
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n >= b->cap - b->len) { /* did not fit: grow and format again */
        if (!strbuf_reserve(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

char *strbuf_finish(strbuf *b, size_t *len) {
    if (!b->p)
        strbuf_put(b, "", 0);
    if (b->oom) {
        strbuf_free(b);
        return NULL;
    }
    char *p = b->p;
    if (len)
        *len = b->len;
    *b = (strbuf)STRBUF_INIT;
    return p;
}

void strbuf_reset(strbuf *b) {
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void strbuf_free(strbuf *b) {
    free(b->p);
    *b = (strbuf)STRBUF_INIT;
}
