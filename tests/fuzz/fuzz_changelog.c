/*
 * fuzz_changelog — changelog_apply on arbitrary records.
 *
 * A restore reads whatever the changelog topic holds: records of other
 * versions, of a broken producer, or hand-made. Input layout: the first byte
 * is the key length (kept as it is, so keys of 0 and > STORE_KEY_MAX bytes
 * are tried too), then the key, then the value (empty = a tombstone).
 *
 * The record is applied to a store that already holds names and a neighbour,
 * so the "table full" and "unchanged on refusal" paths are reached. Checked:
 *  - a refused record leaves the store exactly as it was (count, the
 *    neighbour, the name tables), with a message;
 *  - an accepted one, applied again, gives the same state (idempotent);
 *  - its customer re-encodes, and that record applied to a fresh store with
 *    another interning order and segment map means the same customer, and
 *    re-encodes there to the same length (names by name, not by bit).
 */
#include <string.h>

#include "fuzz.h"
#include "rfm/changelog.h"
#include "util/strbuf.h"

static int count(const store *s, const char *(*name_of)(const store *, int)) {
    int n = 0;
    while (name_of(s, n))
        n++;
    return n;
}

/* mask, a set of names by bit of `from`, as bits of `to` (which must hold
 * every one of those names). */
static unsigned remap(const store *from, unsigned mask, const store *to, int max,
                      const char *(*name_of)(const store *, int)) {
    unsigned out = 0;
    for (int bit = 0; bit < max; bit++) {
        if (!((mask >> bit) & 1))
            continue;
        const char *name = name_of(from, bit);
        FUZZ_CHECK(name);
        int found = -1;
        for (int j = 0; j < max && name_of(to, j); j++)
            if (!strcmp(name_of(to, j), name))
                found = j;
        FUZZ_CHECK(found >= 0);
        out |= 1u << found;
    }
    return out;
}

static store *base_store(void) {
    store *s = store_new();
    FUZZ_CHECK(s);
    static const char *const cats[] = {"shoes", "bags", "kids", "a", "b", "c", "d",
                                       "e",     "f",    "g",    "h", "i", "j", "k"};
    for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++)
        store_intern_category(s, cats[i], strlen(cats[i]));
    store_intern_channel(s, "Offline", 7);
    bool created;
    store_customer *c = store_upsert(s, "neighbour", 9, &created);
    FUZZ_CHECK(c);
    c->frequency = 3;
    c->monetary_cents = 999;
    c->categories = 5;
    c->channels = 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static segment_map map, other;
    if (!map.bins) {
        char err[128];
        segment_map_default(&map, 5);
        segment_map_init(&other, 5);
        FUZZ_CHECK(!segment_map_add(&other, "[1-5][1-5]", "champions", err, sizeof err));
    }
    if (!size)
        return 0;
    size_t klen = data[0];
    if (klen > size - 1)
        klen = size - 1;
    const char *key = (const char *)data + 1;
    const uint8_t *val = data + 1 + klen;
    size_t len = size - 1 - klen;

    store *s = base_store();
    store_customer before = *store_get(s, "neighbour", 9);
    int ncats = count(s, store_category_name), nchans = count(s, store_channel_name);
    char err[256] = "";
    changelog_result r = changelog_apply(s, key, klen, val, len, &map, err, sizeof err);
    FUZZ_CHECK(r != CHANGELOG_NOMEM);
    if (r != CHANGELOG_APPLIED) {
        FUZZ_CHECK(r == CHANGELOG_TOMBSTONE || err[0]);
        FUZZ_CHECK(store_count(s) == 1);
        FUZZ_CHECK(!memcmp(store_get(s, "neighbour", 9), &before, sizeof before));
        FUZZ_CHECK(count(s, store_category_name) == ncats);
        FUZZ_CHECK(count(s, store_channel_name) == nchans);
        store_free(s);
        return 0;
    }
    store_customer *c = store_get(s, key, klen);
    FUZZ_CHECK(c);
    store_customer once = *c;
    size_t n = store_count(s);
    FUZZ_CHECK(changelog_apply(s, key, klen, val, len, &map, err, sizeof err) == CHANGELOG_APPLIED);
    FUZZ_CHECK(store_count(s) == n && !memcmp(c, &once, sizeof once));
    FUZZ_CHECK(count(s, store_category_name) <= STORE_MAX_CATEGORIES);

    strbuf b1 = STRBUF_INIT, b2 = STRBUF_INIT;
    FUZZ_CHECK(!changelog_encode(s, c, &map, &b1, err, sizeof err));
    store *t = store_new();
    FUZZ_CHECK(t);
    store_intern_category(t, "zzz", 3);
    store_intern_channel(t, "Phone", 5);
    FUZZ_CHECK(changelog_apply(t, key, klen, b1.p, b1.len, &other, err, sizeof err) ==
               CHANGELOG_APPLIED);
    store_customer *d = store_get(t, key, klen);
    FUZZ_CHECK(d);
    FUZZ_CHECK(d->first_ts == c->first_ts && d->last_ts == c->last_ts &&
               d->frequency == c->frequency && d->monetary_cents == c->monetary_cents &&
               !memcmp(d->recent, c->recent, sizeof c->recent) &&
               d->recent_next == c->recent_next && d->r == c->r && d->f == c->f && d->m == c->m);
    FUZZ_CHECK(d->categories ==
               remap(s, c->categories, t, STORE_MAX_CATEGORIES, store_category_name));
    FUZZ_CHECK(d->channels == remap(s, c->channels, t, STORE_MAX_CHANNELS, store_channel_name));
    /* Only "champions" is in both maps under one name. */
    const char *name = segment_name(&map, c->segment);
    FUZZ_CHECK(d->segment == (strcmp(name, "champions") ? 0 : 1));
    FUZZ_CHECK(!changelog_encode(t, d, &other, &b2, err, sizeof err));
    /* The same bytes but for the segment name, which the two maps differ in. */
    size_t seg1 = c->segment ? strlen(map.names[c->segment]) : 0;
    size_t seg2 = d->segment ? strlen(other.names[d->segment]) : 0;
    FUZZ_CHECK(b1.len - seg1 == b2.len - seg2);
    strbuf_free(&b1);
    strbuf_free(&b2);
    store_free(t);
    store_free(s);
    return 0;
}
