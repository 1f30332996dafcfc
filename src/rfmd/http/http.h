/*
 * http — rfmd's read-only status endpoint on http.listen (libmicrohttpd).
 *
 *   GET /healthz          liveness: 200 while the loop runs, with "ready"
 *   GET /readyz           readiness: 200 once started and partitions were
 *                         assigned, 503 before
 *   GET /metrics          Prometheus text format 0.0.4
 *   GET /customers/{id}   one customer's state (id URL-decoded)
 *   GET /segments         per segment: customers and mean R, F, M
 *   GET /breakpoints      current breakpoints; 503 before the first rescore
 *
 * GET and HEAD only (405 with Allow otherwise); every error is a JSON
 * {"error": "..."} with its 4xx/5xx status.
 *
 * rfmd is single-threaded by design (the store is not thread-safe), so the
 * server has no thread of its own: the daemon loop calls http_serve, which
 * waits for an HTTP event *or* the consumer's wake-up descriptor, then
 * serves every request that is ready. Handlers therefore run between two
 * input messages and read the store with no locks; they do not block.
 */
#ifndef RFM_HTTP_H
#define RFM_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct daemon_ctx;

typedef struct http http;

/* Is this http.listen value "disabled" ("" or "off")? */
bool http_disabled(const char *listen);

/* Listen on "host:port" (IPv4, IPv6 as "[::1]:port", or a name; port 0 picks
 * a free port). NULL with a message in err when the address cannot be
 * bound. d is read by the handlers; it must outlive the server. */
http *http_start(const char *listen, struct daemon_ctx *d, char *err, size_t errlen);
void http_stop(http *h);

/* The address actually bound, e.g. "127.0.0.1:9464". */
const char *http_address(const http *h);

/* Wait at most timeout_ms for an HTTP event or for wake_fd (-1: none) to be
 * readable, then serve what is ready. Never blocks in a handler. */
void http_serve(http *h, int wake_fd, int timeout_ms);

#endif
