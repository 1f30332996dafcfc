/*
 * tracker — see tracker.h for the model.
 *
 * Each partition keeps its in-flight entries in one array, oldest first,
 * sorted by offset: consumption appends at the back (offsets only grow), a
 * delivery report finds its entry by binary search, and completed entries are
 * dropped from the front, so the front is always the oldest message whose
 * effects are not all delivered — exactly the committable position. The live
 * part is entries[head..len); the dead prefix is reclaimed when it dominates.
 *
 * Offsets can go backwards (a partition revoked and later re-assigned at an
 * older committed offset): such an entry is inserted in order, and `applied`
 * never moves backwards, because the state already holds the later effects.
 *
 * A failed delivery leaves its entry pending for good, so the partition's
 * committed offset stays before it; the daemon exits on such failures anyway.
 */
#include "tracker.h"

#include <stdlib.h>
#include <string.h>

typedef struct trk_entry {
    int64_t offset;
    uint32_t pending; /* refs outstanding + 1 while the message is being processed */
} trk_entry;

typedef struct trk_part {
    char *topic;
    int32_t partition;
    bool assigned, eof;
    bool reached_end; /* EOF seen since the last assignment (latched) */
    int64_t applied, committed;
    int64_t redo_from; /* restored redo range start, NONE once consumed past it */
    trk_entry *e;
    size_t head, len, cap;
} trk_part;

struct tracker {
    trk_part *parts;
    size_t n, cap;
    size_t last_hit;
    size_t pending;        /* refs not yet reported */
    size_t global_pending; /* rescore refs not yet delivered */
    bool global_failed;
};

struct tracker_ref {
    int slot; /* -1 = global */
    int64_t offset;
};

tracker *tracker_new(void) {
    return calloc(1, sizeof(tracker));
}

void tracker_free(tracker *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->parts[i].topic);
        free(t->parts[i].e);
    }
    free(t->parts);
    free(t);
}

int tracker_slot(tracker *t, const char *topic, int32_t partition) {
    if (t->last_hit < t->n) {
        trk_part *p = &t->parts[t->last_hit];
        if (p->partition == partition && !strcmp(p->topic, topic))
            return (int)t->last_hit;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->parts[i].partition == partition && !strcmp(t->parts[i].topic, topic)) {
            t->last_hit = i;
            return (int)i;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        trk_part *np = realloc(t->parts, cap * sizeof *np);
        if (!np)
            return -1;
        t->parts = np;
        t->cap = cap;
    }
    trk_part *p = &t->parts[t->n];
    memset(p, 0, sizeof *p);
    p->topic = strdup(topic);
    if (!p->topic)
        return -1;
    p->partition = partition;
    p->applied = TRACKER_OFFSET_NONE;
    p->committed = TRACKER_OFFSET_NONE;
    p->redo_from = TRACKER_OFFSET_NONE;
    t->last_hit = t->n;
    return (int)t->n++;
}

void tracker_set_assigned(tracker *t, int slot, bool assigned) {
    t->parts[slot].assigned = assigned;
    t->parts[slot].eof = false;
    t->parts[slot].reached_end = false;
}

void tracker_set_eof(tracker *t, int slot) {
    t->parts[slot].eof = true;
    t->parts[slot].reached_end = true;
}

bool tracker_all_eof(const tracker *t) {
    size_t assigned = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!t->parts[i].assigned)
            continue;
        assigned++;
        if (!t->parts[i].eof)
            return false;
    }
    return assigned > 0;
}

int64_t tracker_resume_offset(const tracker *t, int slot) {
    const trk_part *p = &t->parts[slot];
    return p->redo_from != TRACKER_OFFSET_NONE ? p->redo_from : p->applied;
}

int tracker_restore(tracker *t, const char *topic, int32_t partition, int64_t next,
                    int64_t redo_from) {
    int slot = tracker_slot(t, topic, partition);
    if (slot < 0)
        return -1;
    t->parts[slot].applied = next;
    t->parts[slot].redo_from = redo_from < next ? redo_from : TRACKER_OFFSET_NONE;
    return 0;
}

void tracker_forget(tracker *t, int slot) {
    trk_part *p = &t->parts[slot];
    p->applied = TRACKER_OFFSET_NONE;
    p->redo_from = TRACKER_OFFSET_NONE;
    /* Entries of the state that went: their refs still settle (trk_find
     * finds nothing), and nothing of them holds the positions back. */
    p->head = p->len = 0;
}

bool tracker_in_state(const tracker *t, int slot, int64_t offset) {
    const trk_part *p = &t->parts[slot];
    return p->applied != TRACKER_OFFSET_NONE && offset < p->applied;
}

