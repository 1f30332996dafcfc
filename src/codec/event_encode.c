/*
 * event_encode — SPEC §2 order events and SPEC §4 segment changes out, as
 * JSON text (the decoder is event.c).
 *
 * The text is built by hand on the project's string buffer (util/strbuf.h)
 * rather than with jansson: money must print as an exact two-decimal number,
 * which jansson (doubles) cannot promise, and the field order is part of the
 * SPEC example. Strings are escaped per RFC 8259; bytes that are not valid
 * UTF-8 become U+FFFD so the output stays valid JSON whatever the ids hold.
 *
 * Only the JSON-specific pieces (string escaping, keys, money, null) are
 * here, as small functions on top of strbuf; growth and the sticky
 * out-of-memory flag are strbuf's, so an encoder returns NULL exactly when
 * an allocation failed somewhere along the way.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "event_internal.h"
#include "rfm/event.h"
#include "rfm/money.h"
#include "rfm/timefmt.h"
#include "util/strbuf.h"

/* Append s[0..len) as a quoted JSON string. Runs of bytes that need no
 * escaping (nearly all of them) are copied with one put, not byte by byte;
 * NULL is the empty string. */
static void json_str(strbuf *b, const char *s, size_t len) {
    if (!s) {
        s = "";
        len = 0;
    }
    const unsigned char *u = (const unsigned char *)s;
    strbuf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        size_t n = event_utf8_seq(u, len, i);
        if (c >= 0x20 && c != '"' && c != '\\' && n > 0) {
            i += n;
            continue;
        }
        strbuf_put(b, s + run, i - run);
        if (n == 0)
            strbuf_puts(b, "\xEF\xBF\xBD"); /* U+FFFD */
        else if (c == '"')
            strbuf_puts(b, "\\\"");
        else if (c == '\\')
            strbuf_puts(b, "\\\\");
        else if (c == '\n')
            strbuf_puts(b, "\\n");
        else if (c == '\t')
            strbuf_puts(b, "\\t");
        else if (c == '\r')
            strbuf_puts(b, "\\r");
        else
            strbuf_printf(b, "\\u%04x", c);
        run = ++i;
    }
    strbuf_put(b, s + run, len - run);
    strbuf_putc(b, '"');
}

/* A C string as a JSON string, or null for NULL (optional SPEC §4 fields). */
static void json_cstr(strbuf *b, const char *s) {
    if (s)
        json_str(b, s, strlen(s));
    else
        strbuf_puts(b, "null");
}

/* `"name":`, after a comma unless it is the object's first member. Names
 * come from the configuration (event_fields), so they are escaped too. */
static void json_key(strbuf *b, const char *name, bool first) {
    if (!first)
        strbuf_putc(b, ',');
    json_str(b, name, strlen(name));
    strbuf_putc(b, ':');
}

/* Cents as an exact JSON number with two decimals ("139.12", "-0.07"). */
static void json_money(strbuf *b, int64_t cents) {
    char m[32];
    int n = money_format(cents, m, sizeof m);
    strbuf_put(b, m, (size_t)n);
}

char *event_encode_order(const event_fields *f, const order *o) {
    event_fields defaults;
    if (!f) {
        event_fields_default(&defaults);
        f = &defaults;
    }
    strbuf b = STRBUF_INIT;
    char day[32], ts[64];
    timefmt_date(o->ts, day, sizeof day);
    int64_t sod = o->ts - timefmt_day_start(o->ts);
    snprintf(ts, sizeof ts, "%sT%02d:%02d:%02dZ", day, (int)(sod / 3600), (int)(sod / 60 % 60),
             (int)(sod % 60));
    strbuf_putc(&b, '{');
    json_key(&b, f->order_id, true);
    json_str(&b, o->order_id.p, o->order_id.len);
    json_key(&b, f->customer_id, false);
    json_str(&b, o->customer_id.p, o->customer_id.len);
    json_key(&b, f->ts, false);
    json_str(&b, ts, strlen(ts));
    json_key(&b, f->amount, false);
    json_money(&b, o->amount_cents);
    if (o->channel.len && f->channel) {
        json_key(&b, f->channel, false);
        json_str(&b, o->channel.p, o->channel.len);
    }
    if (o->ncategories && f->categories) {
        json_key(&b, f->categories, false);
        strbuf_putc(&b, '[');
        for (size_t i = 0; i < o->ncategories; i++) {
            if (i)
                strbuf_putc(&b, ',');
            json_str(&b, o->categories[i].p, o->categories[i].len);
        }
        strbuf_putc(&b, ']');
    }
    strbuf_putc(&b, '}');
    return strbuf_finish(&b, NULL);
}

char *event_encode_change(const event_change *c, size_t *len) {
    strbuf b = STRBUF_INIT;
    char day[32], emitted[40];
    timefmt_date(c->as_of, day, sizeof day);
    timefmt_rfc3339_ms(c->emitted_at_ms, emitted, sizeof emitted);
    strbuf_puts(&b, "{\"customer_id\":");
    json_str(&b, c->customer_id, c->customer_len);
    strbuf_puts(&b, ",\"segment\":");
    json_cstr(&b, c->segment);
    strbuf_puts(&b, ",\"previous_segment\":");
    json_cstr(&b, c->previous_segment);
    strbuf_printf(&b, ",\"r\":%d,\"f\":%d,\"m\":%d,\"rf\":\"%d%d\",\"rfm\":\"%d%d%d\"", c->r, c->f,
                  c->m, c->r, c->f, c->r, c->f, c->m);
    strbuf_printf(&b, ",\"recency_days\":%lld,\"frequency\":%lu", (long long)c->recency_days,
                  (unsigned long)c->frequency);
    strbuf_puts(&b, ",\"monetary\":");
    json_money(&b, c->monetary_cents);
    strbuf_puts(&b, ",\"cause\":");
    json_cstr(&b, c->cause);
    if (c->cause && !strcmp(c->cause, "order") && c->order_id) {
        strbuf_puts(&b, ",\"order_id\":");
        json_str(&b, c->order_id, c->order_len);
    }
    strbuf_puts(&b, ",\"as_of\":");
    json_str(&b, day, strlen(day));
    strbuf_printf(&b, ",\"breakpoints_version\":%llu", (unsigned long long)c->breakpoints_version);
    strbuf_puts(&b, ",\"emitted_at\":");
    json_str(&b, emitted, strlen(emitted));
    strbuf_putc(&b, '}');
    return strbuf_finish(&b, len);
}
