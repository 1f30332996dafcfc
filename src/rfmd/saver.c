/*
 * saver — see saver.h.
 *
 * The child of fork() is a copy of a multi-threaded process with only the
 * forking thread in it: it touches nothing but memory and system calls
 * (snapshot_write is written for that), reports through a pipe and leaves
 * with _exit so no atexit handler or librdkafka destructor runs. It dies
 * with its parent (PR_SET_PDEATHSIG): a restarted rfmd must never race an
 * orphan over the snapshot directory.
 *
 * The report is one line per partition, in the order written:
 *   "<partition> OK <bytes> <path>\n" or "<partition> ERR <reason>\n".
 * The parent drains the pipe on every poll (non-blocking), so a child of many
 * partitions never blocks on a full pipe; a partition without a line when
 * the child is reaped was not written (the child died on the way).
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
#include "rfm/timefmt.h"
#include "util/clock.h"
#include "util/errbuf.h"

/* A partition the running child writes. */
typedef struct saver_job {
    int32_t partition;
    uint64_t customers;
    bool reported;
} saver_job;

/* A partition written (or dropped) in this process while the child ran: the
 * child's file of it holds older state. name: the basename written here, ""
 * for a drop (any child file of it goes). */
typedef struct saver_superseded {
    int32_t partition;
    char name[64];
} saver_superseded;

