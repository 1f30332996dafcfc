/*
 * round — the group's breakpoints round: the coordinator's and the
 * member's state machines over the control messages (round.h for the
 * protocol, round_internal.h for the messages, round_wire.c for bytes).
 *
 * Coordinator, per attempt:   IDLE -> COLLECT (BEGIN sent) -> ASK (a
 * request out) ... -> IDLE (record published). An overlap of partitions, an
 * answer that does not add up, a timeout without progress or losing the role
 * gives the attempt up; the next attempt of the same version follows after
 * ROUND_RETRY_MS. BEGIN and the current request are sent again every
 * timeout/4 while anyone is missing: a lost message costs a resend, not the
 * attempt.
 *
 * Member:   IDLE -> PENDING (a BEGIN read; its tasks not settled yet) ->
 * HELD (summary sent; input held) -> IDLE (the record, a newer BEGIN, a
 * changed task or the timeout). A repeated BEGIN of the round it holds for
 * gets its summary again; every copy of a request gets an answer (members
 * keep no state between requests, as score_round.h wants).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rfm/score_round.h"
#include "round_internal.h"
#include "util/clock.h"

#define ROUND_RETRY_MS      250  /* a given-up attempt's successor waits this long */
#define ROUND_WANT_EVERY_MS 1000 /* a member asks at most this often */
#define ROUND_MAX_MEMBERS   1024
#define ROUND_SEEN          32 /* attempts a member remembers having summarized for */

typedef enum co_phase { CO_IDLE, CO_COLLECT, CO_ASK } co_phase;
typedef enum me_phase { ME_IDLE, ME_PENDING, ME_HELD } me_phase;

/* One attempt: whose, which version, which attempt. */
typedef struct round_id3 {
    uint64_t coordinator, version;
    uint32_t attempt;
} round_id3;

typedef struct co_member {
    uint64_t id;
    score_round_summary *summary;
    bool answered; /* the current request */
} co_member;

struct round {
    const score_settings *st;
    int32_t nparts;
    uint64_t id;
    int64_t timeout_ms;
    round_hooks h;
    bool coordinator;

    /* ---- coordinator ---- */
    co_phase phase;
    uint64_t version;  /* of the round in progress */
    uint32_t attempt;  /* counts every attempt of this process's life */
    int64_t begin_now; /* the BEGIN's now (epoch s) */
    int64_t begun_ms;  /* monotonic, this attempt */
    int64_t begun_wall_ms;
    int64_t progress_ms; /* last step forward */
    int64_t resent_ms;   /* last send of BEGIN / the request */
    bool want;           /* a round is wanted ... */
    int64_t want_at_ms;  /* ... from then on */
    char want_why[64];
    score_round *sr;
    int64_t *offsets; /* [nparts] covered offsets */
    uint8_t *covered; /* [nparts] */
    int32_t ncovered;
    bool all_caught_up;
    co_member *members; /* [ROUND_MAX_MEMBERS] */
    unsigned nmembers;
    uint32_t step;
    uint8_t *sent; /* the BEGIN or request last sent, for resends */
    size_t sent_len;
    uint64_t round_bytes; /* this attempt's messages, everyone's */
    uint64_t published;   /* highest version this process published */

    /* ---- member ---- */
    me_phase mphase;
    uint64_t m_coord, m_version;
    uint32_t m_attempt;
    int64_t m_now;
    round_id3 seen[ROUND_SEEN]; /* attempts summarized for, a ring */
    unsigned nseen;
    int64_t m_activity_ms;
    int64_t hold_since_ms;
    round_part *mparts; /* [nparts] summarized */
    size_t nmparts;
    round_part *scratch; /* [nparts] */
    uint8_t *summary;    /* the SUMMARY sent, for a repeated BEGIN */
    size_t summary_len;
    int64_t last_want_ms;

    int64_t now_ms;    /* the latest now_ms handed in */
    round_record last; /* last applied */
    round_stats stats;
};

/* ---- small helpers -------------------------------------------------------- */

static int send_msg(round *r, const round_msg *m, bool keep) {
    size_t len;
    uint8_t *buf = round_msg_encode(m, &len);
    if (!buf) {
        log_error("round: out of memory encoding %s", round_kind_name(m->kind));
        return -1;
    }
    int rc = r->h.send(r->h.ctx, buf, len);
    if (rc == 0)
        r->stats.bytes_sent += len;
    else
        log_warning("round: %s v%" PRIu64 " a%u not sent (counted as lost)",
                    round_kind_name(m->kind), m->version, m->attempt);
    if (keep) {
        free(r->sent);
        r->sent = buf;
        r->sent_len = len;
    } else {
        free(buf);
    }
    return 0;
}

