/*
 * errbuf — see errbuf.h.
 */
#include "util/errbuf.h"

#include <stdio.h>
#include <string.h>

/* vsnprintf cuts at a byte count; drop a multi-byte sequence it cut short. */
static void errbuf_trim_utf8(char *err) {
    unsigned char *u = (unsigned char *)err;
    size_t len = strlen(err), k = len;
    while (k > 0 && (u[k - 1] & 0xC0) == 0x80)
        k--;
    if (k == 0 || u[k - 1] < 0xC0)
        return; /* ends in ASCII or in continuation bytes of nothing */
    unsigned char lead = u[k - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (len - (k - 1) < want)
        err[k - 1] = '\0';
}

void errbuf_vset(char *err, size_t errlen, const char *fmt, va_list ap) {
    if (!err || !errlen)
        return;
    vsnprintf(err, errlen, fmt, ap);
    errbuf_trim_utf8(err);
    for (unsigned char *u = (unsigned char *)err; *u; u++)
        if (*u < 0x20 || *u == 0x7F)
            *u = '?';
}

void errbuf_set(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    errbuf_vset(err, errlen, fmt, ap);
    va_end(ap);
}
