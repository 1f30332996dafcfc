/*
 * money — decimal text to fixed-point integers, exactly.
 *
 * The text is read as a digit string D and a decimal exponent E (value =
 * D x 10^E, with the fraction digits folded into E). Scaling to `scale`
 * decimals then only moves the decimal point: the leading digits form the
 * integer and the first dropped digit alone decides rounding (>= 5 rounds the
 * magnitude up, which is "half away from zero"). No floating point anywhere,
 * so "0.1" is exactly 10 cents and "0.005" exactly 1 cent.
 *
 * Accepted syntax: [+-] digits [. digits] [(e|E) [+-] digits], with at least
 * one digit before or after the point, so "5." and ".5" are accepted: other
 * systems' decimal strings do carry them and they are unambiguous. Leading
 * zeros are fine. Rejected: empty text, whitespace anywhere, "NaN",
 * "Infinity", hex, "1e" (exponent without digits), thousands separators.
 * Exponents are saturated while reading so "1e99999999999" is an overflow
 * and "1e-99999999999" is zero, never undefined behaviour.
 *
 * Limit: |value| <= 10^13 units, i.e. 10^(13+scale) scaled (MONEY_MAX_CENTS
 * at scale 2). From scale 6 up that no longer fits in int64, and the limit
 * becomes INT64_MAX.
 */
#include "rfm/money.h"

#include <stdbool.h>
#include <stdio.h>

#define MONEY_MAX_UNITS_DIGITS 13
#define EXP_SATURATE           1000000000LL

typedef struct digits {
    const char *ip; /* integer-part digits */
    size_t ilen;
    const char *fp; /* fraction digits */
    size_t flen;
} digits;

/* The j-th digit of the integer part followed by the fraction part. */
static int digit_at(const digits *d, size_t j) {
    return j < d->ilen ? d->ip[j] - '0' : d->fp[j - d->ilen] - '0';
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

static int64_t scaled_limit(int scale) {
    if (MONEY_MAX_UNITS_DIGITS + scale > 18)
        return INT64_MAX;
    int64_t lim = 1;
    for (int k = 0; k < MONEY_MAX_UNITS_DIGITS + scale; k++)
        lim *= 10;
    return lim;
}

/* acc * 10 + dig, or false when the result would exceed limit. */
static bool push_digit(uint64_t *acc, int dig, int64_t limit) {
    if (*acc > ((uint64_t)limit - (uint64_t)dig) / 10)
        return false;
    *acc = *acc * 10 + (uint64_t)dig;
    return true;
}

int money_parse_scaled(const char *s, size_t len, int scale, int64_t *out) {
    if (!s || scale < 0 || scale > 9)
        return -1;
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    digits d = {s + i, 0, NULL, 0};
    while (i + d.ilen < len && is_digit(s[i + d.ilen]))
        d.ilen++;
    i += d.ilen;
    d.fp = s + i;
    if (i < len && s[i] == '.') {
        d.fp = s + ++i;
        while (i + d.flen < len && is_digit(s[i + d.flen]))
            d.flen++;
        i += d.flen;
    }
    if (d.ilen + d.flen == 0)
        return -1;
    int64_t exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= len || !is_digit(s[i]))
            return -1;
        while (i < len && is_digit(s[i])) {
            if (exp < EXP_SATURATE)
                exp = exp * 10 + (s[i] - '0');
            i++;
        }
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return -1;

    /* Significant digits start at the first non-zero one. */
    size_t total = d.ilen + d.flen, first = 0;
    while (first < total && digit_at(&d, first) == 0)
        first++;
    if (first == total) {
        *out = 0;
        return 0;
    }
    int64_t n = (int64_t)(total - first);
    int64_t k = exp - (int64_t)d.flen + scale; /* value * 10^scale = D * 10^k */
    int64_t keep = n + k;                      /* digits left of the point */
    int64_t limit = scaled_limit(scale);
    uint64_t acc = 0;
    if (keep > 19)
        return -1; /* at least 10^19 > INT64_MAX >= limit */
    if (keep == 0) {
        acc = digit_at(&d, first) >= 5;
    } else if (keep > 0) {
        for (int64_t j = 0; j < keep; j++) {
            int dig = j < n ? digit_at(&d, first + (size_t)j) : 0;
            if (!push_digit(&acc, dig, limit))
                return -1;
        }
        if (keep < n && digit_at(&d, first + (size_t)keep) >= 5) {
            if (acc + 1 > (uint64_t)limit)
                return -1;
            acc++;
        }
    }
    *out = neg ? -(int64_t)acc : (int64_t)acc;
    return 0;
}

int money_parse(const char *s, size_t len, int64_t *cents) {
    return money_parse_scaled(s, len, 2, cents);
}

int money_format(int64_t cents, char *buf, size_t len) {
    uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    return snprintf(buf, len, "%s%llu.%02llu", cents < 0 ? "-" : "",
                    (unsigned long long)(mag / 100), (unsigned long long)(mag % 100));
}
