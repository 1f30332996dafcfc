/*
 * log — see log.h.
 *
 * A line is formatted into a stack buffer and written with a single write(2):
 * that keeps lines from concurrent threads (librdkafka logs from its own
 * threads) whole without a lock, and never allocates, so logging works on
 * the out-of-memory path too. Over-long lines are truncated with "...".
 * The level is an atomic so any thread may read it.
 */
#include "log.h"
#include "util/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static atomic_int log_level_current = LOG_LEVEL_INFO;
/* 1 = journal prefix, 0 = text; -1 = not decided yet (auto, on first use). */
static atomic_int log_prefix_mode = -1;

static const struct {
    const char *name;
    int level;
} log_names[] = {
    {"error", LOG_LEVEL_ERROR},  {"err", LOG_LEVEL_ERROR},     {"warning", LOG_LEVEL_WARNING},
    {"warn", LOG_LEVEL_WARNING}, {"notice", LOG_LEVEL_NOTICE}, {"info", LOG_LEVEL_INFO},
    {"debug", LOG_LEVEL_DEBUG},
};

void log_set_level(int level) {
    if (level < LOG_LEVEL_ERROR)
        level = LOG_LEVEL_ERROR;
    if (level > LOG_LEVEL_DEBUG)
        level = LOG_LEVEL_DEBUG;
    atomic_store(&log_level_current, level);
}

int log_get_level(void) {
    return atomic_load(&log_level_current);
}

bool log_enabled(int level) {
    return level <= atomic_load(&log_level_current);
}

int log_level_parse(const char *name) {
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof log_names / sizeof log_names[0]; i++)
        if (!strcasecmp(name, log_names[i].name))
            return log_names[i].level;
    return -1;
}

const char *log_level_name(int level) {
    switch (level) {
    case LOG_LEVEL_ERROR:
        return "error";
    case LOG_LEVEL_WARNING:
        return "warning";
    case LOG_LEVEL_NOTICE:
        return "notice";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_DEBUG:
        return "debug";
    default:
        return level < LOG_LEVEL_ERROR ? "error" : "debug";
    }
}

int log_format_parse(const char *name) {
    if (!name)
        return -1;
    if (!strcmp(name, "auto"))
        return LOG_FORMAT_AUTO;
    if (!strcmp(name, "journal"))
        return LOG_FORMAT_JOURNAL;
    if (!strcmp(name, "text"))
        return LOG_FORMAT_TEXT;
    return -1;
}

bool log_stderr_is_journal(void) {
    const char *js = getenv("JOURNAL_STREAM");
    if (!js || !*js)
        return false;
    uintmax_t dev, ino;
    char end;
    if (sscanf(js, "%ju:%ju%c", &dev, &ino, &end) != 2)
        return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void log_set_format(int format) {
    int mode = format == LOG_FORMAT_JOURNAL ? 1
               : format == LOG_FORMAT_TEXT  ? 0
               : log_stderr_is_journal()    ? 1
                                            : 0;
    atomic_store(&log_prefix_mode, mode);
}

void log_set_prefix(bool on) {
    log_set_format(on ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT);
}

bool log_journal_prefix(void) {
    if (atomic_load(&log_prefix_mode) < 0)
        log_set_format(LOG_FORMAT_AUTO);
    return atomic_load(&log_prefix_mode) == 1;
}

void log_vmsg(int level, const char *fmt, va_list ap) {
    if (!log_enabled(level))
        return;
    int saved_errno = errno;
    char line[LOG_LINE_MAX];
    size_t n;
    if (log_journal_prefix()) {
        n = (size_t)snprintf(line, sizeof line, "<%d>", level < 0 ? 0 : level > 7 ? 7 : level);
    } else {
        int64_t ms = clock_wall_ms();
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        n = (size_t)snprintf(line, sizeof line, "%02d:%02d:%02d.%03d %s: ", tm.tm_hour, tm.tm_min,
                             tm.tm_sec, (int)(ms % 1000), log_level_name(level));
    }
    /* Keep room for "...\n". */
    size_t room = sizeof line - n - 5;
    int m = vsnprintf(line + n, room + 1, fmt, ap);
    if (m < 0)
        m = 0;
    if ((size_t)m > room) {
        n += room;
        memcpy(line + n, "...", 3);
        n += 3;
    } else {
        n += (size_t)m;
    }
    /* A message must stay one journal entry. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(STDERR_FILENO, line + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)w;
    }
    errno = saved_errno;
}

void log_msg(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void log_ratelimit_init(log_ratelimit *rl, int64_t interval_ms, unsigned burst) {
    memset(rl, 0, sizeof *rl);
    rl->interval_ms = interval_ms;
    rl->burst = burst;
}

bool log_rl(log_ratelimit *rl, int level, const char *fmt, ...) {
    if (!log_enabled(level))
        return false;
    int64_t now = clock_mono_ms();
    if (rl->window_start_ms == 0 || now - rl->window_start_ms >= rl->interval_ms) {
        if (rl->suppressed)
            log_msg(level, "(%llu similar messages suppressed)",
                    (unsigned long long)rl->suppressed);
        rl->window_start_ms = now;
        rl->in_window = 0;
        rl->suppressed = 0;
    }
    if (rl->in_window >= rl->burst) {
        rl->suppressed++;
        return false;
    }
    rl->in_window++;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
    return true;
}
