/*
 * http_client — a real HTTP client (libcurl) for the daemon tests: one
 * request per call, a fresh connection each time, everything the tests
 * check kept in the response.
 */
#ifndef RFM_TEST_HTTP_CLIENT_H
#define RFM_TEST_HTTP_CLIENT_H

#include <stddef.h>

#include <jansson.h>

typedef struct hresp {
    long status;
    char content_type[128];
    char allow[64];      /* Allow header, "" when absent */
    long content_length; /* Content-Length header, -1 when absent */
    char *body;          /* NUL-terminated */
    size_t len;
    json_t *json; /* parsed body when it is JSON, else NULL */
} hresp;

/* `base` is "host:port"; method NULL means GET, "HEAD" sends no body back.
 * A transport failure (refused, timeout) fails the test unless `may_fail`,
 * then status is 0. */
void hhttp(const char *base, const char *method, const char *path, hresp *r, int may_fail);
void hresp_free(hresp *r);

/* GET path, expect `status` and a JSON body; returns the parsed body (owned
 * by r). */
json_t *hhttp_json(const char *base, const char *path, long status, hresp *r);

#endif