static void resend(round *r, int64_t now_ms) {
    r->resent_ms = now_ms;
    if (r->sent && r->h.send(r->h.ctx, r->sent, r->sent_len) == 0)
        r->stats.bytes_sent += r->sent_len;
}

/* ---- coordinator ---------------------------------------------------------- */

static void co_reset(round *r) {
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
    co_reset(r);
    r->want = true;
    r->want_at_ms = now_ms + ROUND_RETRY_MS;
    snprintf(r->want_why, sizeof r->want_why, "retry");
}

static int co_begin(round *r, int64_t now_ms) {
    co_reset(r);
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
    return send_msg(r, &m, true);
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
    r->stats.rounds++;
    r->stats.requests += rec.requests;
    r->stats.last_duration_ms = rec.duration_ms;
    log_info("round v%" PRIu64 " attempt %u done: %zu customers from %u member(s), %u request(s), "
             "%" PRIu64 " bytes, %" PRId64 " ms%s",
             r->version, r->attempt, rec.bp.customers, rec.members, rec.requests, rec.bytes,
             rec.duration_ms, r->all_caught_up ? "" : " (not all caught up: another follows)");
    bool again = !r->all_caught_up;
    co_reset(r);
    if (again && !r->want) {
        r->want = true;
        r->want_at_ms = now_ms + ROUND_FOLLOW_UP_MS;
        snprintf(r->want_why, sizeof r->want_why, "follow-up");
    }
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
    int rc = send_msg(r, &m, true);
    free(q);
    return rc;
}

static int co_on_summary(round *r, const round_msg *m, int64_t now_ms) {
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

static int co_on_answer(round *r, const round_msg *m, int64_t now_ms) {
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

static int co_tick(round *r, int64_t now_ms) {
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
            resend(r, now_ms);
        }
        return 0;
    }
    if (r->want && now_ms >= r->want_at_ms)
        return co_begin(r, now_ms);
    return 0;
}

/* ---- member --------------------------------------------------------------- */

