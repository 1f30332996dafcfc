/*
 * changelog — the record that logs one customer of a store to the compacted
 * changelog topic, and its decoder (docs/contract.md, "The changelog record").
 *
 * Key: the customer id (store_key), 1..STORE_KEY_MAX bytes. Value: a
 * versioned binary record with every field of the customer a restored store
 * needs to be indistinguishable from the original for scoring, duplicate
 * detection and HTTP. Categories, channels and the segment travel by name,
 * not by the per-store bit or the per-map index, so a record means the same
 * in every store and under every segment map: stores intern names in the
 * order orders bring them, and two owners of one partition differ.
 *
 * Version 1, little-endian, fixed-width fields (offsets in bytes):
 *
 *    0  u8   version (CHANGELOG_VERSION)
 *    1  u32  first_ts          5  u32  last_ts          9  u32  frequency
 *   13  i64  monetary_cents (>= 0)
 *   21  u32  recent[0..2]     33  u8   recent_next (< STORE_RECENT_ORDERS)
 *   34  u8   r   35 u8 f   36 u8 m   (0..SCORE_BINS_MAX, 0 = not scored)
 *   37  u8   segment name length (0 = no segment yet), then its bytes
 *       u8   category count (<= STORE_MAX_CATEGORIES), then per name:
 *            u32 length (>= 1), bytes
 *       u8   channel count (<= STORE_MAX_CHANNELS), then per name the same
 *
 * and nothing after. Names are non-empty valid UTF-8 without NUL, each at most
 * once per list. A missing value (NULL or 0 bytes) is a tombstone.
 *
 * Nothing here touches Kafka: the daemon produces and consumes; this file
 * only turns a record into bytes and bytes into a record.
 */
#ifndef RFM_CHANGELOG_H
#define RFM_CHANGELOG_H

#include <stddef.h>

#include "rfm/segment.h"
#include "rfm/store.h"

/* src/util/strbuf.h; declared here so the public headers stay free of util's. */
struct strbuf;

/* The Kafka header of an order's record: the offset of the input message
 * that caused it, in decimal (a rescore's record has none). A restore takes
 * the highest it reads as the input position its state covers. */
#define CHANGELOG_INPUT_OFFSET_HEADER "rfmd-input-offset"

#define CHANGELOG_VERSION     1
#define CHANGELOG_FIXED_BYTES 37 /* version .. m: the part every record has */
/* The shortest record: the fixed part, no segment, no categories, no channels. */
#define CHANGELOG_MIN_BYTES (CHANGELOG_FIXED_BYTES + 3)

/* What changelog_apply did. Negative values refuse the record. */
typedef enum changelog_result {
    CHANGELOG_APPLIED = 0,   /* the customer now holds exactly the record's fields */
    CHANGELOG_TOMBSTONE = 1, /* no value: the customer was erased; the store has no
                                delete, so it is left unchanged and the caller decides */
    CHANGELOG_BAD = -1,      /* not a valid record for this store: message in err, store
                                unchanged */
    CHANGELOG_NOMEM = -2,    /* out of memory (errno ENOMEM): the customer is unchanged,
                                but names the record carries may have been interned */
} changelog_result;

/* Append the value of customer c of store s to out (the key is store_key of
 * c). map names c->segment; an index it does not have (or a NULL map) is
 * written as "no segment yet", as segment_name reports it. out is the
 * caller's, reusable across records (strbuf_reset between them), so the hot
 * path of one record per touched customer allocates nothing once the buffer
 * has grown. Returns 0, or -1 with a message in err and out cut back to its
 * length before the call: out of memory (out->oom is then set, sticky as
 * strbuf makes it: strbuf_free the buffer), or a name of s the record cannot
 * carry (not valid UTF-8, which only a reader of latin-1 files could have
 * interned; longer than 4 GiB), refused here so that what is written can
 * always be read back. */
int changelog_encode(const store *s, const store_customer *c, const segment_map *map,
                     struct strbuf *out, char *err, size_t errlen);

/* Upsert customer key[0..klen) into s and set every field from the record
 * val[0..len): a later record of a key replaces the earlier one entirely (the
 * categories and channels are the record's, not a union), and applying a
 * record twice leaves the same state. Names are interned into s at whatever
 * bit s gives them; the segment name is looked up in map (NULL: none) and an
 * unknown name becomes index 0, "no segment yet", until the next rescore (as
 * after a snapshot load with changed rules). The store's newest order time
 * is raised to last_ts when frequency > 0.
 *
 * The record is validated in full before s is touched: a bad key (empty, over
 * STORE_KEY_MAX, NULL), an unknown version, a truncated record or trailing
 * bytes, a count or field out of range, an empty, duplicate, non-UTF-8 or
 * NUL-holding name, a segment name over SEGMENT_NAME_MAX, or a name s cannot
 * intern because its table is full give CHANGELOG_BAD with a message, and s
 * is unchanged. See changelog_result for the other outcomes. */
changelog_result changelog_apply(store *s, const char *key, size_t klen, const void *val,
                                 size_t len, const segment_map *map, char *err, size_t errlen);

#endif
