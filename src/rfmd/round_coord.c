/*
 * round_coord — the coordinator's side of the group round (round.h):
 *
 *   IDLE -> COLLECT (BEGIN sent) -> ASK (a request out) ... -> IDLE
 *   (record published)
 *
 * An overlap of partitions, an answer that does not add up, a timeout
 * without progress or losing the role gives the attempt up; the next
 * attempt follows after ROUND_RETRY_MS, one version on (a coordinator
 * behind the group catches up); a round follows a finished one after
 * ROUND_GAP_MS at the earliest, so held input flows in between. BEGIN and the current request are
 * sent again every timeout/4 while anyone is missing: a lost message costs a resend, not the
 * attempt.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rfm/score_round.h"
#include "round_internal.h"
#include "util/clock.h"

/* ---- coordinator ---------------------------------------------------------- */

void round_coord_reset(round *r) {
    score_round_free(r->sr);
    r->sr = NULL;
    for (unsigned i = 0; i < r->nmembers; i++)
        score_round_summary_free(r->members[i].summary);
    r->nmembers = 0;
    memset(r->covered, 0, (size_t)r->nparts);
    r->ncovered = 0;
    r->all_caught_up = true;
    r->round_bytes = 0;
    free(r->sent);
    r->sent = NULL;
    r->phase = CO_IDLE;
}

/* Give the attempt up; the next one follows shortly. */
static void co_restart(round *r, int64_t now_ms, const char *why) {
    log_notice("round v%" PRIu64 " attempt %u given up: %s", r->version, r->attempt, why);
    r->stats.restarted++;
    round_coord_reset(r);
    r->want = true;
    r->want_at_ms = now_ms + ROUND_RETRY_MS;
    snprintf(r->want_why, sizeof r->want_why, "retry");
}

static int co_begin(round *r, int64_t now_ms) {
    round_coord_reset(r);
    /* Past everything seen: the last applied, the last published and the
     * last tried. A coordinator that started behind the group (an older
     * record read at start) sees its BEGINs ignored by members already
     * past that version; each given-up attempt moves one version on, so
     * it catches up instead of retrying one version for ever. */
    uint64_t base = r->last.version > r->published ? r->last.version : r->published;
    if (r->version > base)
        base = r->version;
    r->version = base + 1;
    r->attempt++;
    r->want = false;
    r->begin_now = clock_wall_ms() / 1000;
    r->begun_ms = r->progress_ms = r->resent_ms = now_ms;
    r->begun_wall_ms = clock_wall_ms();
    r->phase = CO_COLLECT;
    r->stats.attempts++;
    log_info("round v%" PRIu64 " attempt %u begins (%s)", r->version, r->attempt, r->want_why);
    round_msg m = {.kind = ROUND_BEGIN,
                   .coordinator = r->id,
                   .version = r->version,
                   .attempt = r->attempt,
                   .sender = r->id,
                   .now = r->begin_now,
                   .partitions = r->nparts};
    return round_send(r, &m, true);
}

static int co_finish(round *r, int64_t now_ms) {
    round_record rec = {.version = r->version,
                        .attempt = r->attempt,
                        .coordinator = r->id,
                        .partitions = r->nparts,
                        .offsets = r->offsets,
                        .members = r->nmembers,
                        .requests = score_round_requests(r->sr),
                        .bytes = r->round_bytes,
                        .duration_ms = now_ms - r->begun_ms,
                        .begun_wall_ms = r->begun_wall_ms};
    if (score_round_result(r->sr, &rec.bp) < 0) {
        co_restart(r, now_ms, "no result");
        return 0;
    }
    size_t len;
    uint8_t *buf = round_record_encode(&rec, &len);
    if (!buf) {
        log_error("round: out of memory encoding the record");
        return -1;
    }
    int rc = r->h.publish(r->h.ctx, buf, len);
    free(buf);
    if (rc < 0) {
        co_restart(r, now_ms, "the breakpoints record was not published");
        return 0;
    }
    r->published = r->version;
    r->finished_ms = now_ms;
    r->stats.rounds++;
    r->stats.requests += rec.requests;
    r->stats.last_duration_ms = rec.duration_ms;
    log_info("round v%" PRIu64 " attempt %u done: %zu customers from %u member(s), %u request(s), "
             "%" PRIu64 " bytes, %" PRId64 " ms%s",
             r->version, r->attempt, rec.bp.customers, rec.members, rec.requests, rec.bytes,
             rec.duration_ms,
             r->all_caught_up ? "" : " (not all caught up: the next when they are)");
    round_coord_reset(r);
    return 0;
}

/* score_round_next and what it says: a request out, the record, or a
 * restart. */
