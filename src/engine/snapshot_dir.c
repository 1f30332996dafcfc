/*
 * snapshot_dir — publishing, listing and pruning snapshot files (contract in
 * include/rfm/snapshot.h).
 *
 * Publication follows rdb.c: write a temporary file in the same directory,
 * fsync it, rename it over its final name (atomic within a file system), then
 * fsync the directory so the rename itself survives a power cut. A reader
 * therefore only ever sees complete files; a writer killed half-way leaves a
 * hidden .tmp file that the next start removes.
 *
 * Two writers may work in one directory at once (rfmd's forked writer and its
 * own process saving a partition it is about to give up): the temporary name
 * carries the writer's pid, and the rename never replaces an existing
 * snapshot (RENAME_NOREPLACE; on a name taken meanwhile the next stamp is
 * tried), so neither can clobber the other's file.
 *
 * Partitioned layout: <root>/partition-<N>/ (N decimal, no padding), each an
 * ordinary snapshot directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rfm/snapshot.h"

#define PREFIX      "rfmd-"
#define SUFFIX      ".snap"
#define TMP_PREFIX  ".rfmd-"
#define TMP_SUFFIX  ".snap.tmp"
#define STAMP_LEN   15
#define PART_PREFIX "partition-"
/* Names tried after the first when a concurrent writer took it. */
#define PUBLISH_TRIES 1000

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* rfmd-<15 digits>.snap */
static int is_snapshot_name(const char *name) {
    size_t plen = strlen(PREFIX);
    if (strlen(name) != plen + STAMP_LEN + strlen(SUFFIX) || strncmp(name, PREFIX, plen))
        return 0;
    for (size_t i = 0; i < STAMP_LEN; i++)
        if (name[plen + i] < '0' || name[plen + i] > '9')
            return 0;
    return ends_with(name, SUFFIX);
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int snapshot_save(const char *dir, const snapshot_source *src, char *path, size_t pathlen,
                  char *err, size_t errlen) {
    /* Names must grow with time even if the clock stands still or steps
     * back: never reuse or undercut the newest existing name. */
    long long stamp = src->created_ms;
    char **have = NULL;
    size_t nhave = 0;
    if (!snapshot_list(dir, &have, &nhave, err, errlen) && nhave) {
        const char *base = strrchr(have[0], '/');
        long long newest = atoll((base ? base + 1 : have[0]) + strlen(PREFIX));
        if (stamp <= newest)
            stamp = newest + 1;
    }
    snapshot_list_free(have, nhave);

    char tmp[4096];
    int n1 = snprintf(tmp, sizeof tmp, "%s/" TMP_PREFIX "%0*lld-%ld" TMP_SUFFIX, dir, STAMP_LEN,
                      stamp, (long)getpid());
    int n2 = snprintf(path, pathlen, "%s/" PREFIX "%0*lld" SUFFIX, dir, STAMP_LEN, stamp);
    if (n1 < 0 || (size_t)n1 >= sizeof tmp || n2 < 0 || (size_t)n2 >= pathlen) {
        snprintf(err, errlen, "snapshot directory name too long");
        return -1;
    }
    if (snapshot_write(tmp, src, err, errlen)) {
        unlink(tmp);
        return -1;
    }
    for (int tries = 0;; tries++) {
        if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE))
            break;
        int e = errno;
        if ((e == EINVAL || e == ENOSYS) && !rename(tmp, path))
            break; /* a file system without RENAME_NOREPLACE: the plain rename */
        if (e == EEXIST && tries < PUBLISH_TRIES) {
            snprintf(path, pathlen, "%s/" PREFIX "%0*lld" SUFFIX, dir, STAMP_LEN, ++stamp);
            continue;
        }
        snprintf(err, errlen, "rename %s: %s", tmp,
                 strerror(e == EINVAL || e == ENOSYS ? errno : e));
        unlink(tmp);
        return -1;
    }
    if (fsync_dir(dir)) {
        snprintf(err, errlen, "fsync of directory %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int newest_first(const void *a, const void *b) {
    return strcmp(*(char *const *)b, *(char *const *)a);
}

int snapshot_list(const char *dir, char ***paths, size_t *n, char *err, size_t errlen) {
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "snapshot directory %s: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!is_snapshot_name(e->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(*paths, cap * sizeof *p);
            if (!p) {
                rc = -1;
                break;
            }
            *paths = p;
        }
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *full = malloc(len);
        if (!full) {
            rc = -1;
            break;
        }
        snprintf(full, len, "%s/%s", dir, e->d_name);
        (*paths)[(*n)++] = full;
    }
    closedir(d);
    if (rc) {
        snprintf(err, errlen, "out of memory listing %s", dir);
        snapshot_list_free(*paths, *n);
        *paths = NULL;
        *n = 0;
        return -1;
    }
    if (*n)
        qsort(*paths, *n, sizeof **paths, newest_first);
    return 0;
}

void snapshot_list_free(char **paths, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int snapshot_prune(const char *dir, int keep) {
    char **paths;
    size_t n;
    char err[256];
    if (snapshot_list(dir, &paths, &n, err, sizeof err))
        return 0;
    int gone = 0;
    for (size_t i = keep > 0 ? (size_t)keep : 0; i < n; i++)
        gone += unlink(paths[i]) == 0;
    snapshot_list_free(paths, n);
    return gone;
}

int snapshot_clean_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int gone = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) || !ends_with(e->d_name, TMP_SUFFIX))
            continue;
        gone += unlinkat(dirfd(d), e->d_name, 0) == 0;
    }
    closedir(d);
    return gone;
}

int snapshot_partition_dir(const char *root, int32_t partition, char *buf, size_t len) {
    int n = snprintf(buf, len, "%s/" PART_PREFIX "%ld", root, (long)partition);
    return partition < 0 || n < 0 || (size_t)n >= len ? -1 : 0;
}

/* partition-<digits>, canonical (no sign, no leading zero), within int32. */
static int partition_of_name(const char *name, int32_t *p) {
    size_t plen = strlen(PART_PREFIX);
    if (strncmp(name, PART_PREFIX, plen))
        return -1;
    const char *d = name + plen;
    if (!*d || (d[0] == '0' && d[1]))
        return -1;
    long long v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        v = v * 10 + (*d - '0');
        if (v > INT32_MAX)
            return -1;
    }
    *p = (int32_t)v;
    return 0;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int snapshot_list_partitions(const char *root, int32_t **parts, size_t *n, char *err,
                             size_t errlen) {
    *parts = NULL;
    *n = 0;
    DIR *d = opendir(root);
    if (!d) {
        snprintf(err, errlen, "snapshot directory %s: %s", root, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        int32_t p;
        struct stat st;
        if (partition_of_name(e->d_name, &p) || fstatat(dirfd(d), e->d_name, &st, 0) ||
            !S_ISDIR(st.st_mode))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int32_t *q = realloc(*parts, cap * sizeof *q);
            if (!q) {
                rc = -1;
                break;
            }
            *parts = q;
        }
        (*parts)[(*n)++] = p;
    }
    closedir(d);
    if (rc) {
        snprintf(err, errlen, "out of memory listing %s", root);
        free(*parts);
        *parts = NULL;
        *n = 0;
        return -1;
    }
    if (*n)
        qsort(*parts, *n, sizeof **parts, cmp_i32);
    return 0;
}
