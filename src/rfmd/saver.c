/*
 * saver — see saver.h.
 *
 * The child of fork() is a copy of a multi-threaded process with only the
 * forking thread in it: it touches nothing but memory and system calls
 * (snapshot_write is written for that), reports through a pipe and leaves
 * with _exit so no atexit handler or librdkafka destructor runs. It dies
 * with its parent (PR_SET_PDEATHSIG): a restarted rfmd must never race an
 * orphan over the snapshot directory.
 */
#include "saver.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rfm/snapshot.h"
#include "rfm/timefmt.h"
#include "util/clock.h"
#include "util/errbuf.h"

struct saver {
    const config *cfg;
    pid_t child; /* 0 = none */
    int errfd;   /* read end of the child's report pipe */
    int64_t started_ms;
    int64_t started_unix_ms;
    int64_t pause_us;
    int64_t gap_us;     /* longest input interval while the current child writes */
    int64_t gap_out_us; /* the same since the last snapshot ended: the peer figure */
    char why[32];
    saver_stats stats;
};

saver *saver_new(const config *cfg) {
    saver *s = calloc(1, sizeof *s);
    if (s) {
        s->cfg = cfg;
        s->errfd = -1;
    }
    return s;
}

void saver_free(saver *s) {
    if (!s)
        return;
    if (s->child > 0) {
        kill(s->child, SIGKILL);
        waitpid(s->child, NULL, 0);
        log_warning("snapshot (%s) abandoned unfinished; the previous snapshot stays", s->why);
    }
    if (s->errfd >= 0)
        close(s->errfd);
    free(s);
}

bool saver_busy(const saver *s) {
    return s->child > 0;
}

const saver_stats *saver_get_stats(const saver *s) {
    return &s->stats;
}

/* Every partition the state has seen, at its applied position. */
static snapshot_offset *collect_offsets(const tracker *trk, size_t *n) {
    size_t count = tracker_count(trk);
    snapshot_offset *o = calloc(count ? count : 1, sizeof *o);
    *n = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        tracker_partition_info pi;
        tracker_info(trk, i, &pi);
        if (pi.applied == TRACKER_OFFSET_NONE)
            continue;
        snprintf(o[*n].topic, sizeof o[*n].topic, "%s", pi.topic);
        o[*n].partition = pi.partition;
        o[*n].next = pi.applied;
        o[*n].redo_from =
            pi.unsettled <= pi.applied && pi.unsettled >= 0 ? pi.unsettled : pi.applied;
        (*n)++;
    }
    return o;
}

static void child_main(int fd, pid_t parent, const snapshot_source *src, const char *dir) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(3);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is an error to report, not a death */
    /* On a small machine the writer competes with ingestion for a core: let
     * the scheduler favour the parent (the write only gets slower). */
    (void)setpriority(PRIO_PROCESS, 0, 19);
    char path[4096], err[1024];
    int rc = snapshot_save(dir, src, path, sizeof path, err, sizeof err);
    const char *msg = rc ? err : path;
    size_t len = strlen(msg);
    while (len) {
        ssize_t w = write(fd, msg, len);
        if (w <= 0)
            break;
        msg += w;
        len -= (size_t)w;
    }
    _exit(rc ? 1 : 0);
}

int saver_start(saver *s, const store *st, const score_breakpoints *bp, const tracker *trk,
                const char *why) {
    if (s->child > 0)
        return -1;
    size_t n;
    snapshot_offset *offs = collect_offsets(trk, &n);
    int fds[2];
    if (!offs || pipe2(fds, O_CLOEXEC)) {
        log_error("snapshot (%s): %s; the previous snapshot stays", why,
                  offs ? strerror(errno) : "out of memory");
        free(offs);
        s->stats.failed++;
        return -1;
    }
    snapshot_source src = {.store = st,
                           .settings = &s->cfg->scoring,
                           .bp = bp,
                           .segments = &s->cfg->segments,
                           .offsets = offs,
                           .noffsets = n,
                           .created_ms = clock_wall_ms()};
    pid_t parent = getpid();
    int64_t t0 = clock_mono_us();
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], parent, &src, s->cfg->snapshot.dir);
    }
    int64_t fork_us = clock_mono_us() - t0;
    close(fds[1]);
    free(offs);
    if (pid < 0) {
        log_error("snapshot (%s): fork: %s; the previous snapshot stays", why, strerror(errno));
        close(fds[0]);
        s->stats.failed++;
        return -1;
    }
    s->child = pid;
    s->errfd = fds[0];
    s->started_ms = clock_mono_ms();
    s->started_unix_ms = src.created_ms;
    s->pause_us = fork_us;
    s->gap_us = 0;
    snprintf(s->why, sizeof s->why, "%s", why);
    log_debug("snapshot (%s): child %d writing %zu customers, %zu partitions (fork %" PRId64 " us)",
              why, (int)pid, store_count(st), n, fork_us);
    return 0;
}

