/*
 * notify — see notify.h.
 *
 * libsystemd's sd_notify does the sending (abstract and path sockets, the
 * credentials systemd checks for NotifyAccess=main). NOTIFY_SOCKET stays in
 * the environment: rfmd never executes another program, and the snapshot
 * writer it forks sends nothing.
 *
 * No timers here: when to ping and when to refresh STATUS= is the daemon
 * loop's business (its timers end its wait on time, and after a stall a
 * timer runs once, so there is never a burst of pings).
 */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "util/clock.h"

static struct {
    bool enabled;
    int64_t watchdog_ms; /* ping period, 0 = off */
    bool warned;
} notify_st;

void notify_init(void) {
    const char *sock = getenv("NOTIFY_SOCKET");
    notify_st.enabled = sock && *sock;
    notify_st.watchdog_ms = 0;
    notify_st.warned = false;
    if (!notify_st.enabled)
        return;
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        notify_st.watchdog_ms = (int64_t)(usec / 2000);
        if (notify_st.watchdog_ms < 1)
            notify_st.watchdog_ms = 1;
        log_notice("systemd: watchdog every %lld ms (WATCHDOG_USEC=%llu)",
                   (long long)notify_st.watchdog_ms, (unsigned long long)usec);
    }
}

bool notify_enabled(void) {
    return notify_st.enabled;
}

int64_t notify_watchdog_period_ms(void) {
    return notify_st.enabled ? notify_st.watchdog_ms : 0;
}

static void notify_send(const char *msg) {
    int r = sd_notify(0, msg);
    if (r < 0 && !notify_st.warned) {
        /* Once: a socket that went away would otherwise log every turn. */
        notify_st.warned = true;
        log_warning("systemd: sd_notify failed: error %d; further failures are not logged", -r);
    }
}

/* "HEAD\nSTATUS=status" (or just HEAD). */
static void notify_with_status(const char *head, const char *status) {
    if (!notify_st.enabled)
        return;
    char msg[1024];
    if (status)
        snprintf(msg, sizeof msg, "%s\nSTATUS=%s", head, status);
    else
        snprintf(msg, sizeof msg, "%s", head);
    notify_send(msg);
}

void notify_ready(const char *status) {
    notify_with_status("READY=1", status);
}

void notify_stopping(const char *status) {
    notify_with_status("STOPPING=1", status);
}

void notify_reloading(void) {
    if (!notify_st.enabled)
        return;
    char msg[96];
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)clock_mono_us());
    notify_send(msg);
}

void notify_status(const char *fmt, ...) {
    if (!notify_st.enabled)
        return;
    char msg[1024] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + 7, sizeof msg - 7, fmt, ap);
    va_end(ap);
    notify_send(msg);
}

void notify_watchdog(void) {
    if (notify_st.enabled && notify_st.watchdog_ms)
        notify_send("WATCHDOG=1");
}
