/*
 * Shared between the event codec's files: the decoder's general path
 * (event.c), its fast path for flat objects (event_flat.c) and the encoder
 * (event_encode.c).
 *
 * event_utf8_seq is static inline here rather than a function in one of the
 * .c files because both the decoder's UTF-8 check and the encoder's string
 * escaping call it once per character: an out-of-line call there would cost
 * more than the check itself.
 */
#ifndef RFM_EVENT_INTERNAL_H
#define RFM_EVENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/event.h"

/* Length (1..4) of the valid UTF-8 sequence at s[i] of s[0..len), or 0 when
 * it is not one: overlongs, surrogates, code points above U+10FFFF and
 * sequences cut short by len are invalid. Requires i < len. */
static inline size_t event_utf8_seq(const unsigned char *s, size_t len, size_t i) {
    unsigned char c = s[i];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (s[i + k] < 0x80 || s[i + k] > 0xBF)
            return 0;
    return n;
}

/* Cents of a double that is exactly the nearest double of a decimal with at
 * most two places; false otherwise (the caller then takes the slow road). */
bool event_cents_of_double(double d, int64_t *cents);

/* The flat fast path: 0 with out->o filled exactly as the general decoder
 * would fill it (strings pointing into buf), or -1: not handled here, use
 * the general decoder. buf has passed the size, UTF-8, NUL and BOM checks. */
int event_flat_decode(const event_fields *f, const char *buf, size_t len, event_decoded *out);

#endif