static int co_step(round *r, int64_t now_ms) {
    char err[256];
    score_round_state s = score_round_next(r->sr, err, sizeof err);
    if (s == SCORE_ROUND_FAILED) {
        co_restart(r, now_ms, err);
        return 0;
    }
    if (s == SCORE_ROUND_DONE)
        return co_finish(r, now_ms);
    size_t len;
    uint8_t *q = score_round_request_encode(score_round_request_of(r->sr), &len);
    if (!q) {
        log_error("round: out of memory encoding a request");
        return -1;
    }
    r->step = score_round_requests(r->sr);
    for (unsigned i = 0; i < r->nmembers; i++)
        r->members[i].answered = false;
    r->phase = CO_ASK;
    r->progress_ms = r->resent_ms = now_ms;
    round_msg m = {.kind = ROUND_REQUEST,
                   .coordinator = r->id,
                   .version = r->version,
                   .attempt = r->attempt,
                   .sender = r->id,
                   .step = r->step,
                   .payload = q,
                   .payload_len = len};
    int rc = round_send(r, &m, true);
    free(q);
    return rc;
}

int round_coord_on_summary(round *r, const round_msg *m, int64_t now_ms) {
    for (unsigned i = 0; i < r->nmembers; i++)
        if (r->members[i].id == m->sender)
            return 0; /* a repeat */
    if (r->nmembers == ROUND_MAX_MEMBERS) {
        co_restart(r, now_ms, "too many members");
        return 0;
    }
    for (uint32_t i = 0; i < m->nparts; i++) {
        int32_t p = m->parts[i].partition;
        char why[96];
        if (p >= r->nparts) {
            snprintf(why, sizeof why, "member %016" PRIx64 " has partition %d of %d", m->sender, p,
                     r->nparts);
            co_restart(r, now_ms, why);
            return 0;
        }
        if (r->covered[p]) {
            /* Two members claim it: one has not seen its revocation yet. */
            snprintf(why, sizeof why, "partition %d summarized twice", p);
            co_restart(r, now_ms, why);
            return 0;
        }
    }
    char err[256];
    score_round_summary *s =
        score_round_summary_decode(m->payload, m->payload_len, err, sizeof err);
    if (!s) {
        log_warning("round: summary of member %016" PRIx64 " ignored: %s", m->sender, err);
        return 0;
    }
    r->members[r->nmembers++] = (co_member){.id = m->sender, .summary = s};
    for (uint32_t i = 0; i < m->nparts; i++) {
        int32_t p = m->parts[i].partition;
        r->covered[p] = 1;
        r->offsets[p] = m->parts[i].offset;
        r->all_caught_up = r->all_caught_up && m->parts[i].caught_up;
        r->ncovered++;
    }
    r->progress_ms = now_ms;
    if (r->ncovered < r->nparts)
        return 0;
    /* Every partition once: the computation starts. */
    r->sr = score_round_new(r->st, r->begin_now, r->version - 1,
                            (r->version << 32) | (uint64_t)r->attempt);
    if (!r->sr) {
        log_error("round: out of memory");
        return -1;
    }
    for (unsigned i = 0; i < r->nmembers; i++) {
        if (score_round_add_summary(r->sr, r->members[i].summary, err, sizeof err) < 0) {
            co_restart(r, now_ms, err);
            return 0;
        }
    }
    return co_step(r, now_ms);
}

int round_coord_on_answer(round *r, const round_msg *m, int64_t now_ms) {
    if (m->step != r->step)
        return 0; /* late: an earlier request's */
    unsigned who = 0;
    while (who < r->nmembers && r->members[who].id != m->sender)
        who++;
    if (who == r->nmembers || r->members[who].answered)
        return 0; /* not in this attempt, or a repeat */
    char err[256];
    score_round_answer *a = score_round_answer_decode(m->payload, m->payload_len, err, sizeof err);
    if (!a) {
        log_warning("round: answer of member %016" PRIx64 " ignored: %s", m->sender, err);
        return 0;
    }
    int rc = score_round_add_answer(r->sr, who, a, err, sizeof err);
    score_round_answer_free(a);
    if (rc < 0) {
        co_restart(r, now_ms, err);
        return 0;
    }
    if (rc > 0)
        return 0;
    r->members[who].answered = true;
    r->progress_ms = now_ms;
    for (unsigned i = 0; i < r->nmembers; i++)
        if (!r->members[i].answered)
            return 0;
    return co_step(r, now_ms);
}

int round_coord_tick(round *r, int64_t now_ms) {
    if (!r->coordinator)
        return 0;
    if (r->phase != CO_IDLE) {
        if (now_ms - r->progress_ms > r->timeout_ms) {
            char why[96];
            snprintf(why, sizeof why, "no progress in %" PRId64 " ms (%s, %d of %d partitions)",
                     r->timeout_ms, r->phase == CO_COLLECT ? "summaries" : "answers", r->ncovered,
                     r->nparts);
            co_restart(r, now_ms, why);
        } else if (now_ms - r->resent_ms >= r->timeout_ms / 4) {
            round_resend(r, now_ms);
        }
        return 0;
    }
    if (r->want && now_ms >= r->want_at_ms && now_ms - r->finished_ms >= ROUND_GAP_MS)
        return co_begin(r, now_ms);
    return 0;
}
