/*
 * http_client — see http_client.h.
 */
#include "http_client.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>

static size_t body_cb(char *p, size_t size, size_t n, void *ctx) {
    hresp *r = ctx;
    size_t add = size * n;
    char *b = realloc(r->body, r->len + add + 1);
    assert_non_null(b);
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    b[r->len] = '\0';
    return add;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen) {
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = n - nl - 1;
    while (vl && isspace((unsigned char)*v))
        v++, vl--;
    while (vl && isspace((unsigned char)v[vl - 1]))
        vl--;
    snprintf(out, outlen, "%.*s", (int)vl, v);
}

static size_t header_cb(char *p, size_t size, size_t n, void *ctx) {
    hresp *r = ctx;
    char len[32] = "";
    header_value(p, size * n, "Allow", r->allow, sizeof r->allow);
    header_value(p, size * n, "Content-Length", len, sizeof len);
    if (len[0])
        r->content_length = atol(len);
    return size * n;
}

void hhttp(const char *base, const char *method, const char *path, hresp *r, int may_fail) {
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[1024];
    snprintf(url, sizeof url, "http://%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    /* libcurl must not "fix" the path: ids are sent exactly as written. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (method && !strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        curl_easy_cleanup(c);
        if (may_fail)
            return;
        fail_msg("%s %s: %s", method ? method : "GET", url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    if (r->body)
        r->json = json_loadb(r->body, r->len, 0, NULL);
}

void hresp_free(hresp *r) {
    free(r->body);
    if (r->json)
        json_decref(r->json);
    memset(r, 0, sizeof *r);
}

json_t *hhttp_json(const char *base, const char *path, long status, hresp *r) {
    hhttp(base, NULL, path, r, 0);
    if (r->status != status)
        fail_msg("GET %s: status %ld, expected %ld: %s", path, r->status, status,
                 r->body ? r->body : "");
    assert_string_equal(r->content_type, "application/json");
    if (!r->json)
        fail_msg("GET %s: body is not JSON: %s", path, r->body ? r->body : "");
    return r->json;
}
