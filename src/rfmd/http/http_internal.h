/*
 * http_internal — what the HTTP server (http.c) shares with its handlers
 * (http_api.c: JSON endpoints, http_partitions.c: /partitions,
 * http_metrics.c: Prometheus). A handler reads the request's http_status and
 * fills an http_reply; http.c turns the reply into a libmicrohttpd response.
 * Nothing here needs a server, so tests call http_route with a status of
 * their own.
 */
#ifndef RFM_HTTP_INTERNAL_H
#define RFM_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "http.h"
#include "rfm/segment.h"
#include "rfm/segment_totals.h"

#define HTTP_JSON_TYPE    "application/json"
#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct http_reply {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd, NULL with len 0 for an empty body */
    size_t len;
} http_reply;

/* {"error": msg} with this status. */
void http_reply_error(http_reply *r, int status, const char *msg);
/* Serialise and take over o (NULL: out of memory -> 500). */
void http_reply_json(http_reply *r, int status, json_t *o);

/* Answer a GET of url (raw, still percent-encoded) from st: the endpoint's
 * reply, or 404 for any other path. */
void http_route(const http_status *st, const char *url, http_reply *r);

/* Handlers (http_api.c). path_id is the raw, still percent-encoded id. */
void http_api_health(const http_status *st, bool readiness, http_reply *r);
void http_api_customer(const http_status *st, const char *path_id, http_reply *r);
void http_api_segments(const http_status *st, http_reply *r);
void http_api_breakpoints(const http_status *st, http_reply *r);
/* GET /partitions (http_partitions.c): st->owned's partitions, sorted by
 * topic then partition. */
void http_api_partitions(const http_status *st, http_reply *r);

/* Prometheus exposition (http_metrics.c). */
void http_metrics(const http_status *st, http_reply *r);

/* The as_of recency is counted against: the breakpoints', or before the
 * first rescore the one they will have (score_as_of_set over the stores).
 * 0, -1 on allocation failure. */
int http_as_of(const http_status *st, int64_t *as_of);

/* Customers in all the stores (each id lives in one). */
uint64_t http_customers(const http_status *st);

/* Per-segment totals summed over the stores (segment_totals, recency as of
 * http_as_of), for /segments and /metrics. 0, -1 on allocation failure. */
int http_segment_totals(const http_status *st, segment_total tot[SEGMENT_MAX + 1],
                        uint64_t *unscored);

/* The partitions of st->stores, sorted, as a JSON array (NULL: no memory). */
json_t *http_owned_json(const http_status *st);

/* Label names for customers outside the map (segment label values). */
#define HTTP_UNSCORED_NAME "unscored"

#endif
