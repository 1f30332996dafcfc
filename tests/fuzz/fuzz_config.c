/*
 * fuzz_config — config_load_string (rfmd.yaml, SPEC §7) on arbitrary text.
 *
 * The loader runs at start-up and again on every SIGHUP, in the daemon's own
 * process: a file an operator is half-way through editing must be refused
 * with a message, never crash the running daemon or leak what a refused load
 * had allocated. So every input is loaded, and the loader's own contract is
 * checked: on success the result is usable and freeable; on failure *c is
 * zeroed (safe to free) and err names the problem. Loading from a string is
 * the same code as from a file without the read, so no file is involved.
 */
#include <string.h>

#include "fuzz.h"
#include "rfm/config.h"

static int all_zero(const void *p, size_t n) {
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++)
        if (u[i])
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > CONFIG_MAX_FILE_BYTES)
        return 0; /* config_load refuses bigger files before parsing */
    config c;
    char err[1024] = "";
    if (config_load_string(&c, "fuzz.yaml", (const char *)data, size, err, sizeof err) == 0) {
        FUZZ_CHECK(c.topics.norders >= 1 && c.topics.norders <= CONFIG_MAX_TOPICS);
        FUZZ_CHECK(c.kafka.nconsumer <= CONFIG_MAX_PROPS && c.kafka.nproducer <= CONFIG_MAX_PROPS);
        FUZZ_CHECK(c.fields.order_id && c.fields.customer_id && c.fields.ts && c.fields.amount);
        FUZZ_CHECK(c.scoring.bins >= 2 && c.scoring.bins <= SCORE_BINS_MAX);
        FUZZ_CHECK(c.segments.nsegments >= 0 && c.segments.nsegments <= SEGMENT_MAX);
        /* Scoring looks every RF code up in the map the daemon was given. */
        for (int r = 1; r <= c.scoring.bins; r++)
            for (int f = 1; f <= c.scoring.bins; f++)
                FUZZ_CHECK(segment_of(&c.segments, r, f) <= c.segments.nsegments);
    } else {
        FUZZ_CHECK(err[0]);
        FUZZ_CHECK(all_zero(&c, sizeof c));
    }
    config_free(&c);
    return 0;
}
