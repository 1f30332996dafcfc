/*
 * Shared between the event decoder's general path (event.c) and its fast
 * path for flat objects (event_flat.c).
 */
#ifndef RFM_EVENT_INTERNAL_H
#define RFM_EVENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "rfm/event.h"

/* Cents of a double that is exactly the nearest double of a decimal with at
 * most two places; false otherwise (the caller then takes the slow road). */
bool event_cents_of_double(double d, int64_t *cents);

/* The flat fast path: 0 with out->o filled exactly as the general decoder
 * would fill it (strings pointing into buf), or -1: not handled here, use
 * the general decoder. buf has passed the size, UTF-8, NUL and BOM checks. */
int event_flat_decode(const event_fields *f, const char *buf, size_t len, event_decoded *out);

#endif
