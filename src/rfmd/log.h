/*
 * log — the daemon's diagnostics on stderr.
 *
 * Two formats. "journal": "<N>message", the sd-daemon(3) priority prefix
 * that journald keeps as the entry's priority (it adds its own time stamp).
 * "text": "HH:MM:SS.mmm level: message" (UTC) for humans and plain log
 * files. The default ("auto") is journal when stderr is journald's stream
 * (systemd sets JOURNAL_STREAM to its "device:inode"; a stderr redirected
 * elsewhere by the service does not match), text otherwise; log.format or
 * RFMD_LOG_FORMAT force one. Each line is written with one write(2), so
 * lines from librdkafka's threads never interleave mid-line.
 *
 * Levels are the syslog numbers (names avoid <syslog.h>'s LOG_* macros).
 */
#ifndef RFM_LOG_H
#define RFM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
} log_level;

/* Messages above this level are dropped; default LOG_LEVEL_INFO. */
void log_set_level(int level);
int log_get_level(void);
bool log_enabled(int level);

/* "debug|info|notice|warning|error" (also "warn", "err"); -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

typedef enum log_format {
    LOG_FORMAT_AUTO = 0, /* journal when stderr is journald's stream, else text */
    LOG_FORMAT_JOURNAL,
    LOG_FORMAT_TEXT,
} log_format;

/* "auto|journal|text"; -1 when unknown. */
int log_format_parse(const char *name);
/* Choose the format; AUTO looks at stderr and JOURNAL_STREAM again now. */
void log_set_format(int format);
/* True when the journal prefix is in use. */
bool log_journal_prefix(void);
/* True when JOURNAL_STREAM names the file stderr is open on. */
bool log_stderr_is_journal(void);

/* Force the journal prefix on or off (log_set_format JOURNAL / TEXT). */
void log_set_prefix(bool on);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_error(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * Rate limiting for messages that input can trigger at any rate (rejected
 * orders, broker errors): at most `burst` lines per `interval_ms`; what was
 * dropped is summarised ("N similar messages suppressed") by the first line
 * of a later window. Not thread-safe: one limiter per calling thread.
 */
typedef struct log_ratelimit {
    int64_t interval_ms;
    unsigned burst;
    int64_t window_start_ms;
    unsigned in_window;
    uint64_t suppressed;
} log_ratelimit;

#define LOG_RATELIMIT_INIT(interval_ms, burst)                                                     \
    { (interval_ms), (burst), 0, 0, 0 }

void log_ratelimit_init(log_ratelimit *rl, int64_t interval_ms, unsigned burst);

/* Logs like log_msg unless the limiter is exhausted. Returns true if written. */
bool log_rl(log_ratelimit *rl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
