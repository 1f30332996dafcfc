/*
 * http_internal — what the HTTP server (http.c) shares with its handlers
 * (http_api.c: JSON endpoints, http_metrics.c: Prometheus). A handler fills
 * an http_reply; http.c turns it into a libmicrohttpd response.
 */
#ifndef RFM_HTTP_INTERNAL_H
#define RFM_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rfmd/daemon.h"
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

/* Handlers (http_api.c). path_id is the raw, still percent-encoded id. */
void http_api_health(const daemon_ctx *d, bool readiness, http_reply *r);
void http_api_customer(daemon_ctx *d, const char *path_id, http_reply *r);
void http_api_segments(daemon_ctx *d, http_reply *r);
void http_api_breakpoints(const daemon_ctx *d, http_reply *r);

/* Prometheus exposition (http_metrics.c). */
void http_metrics(daemon_ctx *d, http_reply *r);

/* Per-segment totals over the whole store (segment_totals, recency as of
 * the breakpoints' as_of or the coming one's), for /segments and /metrics. */
void http_segment_totals(daemon_ctx *d, segment_total tot[SEGMENT_MAX + 1], uint64_t *unscored);

/* Label names for customers outside the map (segment label values). */
#define HTTP_UNSCORED_NAME "unscored"

#endif
