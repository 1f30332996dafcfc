/*
 * fuzz_event — event_decode (SPEC §2) on arbitrary bytes, which is what a
 * Kafka message can hold: every message reaches this decoder before anything
 * else looks at it.
 *
 * Not crashing is only part of it; the target also checks what the daemon
 * and the tools rely on, and aborts when it does not hold:
 *  - the verdict is a function of the bytes: decoding again into the same,
 *    already used event_decoded (the daemon reuses one) gives the same answer;
 *  - an accepted order survives event_encode_order (rfm-replay writes orders
 *    back out that way): the encoded line decodes to the same order;
 *  - a segment-change event for it is valid JSON that carries the ids back
 *    unchanged, whatever bytes they hold.
 * Default field names only: custom names change which keys are looked up,
 * not how values are read.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "rfm/event.h"

static int str_eq(order_str a, order_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int order_eq(const order *a, const order *b) {
    if (!str_eq(a->customer_id, b->customer_id) || !str_eq(a->order_id, b->order_id) ||
        a->ts != b->ts || a->amount_cents != b->amount_cents || !str_eq(a->channel, b->channel) ||
        a->ncategories != b->ncategories)
        return 0;
    for (size_t i = 0; i < a->ncategories; i++)
        if (!str_eq(a->categories[i], b->categories[i]))
            return 0;
    return 1;
}

static int json_str_is(json_t *obj, const char *key, order_str want) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) &&
           str_eq((order_str){json_string_value(v), json_string_length(v)}, want);
}

static void check_change_event(const order *o) {
    event_change c = {
        .customer_id = o->customer_id.p,
        .customer_len = o->customer_id.len,
        .segment = "champions",
        .previous_segment = NULL,
        .r = 5,
        .f = 5,
        .m = 4,
        .recency_days = 2,
        .frequency = 34,
        .monetary_cents = o->amount_cents < 0 ? -o->amount_cents : o->amount_cents,
        .cause = "order",
        .order_id = o->order_id.p,
        .order_len = o->order_id.len,
        .as_of = o->ts,
        .breakpoints_version = 17,
        .emitted_at_ms = 1700000000123,
    };
    size_t len;
    char *js = event_encode_change(&c, &len);
    FUZZ_CHECK(js);
    json_error_t e;
    json_t *root = json_loadb(js, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    FUZZ_CHECK(root);
    FUZZ_CHECK(json_str_is(root, "customer_id", o->customer_id));
    FUZZ_CHECK(json_str_is(root, "order_id", o->order_id));
    json_decref(root);
    free(js);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    event_fields f;
    event_fields_default(&f);
    const char *buf = (const char *)data;
    char err[512], err2[512];
    event_decoded d, again, back;
    memset(&d, 0, sizeof d);
    memset(&again, 0, sizeof again);
    memset(&back, 0, sizeof back);

    event_reject r = event_decode(&f, buf, size, EVENT_MAX_BYTES, &d, err, sizeof err);
    FUZZ_CHECK(r >= EVENT_OK && r < EVENT_REJECT_COUNT);
    FUZZ_CHECK(r == EVENT_OK || err[0]);
    FUZZ_CHECK(strlen(err) < sizeof err);

    /* Decode into a struct that already holds an order (the daemon's case),
     * then compare against the first, still alive. */
    static const char used[] = "{\"order_id\":\"x\",\"customer_id\":\"y\",\"ts\":0,\"amount\":1}";
    FUZZ_CHECK(event_decode(&f, used, sizeof used - 1, EVENT_MAX_BYTES, &again, err2,
                            sizeof err2) == EVENT_OK);
    FUZZ_CHECK(event_decode(&f, buf, size, EVENT_MAX_BYTES, &again, err2, sizeof err2) == r);
    FUZZ_CHECK(strcmp(err, err2) == 0);

    /* The fast path for flat objects must agree with the general decoder:
     * same verdict, same message, same order. */
    event_decoded gen;
    memset(&gen, 0, sizeof gen);
    FUZZ_CHECK(event_decode_general(&f, buf, size, EVENT_MAX_BYTES, &gen, err2, sizeof err2) == r);
    FUZZ_CHECK(strcmp(err, err2) == 0);
    FUZZ_CHECK(r != EVENT_OK || order_eq(&d.o, &gen.o));
    event_decoded_free(&gen);

    if (r == EVENT_OK) {
        FUZZ_CHECK(order_eq(&d.o, &again.o));
        char *line = event_encode_order(&f, &d.o);
        FUZZ_CHECK(line);
        event_reject rb = event_decode(&f, line, strlen(line), SIZE_MAX, &back, err2, sizeof err2);
        if (rb != EVENT_OK) {
            fprintf(stderr, "re-encoded order rejected (%s: %s): %s\n", event_reject_name(rb), err2,
                    line);
            abort();
        }
        FUZZ_CHECK(order_eq(&d.o, &back.o));
        free(line);
        check_change_event(&d.o);
    }
    event_decoded_free(&back);
    event_decoded_free(&again);
    event_decoded_free(&d);
    return 0;
}
