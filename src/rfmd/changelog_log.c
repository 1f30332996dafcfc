/*
 * changelog_log — see changelog_log.h.
 *
 * The value is encoded into l->buf (reset per record) and handed to the
 * producer as a copy (owned=false), so the buffer is reused at once; the key
 * is the store's own bytes, copied too.
 */
#include "changelog_log.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "rfm/changelog.h"

void changelog_log_init(changelog_log *l, const char *topic) {
    memset(l, 0, sizeof *l);
    l->topic = topic;
}

void changelog_log_free(changelog_log *l) {
    strbuf_free(&l->buf);
    memset(&l->buf, 0, sizeof l->buf);
}

int changelog_log_write(changelog_log *l, producer *prod, const store *s, const store_customer *c,
                        const segment_map *map, int32_t partition, int64_t input_offset,
                        tracker *trk, tracker_ref *ref) {
    char err[256];
    strbuf_reset(&l->buf);
    if (changelog_encode(s, c, map, &l->buf, err, sizeof err) < 0) {
        if (l->buf.oom) {
            log_error("changelog: out of memory encoding a record");
            tracker_ref_done(trk, ref, false);
            return -1;
        }
        static log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
        size_t klen = 0;
        const char *key = store_key(s, c, &klen);
        log_rl(&rl, LOG_LEVEL_ERROR, "changelog: no record for customer %.*s: %s", (int)klen, key,
               err);
        l->refused++;
        tracker_ref_done(trk, ref, true);
        return 0;
    }
    size_t klen = 0;
    const char *key = store_key(s, c, &klen);
    char off[24];
    int olen = input_offset >= 0 ? snprintf(off, sizeof off, "%lld", (long long)input_offset) : 0;
    producer_msg m = {
        .topic = l->topic,
        .key = key,
        .key_len = klen,
        .value = l->buf.p,
        .len = l->buf.len,
        .owned = false,
        .partitioned = true,
        .partition = partition,
        .header_name = input_offset >= 0 ? CHANGELOG_INPUT_OFFSET_HEADER : NULL,
        .header_value = off,
        .header_len = (size_t)olen,
    };
    int rc = producer_send(prod, &m, ref);
    if (rc == -1)
        return -1;
    if (rc == 0)
        l->records++;
    return 0;
}