/* Index (absolute, in e[]) of the first live entry with offset >= off. */
static size_t trk_lower_bound(const trk_part *p, int64_t off) {
    size_t lo = p->head, hi = p->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->e[mid].offset < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static trk_entry *trk_find(trk_part *p, int64_t off) {
    if (p->len > p->head && p->e[p->len - 1].offset == off)
        return &p->e[p->len - 1];
    size_t i = trk_lower_bound(p, off);
    /* Equal offsets (a message re-consumed while its first copy is in
     * flight) are interchangeable: take the first still pending. */
    for (; i < p->len && p->e[i].offset == off; i++)
        if (p->e[i].pending)
            return &p->e[i];
    return NULL;
}

static void trk_pop_done(trk_part *p) {
    while (p->head < p->len && p->e[p->head].pending == 0)
        p->head++;
    if (p->head == p->len)
        p->head = p->len = 0;
}

int tracker_begin(tracker *t, int slot, int64_t offset) {
    trk_part *p = &t->parts[slot];
    p->eof = false; /* librdkafka reports EOF again when it catches up */
    if (p->len == p->cap) {
        if (p->head > p->len / 2) {
            memmove(p->e, p->e + p->head, (p->len - p->head) * sizeof *p->e);
            p->len -= p->head;
            p->head = 0;
        } else {
            size_t cap = p->cap ? p->cap * 2 : 64;
            trk_entry *ne = realloc(p->e, cap * sizeof *ne);
            if (!ne)
                return -1;
            p->e = ne;
            p->cap = cap;
        }
    }
    size_t at = p->len;
    if (p->len > p->head && p->e[p->len - 1].offset > offset) {
        at = trk_lower_bound(p, offset);
        memmove(p->e + at + 1, p->e + at, (p->len - at) * sizeof *p->e);
    }
    p->e[at].offset = offset;
    p->e[at].pending = 1;
    p->len++;
    return 0;
}

tracker_ref *tracker_ref_take(tracker *t, int slot, int64_t offset) {
    trk_entry *e = trk_find(&t->parts[slot], offset);
    if (!e)
        return NULL;
    tracker_ref *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    r->slot = slot;
    r->offset = offset;
    e->pending++;
    t->pending++;
    return r;
}

void tracker_end(tracker *t, int slot, int64_t offset) {
    trk_part *p = &t->parts[slot];
    trk_entry *e = trk_find(p, offset);
    if (e)
        e->pending--;
    if (p->applied == TRACKER_OFFSET_NONE || offset + 1 > p->applied)
        p->applied = offset + 1;
    if (offset + 1 >= p->applied)
        p->redo_from = TRACKER_OFFSET_NONE; /* redo range consumed */
    trk_pop_done(p);
}

tracker_ref *tracker_ref_global(tracker *t) {
    tracker_ref *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    r->slot = -1;
    r->offset = 0;
    t->global_pending++;
    t->pending++;
    return r;
}

void tracker_ref_done(tracker *t, tracker_ref *ref, bool ok) {
    if (!ref)
        return;
    t->pending--;
    if (ref->slot < 0) {
        t->global_pending--;
        if (!ok)
            t->global_failed = true;
    } else if (ok) {
        trk_part *p = &t->parts[ref->slot];
        trk_entry *e = trk_find(p, ref->offset);
        if (e && e->pending > 0)
            e->pending--;
        trk_pop_done(p);
    }
    free(ref);
}

size_t tracker_pending(const tracker *t) {
    return t->pending;
}

size_t tracker_global_pending(const tracker *t) {
    return t->global_pending;
}

static int64_t trk_committable(const tracker *t, const trk_part *p) {
    if (t->global_pending || t->global_failed)
        return TRACKER_OFFSET_NONE;
    if (p->head < p->len)
        return p->e[p->head].offset;
    return p->applied;
}

size_t tracker_commit_candidates(const tracker *t, bool include_unassigned, tracker_commit_fn fn,
                                 void *ctx) {
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const trk_part *p = &t->parts[i];
        if (!p->assigned && !include_unassigned)
            continue;
        int64_t c = trk_committable(t, p);
        if (c == TRACKER_OFFSET_NONE || (p->committed != TRACKER_OFFSET_NONE && c <= p->committed))
            continue;
        fn(ctx, p->topic, p->partition, c);
        n++;
    }
    return n;
}

void tracker_set_committed(tracker *t, const char *topic, int32_t partition, int64_t offset) {
    int slot = tracker_slot(t, topic, partition);
    if (slot < 0)
        return;
    trk_part *p = &t->parts[slot];
    if (p->committed == TRACKER_OFFSET_NONE || offset > p->committed)
        p->committed = offset;
}

size_t tracker_count(const tracker *t) {
    return t->n;
}

void tracker_info(const tracker *t, size_t slot, tracker_partition_info *out) {
    const trk_part *p = &t->parts[slot];
    out->topic = p->topic;
    out->partition = p->partition;
    out->assigned = p->assigned;
    out->eof = p->eof;
    out->reached_end = p->reached_end;
    out->applied = p->applied;
    out->committable = trk_committable(t, p);
    out->committed = p->committed;
    /* A restored redo range not yet re-read stays unsettled too, so a
     * snapshot taken before it is consumed still carries it. */
    out->unsettled = p->head < p->len ? p->e[p->head].offset : p->applied;
    if (p->redo_from != TRACKER_OFFSET_NONE && p->redo_from < out->unsettled)
        out->unsettled = p->redo_from;
    out->in_flight = p->len - p->head;
}
