/*
 * http — see http.h. This file is the server: binding, the
 * externally driven libmicrohttpd loop, routing and turning replies into
 * responses; the endpoints live in http_api.c and http_metrics.c.
 *
 * Why external polling: libmicrohttpd can run its own thread, but then every
 * handler would race the daemon loop over the store. Instead MHD runs in
 * epoll mode without a thread: its one epoll descriptor (http_fd) becomes
 * readable when a connection needs service, and the daemon's loop waits on
 * it together with the consumer's wake-up descriptor (librdkafka writes to
 * it when a message, rebalance or error is queued). So the loop sleeps until
 * *either* Kafka or HTTP has work: a request is answered within one loop
 * turn (at most one input batch) instead of waiting out the input poll.
 *
 * The status the handlers read is asked for once per request, just before
 * routing, so every answer is as current as the loop turn it is served in.
 *
 * URLs reach the router raw (an identity unescape callback replaces MHD's),
 * so the customer id is percent-decoded exactly once, by http_api.c, with
 * byte lengths: ids may hold '/', '+', '%' or anything else a producer sent.
 */
#include "http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "rfmd/log.h"
#include "util/clock.h"
#include "util/errbuf.h"

#define HTTP_CONN_LIMIT     64
#define HTTP_CONN_TIMEOUT_S 10 /* idle or slow clients are dropped */
#define HTTP_ALLOW          "GET, HEAD"

struct http {
    struct MHD_Daemon *mhd;
    http_status_fn status;
    void *status_ctx;
    int epoll_fd;
    char address[320];
    char last_error[256]; /* MHD's last log line: why a start failed */
};

bool http_disabled(const char *listen) {
    return !listen || !*listen || !strcmp(listen, "off");
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap) {
    http *h = cls;
    vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
    size_t n = strlen(h->last_error);
    while (n && (h->last_error[n - 1] == '\n' || h->last_error[n - 1] == '.'))
        h->last_error[--n] = '\0';
    log_debug("http: %s", h->last_error);
}

/* Leave URLs percent-encoded: http_api.c decodes the one part that needs it. */
static size_t http_unescape_none(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls;
    (void)c;
    return strlen(s);
}

void http_reply_json(http_reply *r, int status, json_t *o) {
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        r->status = 500;
        r->content_type = HTTP_JSON_TYPE;
        r->body = strdup(oom);
        r->len = r->body ? strlen(r->body) : 0;
        return;
    }
    r->status = status;
    r->content_type = HTTP_JSON_TYPE;
    r->body = s;
    r->len = strlen(s);
}

void http_reply_error(http_reply *r, int status, const char *msg) {
    http_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

void http_route(const http_status *st, const char *url, http_reply *r) {
    static const char customers[] = "/customers/";
    if (!strcmp(url, "/healthz"))
        http_api_health(st, false, r);
    else if (!strcmp(url, "/readyz"))
        http_api_health(st, true, r);
    else if (!strcmp(url, "/metrics"))
        http_metrics(st, r);
    else if (!strcmp(url, "/segments"))
        http_api_segments(st, r);
    else if (!strcmp(url, "/breakpoints"))
        http_api_breakpoints(st, r);
    else if (!strcmp(url, "/partitions"))
        http_api_partitions(st, r);
    else if (!strncmp(url, customers, sizeof customers - 1))
        http_api_customer(st, url + sizeof customers - 1, r);
    else
        http_reply_error(r, 404,
                         "no such resource; try /healthz, /readyz, /metrics, /segments, "
                         "/breakpoints, /partitions or /customers/{id}");
}

static enum MHD_Result http_respond(struct MHD_Connection *conn, http_reply *r, bool allow) {
    struct MHD_Response *resp =
        r->body ? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
                : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, HTTP_ALLOW);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static int http_seen; /* marks a connection whose headers were seen */

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls) {
    (void)version;
    (void)upload_data;
    http *h = cls;
    http_reply r = {.status = 500, .content_type = HTTP_JSON_TYPE};
    bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    if (!get) {
        http_reply_error(&r, 405, "method not allowed: rfmd's HTTP interface is read-only");
        log_debug("http: %s %s -> 405", method, url);
        return http_respond(conn, &r, true);
    }
    /* First call: headers only. A GET may still carry a body; it is read
     * and ignored before answering, as the protocol requires. */
    if (!*con_cls) {
        *con_cls = &http_seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    int64_t t0 = clock_mono_ms();
    http_status st;
    memset(&st, 0, sizeof st);
    h->status(h->status_ctx, &st);
    http_route(&st, url, &r);
    log_debug("http: %s %s -> %d (%zu bytes, %lld ms)", method, url, r.status, r.len,
              (long long)(clock_mono_ms() - t0));
    return http_respond(conn, &r, false);
}

/* Split "host:port" / "[v6]:port"; false when malformed. */
static bool http_split(const char *listen, char *host, size_t hlen, char *port, size_t plen) {
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1])
        return false;
    const char *h = listen;
    size_t n = (size_t)(colon - listen);
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return false;
        h++;
        n -= 2;
    }
    if (n >= hlen || strlen(colon + 1) >= plen)
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    snprintf(port, plen, "%s", colon + 1);
    return true;
}

static void http_format_address(http *h, const struct addrinfo *ai) {
    char host[NI_MAXHOST] = "?";
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    snprintf(h->address, sizeof h->address, ai->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
             port);
}

http *http_start(const char *listen, http_status_fn status, void *ctx, char *err, size_t errlen) {
    char host[256], port[16];
    if (!http_split(listen, host, sizeof host, port, sizeof port)) {
        errbuf_set(err, errlen, "http.listen \"%s\": expected host:port", listen);
        return NULL;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        errbuf_set(err, errlen, "http.listen \"%s\": %s", listen, gai_strerror(gai));
        return NULL;
    }
    http *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(ai);
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    h->status = status;
    h->status_ctx = ctx;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The port argument only names the port in MHD's messages: the address
     * to bind is MHD_OPTION_SOCK_ADDR. */
    h->mhd = MHD_start_daemon(
        flags, (uint16_t)atoi(port), NULL, NULL, http_handler, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h, MHD_OPTION_UNESCAPE_CALLBACK,
        http_unescape_none, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_END);
    if (!h->mhd) {
        errbuf_set(err, errlen, "http.listen \"%s\": %s", listen,
                   h->last_error[0] ? h->last_error : "cannot start the HTTP server");
        freeaddrinfo(ai);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    h->epoll_fd = info ? info->epoll_fd : -1;
    http_format_address(h, ai);
    freeaddrinfo(ai);
    return h;
}

void http_stop(http *h) {
    if (!h)
        return;
    MHD_stop_daemon(h->mhd);
    free(h);
}

const char *http_address(const http *h) {
    return h->address;
}

int http_fd(const http *h) {
    return h->epoll_fd;
}

int http_wait_ms(const http *h, int max_ms) {
    MHD_UNSIGNED_LONG_LONG mhd_ms;
    if (MHD_get_timeout(h->mhd, &mhd_ms) == MHD_YES && mhd_ms < (MHD_UNSIGNED_LONG_LONG)max_ms)
        return (int)mhd_ms;
    return max_ms;
}

void http_run(http *h) {
    MHD_run(h->mhd);
}
