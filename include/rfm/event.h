/*
 * event — the JSON wire forms of SPEC §2 (order in) and §4 (segment change
 * out). Pure codec: no Kafka here; the daemon and the readers share it.
 */
#ifndef RFM_EVENT_H
#define RFM_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "rfm/order.h"

#define EVENT_MAX_BYTES (64 * 1024) /* default message size limit */

/* Field names (config `fields:`); defaults are the SPEC §2 names. */
typedef struct event_fields {
    const char *order_id, *customer_id, *ts, *amount, *currency, *channel, *categories;
} event_fields;

void event_fields_default(event_fields *f);

/* Why an input message was rejected; names are the `rfmd-error` header values
 * and metric labels. */
typedef enum event_reject {
    EVENT_OK = 0,
    EVENT_TOO_LARGE,
    EVENT_NOT_UTF8,
    EVENT_NOT_JSON,
    EVENT_NOT_OBJECT,
    EVENT_MISSING_FIELD,
    EVENT_WRONG_TYPE,
    EVENT_BAD_ID,     /* empty, too long, control characters */
    EVENT_BAD_TS,     /* unparseable or out of range */
    EVENT_BAD_AMOUNT, /* non-finite, absurd, unparseable */
    EVENT_TOO_MANY_CATEGORIES,
    EVENT_REJECT_COUNT
} event_reject;

const char *event_reject_name(event_reject r);

/* Decoded order plus the storage its strings point into (or, for the
 * common flat object, the input buffer itself: keep it alive while the
 * order is used). Reuse one across calls; free with event_decoded_free. */
typedef struct event_decoded {
    order o;
    void *priv;
    order_str cats[ORDER_MAX_CATEGORIES];
} event_decoded;

/* Decode one message. On rejection returns the reason and writes a precise,
 * human-readable detail into err ("field 'ts': not RFC 3339 or epoch ms"). */
event_reject event_decode(const event_fields *f, const char *buf, size_t len, size_t max_bytes,
                          event_decoded *out, char *err, size_t errlen);
void event_decoded_free(event_decoded *d);

/* The same without the fast path for flat objects (src/event_flat.c): what
 * event_decode must always agree with; for tests and fuzzing. */
event_reject event_decode_general(const event_fields *f, const char *buf, size_t len,
                                  size_t max_bytes, event_decoded *out, char *err, size_t errlen);

/* Encode an order as one JSONL line (no newline). Returns malloc'd string. */
char *event_encode_order(const event_fields *f, const order *o);

/* SPEC §4 segment-change event. */
typedef struct event_change {
    const char *customer_id;
    size_t customer_len;
    const char *segment;
    const char *previous_segment; /* NULL = new customer */
    int r, f, m;
    int64_t recency_days;
    uint32_t frequency;
    int64_t monetary_cents;
    const char *cause;    /* "order" | "rescore" */
    const char *order_id; /* with cause "order" */
    size_t order_len;
    int64_t as_of; /* epoch seconds */
    uint64_t breakpoints_version;
    int64_t emitted_at_ms;
} event_change;

/* Returns malloc'd JSON (no newline); *len receives its length. */
char *event_encode_change(const event_change *c, size_t *len);

#endif
