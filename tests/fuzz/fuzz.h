/*
 * What the fuzz targets share: libFuzzer's entry point (declared here because
 * the build warns about functions without a prototype) and a file to hand
 * to code that only reads from a path.
 */
#ifndef RFM_FUZZ_H
#define RFM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FILES 2

/* Path of memory-backed file `slot` (0..FUZZ_FILES-1) holding exactly
 * data[0..size). The files are created once per process and rewritten for
 * every input: a temporary file per input would make the file system the
 * bottleneck and leave files behind whenever a run is killed, and a memfd
 * disappears with the process. The path is reopenable like any file. */
static inline const char *fuzz_file(int slot, const void *data, size_t size) {
    static int fd[FUZZ_FILES] = {-1, -1};
    static char path[FUZZ_FILES][32];
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("rfm-fuzz", MFD_CLOEXEC);
        if (fd[slot] < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0)) {
        perror("ftruncate");
        abort();
    }
    const char *p = data;
    for (size_t off = 0; off < size;) {
        ssize_t n = pwrite(fd[slot], p + off, size - off, (off_t)off);
        if (n <= 0) {
            perror("pwrite");
            abort();
        }
        off += (size_t)n;
    }
    return path[slot];
}

/* A property of the code under test does not hold: abort, which libFuzzer
 * reports like a crash, with the input saved. Written to the descriptor, as
 * a target may have pointed `stderr` elsewhere to mute the code it calls. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            dprintf(STDERR_FILENO, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