static void me_release(round *r, int64_t now_ms) {
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

static int me_on_begin(round *r, const round_msg *m, int64_t now_ms) {
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
    me_release(r, now_ms);
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

static int me_on_request(round *r, const round_msg *m, int64_t now_ms) {
    if (r->mphase != ME_HELD || m->coordinator != r->m_coord || m->version != r->m_version ||
        m->attempt != r->m_attempt)
        return 0;
    if (!me_parts_same(r)) {
        log_notice("round v%" PRIu64 ": tasks changed since the summary, not answering",
                   r->m_version);
        me_release(r, now_ms);
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
    int rc = send_msg(r, &am, false);
    free(payload);
    r->m_activity_ms = now_ms;
    return rc;
}

static int me_tick(round *r, int64_t now_ms) {
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
        me_release(r, now_ms);
    }
    return 0;
}

/* ---- the API -------------------------------------------------------------- */

round *round_new(const score_settings *st, int32_t partitions, uint64_t member_id,
                 int64_t timeout_ms, const round_hooks *hooks) {
    if (partitions <= 0 || partitions > ROUND_MAX_PARTITIONS)
        return NULL;
    round *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->st = st;
    r->nparts = partitions;
    r->id = member_id;
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    r->h = *hooks;
    r->offsets = calloc((size_t)partitions, sizeof *r->offsets);
    r->covered = calloc((size_t)partitions, 1);
    r->members = calloc(ROUND_MAX_MEMBERS, sizeof *r->members);
    r->mparts = calloc((size_t)partitions, sizeof *r->mparts);
    r->scratch = calloc((size_t)partitions, sizeof *r->scratch);
    r->stats.last_duration_ms = -1;
    r->last_want_ms = INT64_MIN / 2;
    r->all_caught_up = true;
    if (!r->offsets || !r->covered || !r->members || !r->mparts || !r->scratch) {
        round_free(r);
        return NULL;
    }
    return r;
}

void round_free(round *r) {
    if (!r)
        return;
    if (r->covered)
        co_reset(r);
    free(r->offsets);
    free(r->covered);
    free(r->members);
    free(r->mparts);
    free(r->scratch);
    free(r->summary);
    free(r->sent);
    round_record_clear(&r->last);
    free(r);
}

void round_set_coordinator(round *r, bool on) {
    if (r->coordinator == on)
        return;
    r->coordinator = on;
    if (on) {
        log_notice("round: this instance coordinates (owns input partition 0)");
        return;
    }
    if (r->phase != CO_IDLE)
        log_notice("round v%" PRIu64 " attempt %u abandoned: no longer the coordinator", r->version,
                   r->attempt);
    co_reset(r);
    r->want = false;
}

void round_want(round *r, const char *why, int64_t now_ms) {
    if (r->coordinator) {
        if (!r->want || r->want_at_ms > now_ms) {
            r->want = true;
            r->want_at_ms = now_ms;
            snprintf(r->want_why, sizeof r->want_why, "%s", why);
        }
        return;
    }
    if (now_ms - r->last_want_ms < ROUND_WANT_EVERY_MS)
        return;
    r->last_want_ms = now_ms;
    round_msg m = {.kind = ROUND_WANT, .sender = r->id};
    snprintf(m.why, sizeof m.why, "%s", why);
    send_msg(r, &m, false);
}

int round_on_control(round *r, const uint8_t *buf, size_t len, int64_t now_ms) {
    r->stats.bytes_received += len;
    round_msg m;
    char err[256];
    if (round_msg_decode(buf, len, &m, err, sizeof err) < 0) {
        static log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 3);
        log_rl(&rl, LOG_LEVEL_WARNING, "round: control message ignored: %s", err);
        return 0;
    }
    bool mine = r->coordinator && r->phase != CO_IDLE && m.coordinator == r->id &&
                m.version == r->version && m.attempt == r->attempt;
    if (mine)
        r->round_bytes += len;
    int rc = 0;
    switch (m.kind) {
    case ROUND_BEGIN:
        rc = me_on_begin(r, &m, now_ms);
        break;
    case ROUND_SUMMARY:
        if (mine && r->phase == CO_COLLECT)
            rc = co_on_summary(r, &m, now_ms);
        break;
    case ROUND_REQUEST:
        rc = me_on_request(r, &m, now_ms);
        break;
    case ROUND_ANSWER:
        if (mine && r->phase == CO_ASK)
            rc = co_on_answer(r, &m, now_ms);
        break;
    case ROUND_WANT:
        /* Our own too: sent as a member just before the role came. */
        if (r->coordinator)
            round_want(r, m.why[0] ? m.why : "asked", now_ms);
        break;
    }
    round_msg_clear(&m);
    return rc;
}

int round_on_record(round *r, const uint8_t *buf, size_t len, int64_t now_ms) {
    round_record rec;
    char err[256];
    if (round_record_decode(buf, len, &rec, err, sizeof err) < 0) {
        log_warning("round: breakpoints record ignored: %s", err);
        return 1;
    }
    if (rec.version <= r->last.version || rec.partitions != r->nparts ||
        rec.bp.bins != r->st->bins) {
        if (rec.version > r->last.version)
            log_warning("round: breakpoints record v%" PRIu64 " ignored: %d partitions, %d bins "
                        "(this one: %d, %d)",
                        rec.version, rec.partitions, rec.bp.bins, r->nparts, r->st->bins);
        round_record_clear(&rec);
        return 1;
    }
    if (r->h.apply(r->h.ctx, &rec) < 0) {
        round_record_clear(&rec);
        return -1;
    }
    round_record_clear(&r->last);
    r->last = rec;
    r->stats.applied++;
    if (r->mphase != ME_IDLE && r->m_version <= rec.version)
        me_release(r, now_ms);
    if (r->coordinator && r->phase != CO_IDLE && r->version <= rec.version) {
        log_notice("round v%" PRIu64 " attempt %u dropped: v%" PRIu64 " is out already", r->version,
                   r->attempt, rec.version);
        co_reset(r);
    }
    return 0;
}

int round_tick(round *r, int64_t now_ms) {
    r->now_ms = now_ms;
    if (me_tick(r, now_ms) < 0)
        return -1;
    return co_tick(r, now_ms);
}

bool round_holding(const round *r) {
    return r->mphase == ME_HELD;
}

const round_record *round_last(const round *r) {
    return &r->last;
}

uint64_t round_active_version(const round *r, uint32_t *attempt) {
    if (r->phase == CO_IDLE) {
        if (attempt)
            *attempt = 0;
        return 0;
    }
    if (attempt)
        *attempt = r->attempt;
    return r->version;
}

bool round_is_coordinator(const round *r) {
    return r->coordinator;
}

uint64_t round_member_id(const round *r) {
    return r->id;
}

void round_get_stats(const round *r, round_stats *out) {
    *out = r->stats;
    if (r->mphase == ME_HELD)
        out->hold_ms_total += r->now_ms - r->hold_since_ms;
}
