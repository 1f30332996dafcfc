/*
 * test_http — what the HTTP handler tests share (test_http_api,
 * test_http_group): a GET through http_route with its status checked and
 * its JSON body parsed, typed field reads that fail the test on a wrong
 * type, and a /metrics line lookup. Header-only; include after cmocka.h.
 */
#ifndef RFM_TESTS_TEST_HTTP_H
#define RFM_TESTS_TEST_HTTP_H

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "rfmd/http/http_internal.h"

/* GET url from st: the reply (caller frees body), its JSON body parsed into
 * *out when out is not NULL (caller decrefs). Fails unless the status is
 * want_status. */
static inline http_reply http_get(const http_status *st, const char *url, int want_status,
                                  json_t **out) {
    http_reply r = {.status = 500, .content_type = HTTP_JSON_TYPE};
    http_route(st, url, &r);
    if (r.status != want_status)
        fail_msg("GET %s: status %d, wanted %d: %.*s", url, r.status, want_status, (int)r.len,
                 r.body ? r.body : "");
    if (out) {
        assert_string_equal(r.content_type, HTTP_JSON_TYPE);
        json_error_t e;
        *out = json_loadb(r.body, r.len, 0, &e);
        if (!*out)
            fail_msg("GET %s: not JSON (%s): %.*s", url, e.text, (int)r.len, r.body);
    }
    return r;
}

static inline const char *jstr(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static inline json_int_t jint(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

/* An offset or count field: its value, or -1 for null. */
static inline json_int_t joffset(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    if (json_is_null(v))
        return -1;
    if (!json_is_integer(v))
        fail_msg("\"%s\" is neither an integer nor null", key);
    return json_integer_value(v);
}

/* The /metrics body has this exact line. */
static inline void assert_line(const http_reply *r, const char *line) {
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    if (!memmem(r->body, r->len, want, strlen(want)))
        fail_msg("/metrics lacks the line \"%s\":\n%.*s", line, (int)r->len, r->body);
}

#endif
