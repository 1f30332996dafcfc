/*
 * round — the group's breakpoints round: its API (round.h), the messages
 * and records read dispatched to the coordinator's state machine
 * (round_coord.c) and the member's (round_member.c), the role, the stats.
 * round_internal.h holds the state they share; round_wire.c the bytes.
 *
 * Dispatch: a BEGIN or REQUEST goes to the member side (the coordinator is
 * a member of its own rounds too), a SUMMARY or ANSWER of the coordinator's
 * attempt in progress to the coordinator side, a WANT to the coordinator;
 * a record is applied in version order only and ends the member's hold
 * and any attempt of that version or older.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rfm/score_round.h"
#include "round_internal.h"
#include "util/clock.h"

/* ---- small helpers -------------------------------------------------------- */

int round_send(round *r, const round_msg *m, bool keep) {
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

void round_resend(round *r, int64_t now_ms) {
    r->resent_ms = now_ms;
    if (r->sent && r->h.send(r->h.ctx, r->sent, r->sent_len) == 0)
        r->stats.bytes_sent += r->sent_len;
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
    r->finished_ms = INT64_MIN / 2;
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
        round_coord_reset(r);
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
    round_coord_reset(r);
    r->want = false;
}

bool round_ask(round *r, const char *why, int64_t now_ms) {
    if (r->coordinator) {
        if (!r->want || r->want_at_ms > now_ms) {
            r->want = true;
            r->want_at_ms = now_ms;
            snprintf(r->want_why, sizeof r->want_why, "%s", why);
        }
        return true;
    }
    if (now_ms - r->last_want_ms < ROUND_FOLLOW_UP_MS)
        return false;
    r->last_want_ms = now_ms;
    round_msg m = {.kind = ROUND_WANT, .sender = r->id};
    snprintf(m.why, sizeof m.why, "%s", why);
    round_send(r, &m, false);
    return true;
}

void round_want(round *r, const char *why, int64_t now_ms) {
    round_ask(r, why, now_ms);
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
        rc = round_member_on_begin(r, &m, now_ms);
        break;
    case ROUND_SUMMARY:
        if (mine && r->phase == CO_COLLECT)
            rc = round_coord_on_summary(r, &m, now_ms);
        break;
    case ROUND_REQUEST:
        rc = round_member_on_request(r, &m, now_ms);
        break;
    case ROUND_ANSWER:
        if (mine && r->phase == CO_ASK)
            rc = round_coord_on_answer(r, &m, now_ms);
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
        round_member_release(r, now_ms);
    if (r->coordinator && r->phase != CO_IDLE && r->version <= rec.version) {
        log_notice("round v%" PRIu64 " attempt %u dropped: v%" PRIu64 " is out already", r->version,
                   r->attempt, rec.version);
        round_coord_reset(r);
    }
    return 0;
}

int round_tick(round *r, int64_t now_ms) {
    r->now_ms = now_ms;
    if (round_member_tick(r, now_ms) < 0)
        return -1;
    return round_coord_tick(r, now_ms);
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