static int finish(saver *s, int status) {
    char msg[4096];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(s->errfd, msg + len, sizeof msg - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (len += (size_t)r) == sizeof msg - 1)
            break;
    }
    msg[len] = '\0';
    close(s->errfd);
    s->errfd = -1;
    s->child = 0;
    int64_t took = clock_mono_ms() - s->started_ms;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        struct stat st;
        uint64_t bytes = stat(msg, &st) ? 0 : (uint64_t)st.st_size;
        s->stats.written++;
        s->stats.last_ok_unix_ms = s->started_unix_ms;
        s->stats.last_write_ms = took;
        s->stats.last_pause_us = s->pause_us;
        if (s->pause_us > s->stats.max_pause_us)
            s->stats.max_pause_us = s->pause_us;
        s->stats.last_gap_us = s->gap_us;
        if (s->gap_us > s->stats.max_gap_us)
            s->stats.max_gap_us = s->gap_us;
        s->stats.last_bytes = bytes;
        int pruned = snapshot_prune(s->cfg->snapshot.dir, s->cfg->snapshot.keep);
        log_info("snapshot (%s) written: %s, %.1f MB in %" PRId64 " ms; ingestion paused %.1f ms"
                 " (fork), longest gap between input messages %.1f ms (%.1f ms between "
                 "snapshots)%s",
                 s->why, msg, (double)bytes / 1e6, took, (double)s->pause_us / 1000.0,
                 (double)s->gap_us / 1000.0, (double)s->gap_out_us / 1000.0,
                 pruned ? "; older snapshots pruned" : "");
        s->gap_out_us = 0;
        return 1;
    }
    s->stats.failed++;
    if (WIFSIGNALED(status))
        snprintf(msg, sizeof msg, "writer killed by signal %d", WTERMSIG(status));
    log_error("snapshot (%s) failed: %s; the previous snapshot stays, the next one retries "
              "(failures so far: %" PRIu64 ")",
              s->why, msg[0] ? msg : "writer failed", s->stats.failed);
    return -1;
}

void saver_note_input(saver *s, int64_t prev_us, int64_t now_us) {
    if (!prev_us)
        return;
    int64_t *gap = s->child > 0 ? &s->gap_us : &s->gap_out_us;
    if (now_us - prev_us > *gap)
        *gap = now_us - prev_us;
}

int saver_poll(saver *s) {
    if (s->child <= 0)
        return 0;
    int status;
    pid_t r = waitpid(s->child, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return 0;
    if (r < 0)
        status = 1 << 8; /* lost the child: count it as failed */
    return finish(s, status);
}

int saver_wait(saver *s, int timeout_ms) {
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        int rc = saver_poll(s);
        if (rc || s->child <= 0 || clock_mono_ms() >= deadline)
            return rc;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int ensure_dir(const char *dir, char *err, size_t errlen) {
    struct stat st;
    if (!stat(dir, &st)) {
        if (S_ISDIR(st.st_mode))
            return 0;
        errbuf_set(err, errlen, "snapshot.dir %s is not a directory", dir);
        return -1;
    }
    if (errno == ENOENT && !mkdir(dir, 0750)) {
        log_notice("created snapshot directory %s", dir);
        return 0;
    }
    errbuf_set(err, errlen, "snapshot.dir %s: %s", dir, strerror(errno));
    return -1;
}

int saver_prepare(saver *s, char *err, size_t errlen) {
    const char *dir = s->cfg->snapshot.dir;
    if (ensure_dir(dir, err, errlen))
        return -1;
    int temps = snapshot_clean_temps(dir);
    if (temps)
        log_notice("removed %d unfinished snapshot file(s) from %s", temps, dir);
    return 0;
}

int saver_restore(saver *s, bool allow_invalid, store **out, score_breakpoints *bp, tracker *trk,
                  char *err, size_t errlen) {
    const char *dir = s->cfg->snapshot.dir;
    if (saver_prepare(s, err, errlen))
        return -1;
    char **paths;
    size_t n;
    if (snapshot_list(dir, &paths, &n, err, errlen))
        return -1;
    if (!n) {
        log_notice("no snapshot in %s: starting with an empty state, reading every partition "
                   "from its beginning",
                   dir);
        snapshot_list_free(paths, n);
        return 0;
    }
    uint64_t fp = snapshot_fingerprint(&s->cfg->scoring);
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = clock_mono_ms();
        snapshot_info info;
        store *st = NULL;
        char why[1024];
        if (snapshot_load(paths[i], fp, &s->cfg->segments, &st, &info, why, sizeof why)) {
            log_error("snapshot %s is not usable: %s", paths[i], why);
            continue;
        }
        for (size_t k = 0; k < info.noffsets; k++) {
            if (tracker_restore(trk, info.offsets[k].topic, info.offsets[k].partition,
                                info.offsets[k].next, info.offsets[k].redo_from)) {
                errbuf_set(err, errlen, "out of memory restoring offsets");
                snapshot_info_free(&info);
                store_free(st);
                snapshot_list_free(paths, n);
                return -1;
            }
        }
        int64_t took = clock_mono_ms() - t0;
        char when[40];
        timefmt_rfc3339_ms(info.created_ms, when, sizeof when);
        log_notice("restored %s (taken %s): %" PRIu64 " customers, %zu partitions, breakpoints "
                   "v%" PRIu64 ", in %" PRId64 " ms%s",
                   paths[i], when, info.customers, info.noffsets, info.bp.version, took,
                   i ? " (newer snapshots were not usable)" : "");
        *bp = info.bp;
        *out = st;
        s->stats.restore_ms = took > 0 ? took : 1;
        s->stats.restored_customers = info.customers;
        snapshot_info_free(&info);
        snapshot_list_free(paths, n);
        return 1;
    }
    snapshot_list_free(paths, n);
    if (allow_invalid) {
        log_warning("none of the %zu snapshot(s) in %s is usable; starting empty as told "
                    "(--start-empty)",
                    n, dir);
        return 0;
    }
    errbuf_set(err, errlen,
               "none of the %zu snapshot(s) in %s is usable (reasons above); refusing to start "
               "rather than lose the state: move them away or start with --start-empty",
               n, dir);
    return -1;
}
