/*
 * round_member — a member's side of the group round (round.h):
 *
 *   IDLE -> PENDING (a BEGIN read; its tasks not settled yet) -> HELD
 *   (summary sent; input held) -> IDLE (the record, a newer BEGIN, a
 *   changed task or offset, the timeout)
 *
 * A repeated BEGIN of the attempt it holds for gets its summary again; an
 * attempt it summarized for and let go of is sat out; every copy of a
 * request gets an answer (members keep no state between requests, as
 * score_round.h wants).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rfm/score_round.h"
#include "round_internal.h"
#include "util/clock.h"

/* ---- member --------------------------------------------------------------- */

void round_member_release(round *r, int64_t now_ms) {
    if (r->mphase == ME_HELD)
        r->stats.hold_ms_total += now_ms - r->hold_since_ms;
    r->mphase = ME_IDLE;
    free(r->summary);
    r->summary = NULL;
    r->nmparts = 0;
}

static void stores_of(const round_part *parts, size_t n, const store **out) {
    for (size_t i = 0; i < n; i++)
        out[i] = parts[i].store;
}

/* PENDING: summarize once the tasks are settled. */
static int me_summarize(round *r, int64_t now_ms) {
    int n = r->h.parts(r->h.ctx, r->scratch, (size_t)r->nparts);
    if (n < 0)
        return 0; /* not ready: the next tick asks again */
    if (n == 0) {
        r->mphase = ME_IDLE; /* nothing of ours to count */
        return 0;
    }
    const store **stores = malloc((size_t)n * sizeof *stores);
    if (!stores)
        return -1;
    stores_of(r->scratch, (size_t)n, stores);
    score_round_summary *s = score_round_summary_take(r->st, stores, (size_t)n, r->m_now);
    free(stores);
    size_t plen = 0;
    uint8_t *payload = s ? score_round_summary_encode(s, &plen) : NULL;
    score_round_summary_free(s);
    if (!payload) {
        log_error("round: out of memory taking a summary");
        return -1;
    }
    round_msg m = {.kind = ROUND_SUMMARY,
                   .coordinator = r->m_coord,
                   .version = r->m_version,
                   .attempt = r->m_attempt,
                   .sender = r->id,
                   .nparts = (uint32_t)n,
                   .parts = r->scratch,
                   .payload = payload,
                   .payload_len = plen};
    free(r->summary);
    r->summary = round_msg_encode(&m, &r->summary_len);
    free(payload);
    if (!r->summary)
        return -1;
    memcpy(r->mparts, r->scratch, (size_t)n * sizeof *r->mparts);
    r->nmparts = (size_t)n;
    r->mphase = ME_HELD;
    r->seen[r->nseen++ % ROUND_SEEN] =
        (round_id3){.coordinator = r->m_coord, .version = r->m_version, .attempt = r->m_attempt};
    r->hold_since_ms = r->m_activity_ms = now_ms;
    r->stats.summaries++;
    if (r->h.send(r->h.ctx, r->summary, r->summary_len) == 0)
        r->stats.bytes_sent += r->summary_len;
    return 0;
}

int round_member_on_begin(round *r, const round_msg *m, int64_t now_ms) {
    if (m->partitions != r->nparts) {
        static log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 1);
        log_rl(&rl, LOG_LEVEL_WARNING,
               "round: BEGIN of %016" PRIx64 " for %d partitions ignored (this one has %d)",
               m->sender, m->partitions, r->nparts);
        return 0;
    }
    if (m->version <= r->last.version)
        return 0; /* a stale coordinator's */
    bool same =
        m->coordinator == r->m_coord && m->version == r->m_version && m->attempt == r->m_attempt;
    if (same && r->mphase == ME_HELD) {
        /* A resend: our summary may have been lost. */
        if (r->h.send(r->h.ctx, r->summary, r->summary_len) == 0)
            r->stats.bytes_sent += r->summary_len;
        r->m_activity_ms = now_ms;
        return 0;
    }
    if (same && r->mphase == ME_PENDING)
        return 0;
    /* Once this member summarized for an attempt and let go of it (its
     * hold timed out, its tasks changed, another coordinator's BEGIN came
     * between), its stores have moved on: a second summary would pair new
     * counts with the offsets and answers the coordinator already holds.
     * It sits the attempt out. */
    for (unsigned i = 0; i < ROUND_SEEN && i < r->nseen; i++)
        if (r->seen[i].coordinator == m->coordinator && r->seen[i].version == m->version &&
            r->seen[i].attempt == m->attempt)
            return 0;
    round_member_release(r, now_ms);
    r->m_coord = m->coordinator;
    r->m_version = m->version;
    r->m_attempt = m->attempt;
    r->m_now = m->now;
    r->m_activity_ms = now_ms;
    r->mphase = ME_PENDING;
    return me_summarize(r, now_ms);
}

/* The tasks summarized are still here, unchanged in kind. */
static bool me_parts_same(round *r) {
    int n = r->h.parts(r->h.ctx, r->scratch, (size_t)r->nparts);
    if (n < 0 || (size_t)n != r->nmparts)
        return false;
    for (size_t i = 0; i < r->nmparts; i++)
        if (r->scratch[i].partition != r->mparts[i].partition ||
            r->scratch[i].uid != r->mparts[i].uid || r->scratch[i].store != r->mparts[i].store ||
            r->scratch[i].offset != r->mparts[i].offset)
            return false;
    return true;
}

int round_member_on_request(round *r, const round_msg *m, int64_t now_ms) {
    if (r->mphase != ME_HELD || m->coordinator != r->m_coord || m->version != r->m_version ||
        m->attempt != r->m_attempt)
        return 0;
    if (!me_parts_same(r)) {
        log_notice("round v%" PRIu64 ": tasks changed since the summary, not answering",
                   r->m_version);
        round_member_release(r, now_ms);
        return 0;
    }
    char err[256];
    score_round_request *q =
        score_round_request_decode(m->payload, m->payload_len, err, sizeof err);
    if (!q) {
        log_warning("round: request ignored: %s", err);
        return 0;
    }
    const store **stores = malloc(r->nmparts * sizeof *stores);
    score_round_answer *a = NULL;
    if (stores) {
        stores_of(r->mparts, r->nmparts, stores);
        a = score_round_answer_make(stores, r->nmparts, q);
    }
    free(stores);
    score_round_request_free(q);
    size_t plen = 0;
    uint8_t *payload = a ? score_round_answer_encode(a, &plen) : NULL;
    score_round_answer_free(a);
    if (!payload) {
        log_error("round: out of memory answering");
        return -1;
    }
    round_msg am = {.kind = ROUND_ANSWER,
                    .coordinator = r->m_coord,
                    .version = r->m_version,
                    .attempt = r->m_attempt,
                    .sender = r->id,
                    .step = m->step,
                    .payload = payload,
                    .payload_len = plen};
    int rc = round_send(r, &am, false);
    free(payload);
    r->m_activity_ms = now_ms;
    return rc;
}

int round_member_tick(round *r, int64_t now_ms) {
    if (r->mphase == ME_PENDING) {
        if (now_ms - r->m_activity_ms > r->timeout_ms) {
            r->mphase = ME_IDLE;
            return 0;
        }
        return me_summarize(r, now_ms);
    }
    if (r->mphase == ME_HELD && now_ms - r->m_activity_ms > r->timeout_ms) {
        log_notice("round v%" PRIu64 ": nothing heard in %" PRId64 " ms, input released",
                   r->m_version, r->timeout_ms);
        round_member_release(r, now_ms);
    }
    return 0;
}
