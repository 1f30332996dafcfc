/*
 * money — exact decimal amounts as integer minor units (cents). Never goes
 * through binary floating point, so "0.1" + "0.2" is exactly 30 cents.
 */
#ifndef RFM_MONEY_H
#define RFM_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Largest |amount| accepted: 10^13 units (a sanity limit, "absurd" above). */
#define MONEY_MAX_CENTS 1000000000000000LL

/* Parse a decimal ("12", "-3.5", "799.38", "1e3", "0.005") into cents, rounding
 * half away from zero beyond two decimals. Returns 0, or -1 for syntax errors,
 * non-finite values or |amount| > MONEY_MAX_CENTS. */
int money_parse(const char *s, size_t len, int64_t *cents);

/* Parse a decimal into a fixed-point integer with `scale` decimals (0..9),
 * rounding half away from zero; same limits scaled. Used by the retail reader
 * for Quantity x Price without losing digits. */
int money_parse_scaled(const char *s, size_t len, int scale, int64_t *out);

/* "1234.50" / "-0.07"; buf >= 24 bytes. Returns the length. */
int money_format(int64_t cents, char *buf, size_t len);

#endif