struct saver {
    const config *cfg;
    pid_t child; /* 0 = none */
    int errfd;   /* read end of the child's report pipe, non-blocking */
    char *rep;   /* the report read so far */
    size_t replen, repcap;
    saver_job *jobs;
    size_t njobs;
    saver_superseded *sup;
    size_t nsup, capsup;
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

static void saver_child_forget(saver *s) {
    if (s->errfd >= 0)
        close(s->errfd);
    s->errfd = -1;
    s->child = 0;
    s->replen = 0;
    free(s->jobs);
    s->jobs = NULL;
    s->njobs = 0;
    s->nsup = 0;
}

void saver_free(saver *s) {
    if (!s)
        return;
    if (s->child > 0) {
        kill(s->child, SIGKILL);
        waitpid(s->child, NULL, 0);
        log_warning("snapshot (%s) abandoned unfinished; the previous snapshots stay", s->why);
    }
    saver_child_forget(s);
    free(s->rep);
    free(s->sup);
    free(s);
}

bool saver_busy(const saver *s) {
    return s->child > 0;
}

const saver_stats *saver_get_stats(const saver *s) {
    return &s->stats;
}

static int saver_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* dir = partition p's directory, created (and its creation made durable)
 * when missing. 0, or -1 with err. Only system calls: the child uses it. */
static int saver_part_dir(const char *root, int32_t p, char *dir, size_t len, char *err,
                          size_t errlen) {
    if (snapshot_partition_dir(root, p, dir, len)) {
        snprintf(err, errlen, "snapshot directory name too long (or partition %ld < 0)", (long)p);
        return -1;
    }
    if (!mkdir(dir, 0750)) {
        if (saver_fsync_dir(root)) {
            snprintf(err, errlen, "fsync of directory %s: %s", root, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return -1;
}

static void saver_write_all(int fd, const char *msg, size_t len) {
    while (len) {
        ssize_t w = write(fd, msg, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        msg += w;
        len -= (size_t)w;
    }
}

static void saver_child_main(int fd, pid_t parent, const saver_part *parts, size_t nparts,
                             const snapshot_source *base, const char *root) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(3);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is an error to report, not a death */
    /* On a small machine the writer competes with ingestion for a core: let
     * the scheduler favour the parent (the write only gets slower). */
    (void)setpriority(PRIO_PROCESS, 0, 19);
    int failed = 0;
    for (size_t i = 0; i < nparts; i++) {
        char dir[4096], path[4096], err[1024], line[8192];
        snapshot_source src = *base;
        src.store = parts[i].store;
        src.offsets = parts[i].offsets;
        src.noffsets = parts[i].noffsets;
        int rc = saver_part_dir(root, parts[i].partition, dir, sizeof dir, err, sizeof err);
        if (!rc)
            rc = snapshot_save(dir, &src, path, sizeof path, err, sizeof err);
        int n;
        if (rc) {
            for (char *c = err; *c; c++)
                if (*c == '\n')
                    *c = ' ';
            n = snprintf(line, sizeof line, "%ld ERR %s\n", (long)parts[i].partition, err);
            failed = 1;
        } else {
            struct stat st;
            unsigned long long bytes = stat(path, &st) ? 0 : (unsigned long long)st.st_size;
            n = snprintf(line, sizeof line, "%ld OK %llu %s\n", (long)parts[i].partition, bytes,
                         path);
        }
        if (n > 0)
            saver_write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    _exit(failed);
}

int saver_start(saver *s, const saver_part *parts, size_t nparts, const score_breakpoints *bp,
                const char *why) {
    if (s->child > 0)
        return -1;
    if (!nparts)
        return 0;
    saver_job *jobs = calloc(nparts, sizeof *jobs);
    int fds[2];
    if (!jobs || pipe2(fds, O_CLOEXEC)) {
        log_error("snapshot (%s): %s; the previous snapshots stay", why,
                  jobs ? strerror(errno) : "out of memory");
        free(jobs);
        s->stats.failed++;
        return -1;
    }
    (void)fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    uint64_t customers = 0;
    for (size_t i = 0; i < nparts; i++) {
        jobs[i].partition = parts[i].partition;
        jobs[i].customers = store_count(parts[i].store);
        customers += jobs[i].customers;
    }
    snapshot_source base = {.settings = &s->cfg->scoring,
                            .bp = bp,
                            .segments = &s->cfg->segments,
                            .created_ms = clock_wall_ms()};
    pid_t parent = getpid();
    int64_t t0 = clock_mono_us();
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        saver_child_main(fds[1], parent, parts, nparts, &base, s->cfg->snapshot.dir);
    }
    int64_t fork_us = clock_mono_us() - t0;
    close(fds[1]);
    if (pid < 0) {
        log_error("snapshot (%s): fork: %s; the previous snapshots stay", why, strerror(errno));
        close(fds[0]);
        free(jobs);
        s->stats.failed++;
        return -1;
    }
    s->child = pid;
    s->errfd = fds[0];
    s->replen = 0;
    s->jobs = jobs;
    s->njobs = nparts;
    s->nsup = 0;
    s->started_ms = clock_mono_ms();
    s->started_unix_ms = base.created_ms;
    s->pause_us = fork_us;
    s->gap_us = 0;
    snprintf(s->why, sizeof s->why, "%s", why);
    log_debug("snapshot (%s): child %d writing %zu partitions, %" PRIu64 " customers (fork %" PRId64
              " us)",
              why, (int)pid, nparts, customers, fork_us);
    return 0;
}

/* Read what the child has written so far (all of it once it has exited). */
static void saver_drain(saver *s) {
    if (s->errfd < 0)
        return;
    for (;;) {
        if (s->repcap - s->replen < 4096) {
            size_t cap = s->repcap ? s->repcap * 2 : 8192;
            char *p = realloc(s->rep, cap);
            if (!p)
                return; /* the rest stays in the pipe; missing lines count as failed */
            s->rep = p;
            s->repcap = cap;
        }
        ssize_t r = read(s->errfd, s->rep + s->replen, s->repcap - s->replen - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        s->replen += (size_t)r;
    }
    if (s->rep)
        s->rep[s->replen] = '\0';
}

static saver_job *saver_job_of(saver *s, long p) {
    for (size_t i = 0; i < s->njobs; i++)
        if (s->jobs[i].partition == p && !s->jobs[i].reported)
            return &s->jobs[i];
    return NULL;
}

/* The child's file `path` of partition p holds older state than one written
 * here meanwhile: delete it. Returns true when it went. */
static bool saver_superseded_file(saver *s, long p, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < s->nsup; i++) {
        if (s->sup[i].partition != p || (s->sup[i].name[0] && strcmp(base, s->sup[i].name) <= 0))
            continue;
        if (!unlink(path)) {
            log_info("snapshot (%s) of partition %ld: %s removed, a newer state of the partition "
                     "was saved (or dropped) meanwhile",
                     s->why, p, path);
            return true;
        }
    }
    return false;
}

static int saver_finish(saver *s, int status) {
    saver_drain(s);
    int64_t took = clock_mono_ms() - s->started_ms;
    size_t ok = 0, bad = 0, superseded = 0;
    uint64_t bytes = 0, customers = 0;
    int pruned = 0;
    char *line = s->rep ? s->rep : "";
    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        char *end;
        long p = strtol(line, &end, 10);
        saver_job *job = saver_job_of(s, p);
        if (!job || end == line)
            continue;
        job->reported = true;
        if (!strncmp(end, " OK ", 4)) {
            char *path;
            unsigned long long b = strtoull(end + 4, &path, 10);
            path += *path == ' ';
            ok++;
            if (saver_superseded_file(s, p, path)) {
                superseded++;
                continue;
            }
            bytes += b;
            customers += job->customers;
            char dir[4096];
            if (!snapshot_partition_dir(s->cfg->snapshot.dir, (int32_t)p, dir, sizeof dir))
                pruned += snapshot_prune(dir, s->cfg->snapshot.keep);
        } else {
            bad++;
            log_error("snapshot (%s) of partition %ld failed: %s; its previous snapshot stays",
                      s->why, p, !strncmp(end, " ERR ", 5) ? end + 5 : "writer failed");
        }
    }
    for (size_t i = 0; i < s->njobs; i++) {
        if (s->jobs[i].reported)
            continue;
        char why[64] = "writer failed";
        if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "writer killed by signal %d", WTERMSIG(status));
        bad++;
        log_error("snapshot (%s) of partition %ld failed: %s; its previous snapshot stays", s->why,
                  (long)s->jobs[i].partition, why);
    }
    size_t nparts = s->njobs;
    saver_child_forget(s);
    if (!bad && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
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
        log_info("snapshot (%s) written: %zu partitions, %" PRIu64 " customers, %.1f MB in %" PRId64
                 " ms%s; ingestion paused %.1f ms (fork), longest gap between input messages %.1f "
                 "ms (%.1f ms between snapshots)%s",
                 s->why, ok, customers, (double)bytes / 1e6, took,
                 superseded ? " (some superseded meanwhile by newer saves, removed)" : "",
                 (double)s->pause_us / 1000.0, (double)s->gap_us / 1000.0,
                 (double)s->gap_out_us / 1000.0, pruned ? "; older snapshots pruned" : "");
        s->gap_out_us = 0;
        return 1;
    }
    s->stats.failed++;
    log_error("snapshot (%s) failed for %zu of %zu partitions (%zu written, %" PRIu64
              " customers); the next one retries (failures so far: %" PRIu64 ")",
              s->why, bad, nparts, ok, customers, s->stats.failed);
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
    saver_drain(s);
    int status;
    pid_t r = waitpid(s->child, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return 0;
    if (r < 0)
        status = 1 << 8; /* lost the child: count it as failed */
    return saver_finish(s, status);
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

/* Remember that partition p's child file is older than name ("" = any). */
static void saver_supersede(saver *s, int32_t p, const char *path) {
    if (s->child <= 0)
        return;
    if (s->nsup == s->capsup) {
        size_t cap = s->capsup ? s->capsup * 2 : 8;
        saver_superseded *q = realloc(s->sup, cap * sizeof *q);
        if (!q)
            return; /* the child's older file stays: consistent, only older */
        s->sup = q;
        s->capsup = cap;
    }
    const char *base = path ? strrchr(path, '/') : NULL;
    s->sup[s->nsup].partition = p;
    int w = snprintf(s->sup[s->nsup].name, sizeof s->sup[s->nsup].name, "%s",
                     base   ? base + 1
                     : path ? path
                            : "");
    if (w < 0 || (size_t)w >= sizeof s->sup[s->nsup].name)
        return; /* not a checkpoint name of ours: its older file stays, as above */
    s->nsup++;
}

int saver_save_partition(saver *s, const saver_part *part, const score_breakpoints *bp,
                         const char *why) {
    int64_t t0 = clock_mono_ms();
    char dir[4096], path[4096], err[1024];
    snapshot_source src = {.store = part->store,
                           .settings = &s->cfg->scoring,
                           .bp = bp,
                           .segments = &s->cfg->segments,
                           .offsets = part->offsets,
                           .noffsets = part->noffsets,
                           .created_ms = clock_wall_ms()};
    if (saver_part_dir(s->cfg->snapshot.dir, part->partition, dir, sizeof dir, err, sizeof err) ||
        snapshot_save(dir, &src, path, sizeof path, err, sizeof err)) {
        s->stats.failed++;
        log_error("snapshot (%s) of partition %ld failed: %s; its previous snapshot stays", why,
                  (long)part->partition, err);
        return -1;
    }
    saver_supersede(s, part->partition, path);
    struct stat st;
    uint64_t bytes = stat(path, &st) ? 0 : (uint64_t)st.st_size;
    int pruned = snapshot_prune(dir, s->cfg->snapshot.keep);
    log_info("snapshot (%s) of partition %ld written: %s, %zu customers, %.1f MB in %" PRId64
             " ms%s",
             why, (long)part->partition, path, store_count(part->store), (double)bytes / 1e6,
             clock_mono_ms() - t0, pruned ? "; older snapshots pruned" : "");
    return 0;
}

int saver_load_partition(saver *s, int32_t partition, store **out, snapshot_info *info, char *err,
                         size_t errlen) {
    char dir[4096];
    if (snapshot_partition_dir(s->cfg->snapshot.dir, partition, dir, sizeof dir)) {
        errbuf_set(err, errlen, "snapshot directory name too long (or partition %ld < 0)",
                   (long)partition);
        return -1;
    }
    struct stat sb;
    if (stat(dir, &sb)) {
        if (errno == ENOENT)
            return 0;
        errbuf_set(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        errbuf_set(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    char **paths;
    size_t n;
    if (snapshot_list(dir, &paths, &n, err, errlen))
        return -1;
    uint64_t fp = snapshot_fingerprint(&s->cfg->scoring);
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = clock_mono_ms();
        store *st = NULL;
        char why[1024];
        if (snapshot_load(paths[i], fp, &s->cfg->segments, &st, info, why, sizeof why)) {
            log_error("snapshot %s is not usable: %s", paths[i], why);
            continue;
        }
        int64_t took = clock_mono_ms() - t0;
        char when[40];
        timefmt_rfc3339_ms(info->created_ms, when, sizeof when);
        log_notice("restored partition %ld from %s (taken %s): %" PRIu64 " customers, %zu "
                   "offsets, breakpoints v%" PRIu64 ", in %" PRId64 " ms%s",
                   (long)partition, paths[i], when, info->customers, info->noffsets,
                   info->bp.version, took, i ? " (newer snapshots were not usable)" : "");
        *out = st;
        s->stats.restore_ms += took > 0 ? took : 1;
        s->stats.restored_customers += info->customers;
        snapshot_list_free(paths, n);
        return 1;
    }
    snapshot_list_free(paths, n);
    if (!n)
        return 0;
    errbuf_set(err, errlen,
               "none of the %zu snapshot(s) of partition %ld in %s is usable "
               "(reasons above)",
               n, (long)partition, dir);
    return -2;
}

int saver_drop_partition(saver *s, int32_t partition) {
    char dir[4096];
    if (snapshot_partition_dir(s->cfg->snapshot.dir, partition, dir, sizeof dir))
        return 0;
    saver_supersede(s, partition, NULL);
    int gone = snapshot_prune(dir, 0);
    if (gone)
        log_notice("dropped %d snapshot(s) of partition %ld from %s", gone, (long)partition, dir);
    return gone;
}

static int saver_ensure_dir(const char *dir, char *err, size_t errlen) {
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
    const char *root = s->cfg->snapshot.dir;
    if (saver_ensure_dir(root, err, errlen))
        return -1;
    int temps = snapshot_clean_temps(root);
    int32_t *parts;
    size_t nparts;
    if (snapshot_list_partitions(root, &parts, &nparts, err, errlen))
        return -1;
    for (size_t i = 0; i < nparts; i++) {
        char dir[4096];
        if (!snapshot_partition_dir(root, parts[i], dir, sizeof dir))
            temps += snapshot_clean_temps(dir);
    }
    free(parts);
    if (temps)
        log_notice("removed %d unfinished snapshot file(s) from %s", temps, root);
    char **old;
    size_t nold;
    if (snapshot_list(root, &old, &nold, err, errlen))
        return -1;
    snapshot_list_free(old, nold);
    if (nold)
        log_notice("%zu snapshot file(s) of the old layout (one store, directly in %s) are "
                   "ignored: the state is rebuilt from the changelog or the input; they are "
                   "left alone (delete them when no longer wanted)",
                   nold, root);
    return 0;
}
