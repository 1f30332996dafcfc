/*
 * http_partitions — GET /partitions: the input partitions this instance
 * owns (see http.h, docs/contract.md §12).
 *
 * The daemon emits one plain http_partition per owned partition through the
 * status's `owned` callback, in whatever order it walks them; the handler
 * copies them (topic names included: they are borrowed for one call only),
 * sorts them by topic then partition, and prints them. So this file knows
 * nothing of where the offsets come from (the tracker, librdkafka's cached
 * watermarks), and tests can emit partitions of their own.
 *
 * Unknown offsets and counts are -1 in the struct and null in the JSON:
 * every field is always present. An entry in the "restoring" state also has
 * a "restore" object (changelog position, end, records applied); a running
 * one has none.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

typedef struct partitions_list {
    http_partition *v; /* topics strdup'd */
    size_t n, cap;
    bool oom;
} partitions_list;

static void partitions_add(void *ctx, const http_partition *p) {
    partitions_list *l = ctx;
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        http_partition *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    char *topic = strdup(p->topic ? p->topic : "");
    if (!topic) {
        l->oom = true;
        return;
    }
    l->v[l->n] = *p;
    l->v[l->n++].topic = topic;
}

static int partitions_cmp(const void *a, const void *b) {
    const http_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* The JSON name of a state. */
static const char *partitions_state_name(http_partition_state s) {
    switch (s) {
    case HTTP_PARTITION_RUNNING:
        return "running";
    case HTTP_PARTITION_RESTORING:
        return "restoring";
    }
    return "unknown";
}

static json_t *offset_or_null(int64_t v) {
    return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *partitions_entry(const http_partition *p) {
    json_t *o = json_pack("{s:s,s:i,s:s}", "topic", p->topic, "partition", (int)p->partition,
                          "state", partitions_state_name(p->state));
    if (!o)
        return NULL;
    json_object_set_new(o, "next_offset", offset_or_null(p->next_offset));
    json_object_set_new(o, "committed_offset", offset_or_null(p->committed));
    json_object_set_new(o, "high_watermark", offset_or_null(p->high_watermark));
    json_object_set_new(o, "lag", offset_or_null(p->lag));
    json_object_set_new(o, "caught_up", json_boolean(p->caught_up));
    json_object_set_new(o, "customers", offset_or_null(p->customers));
    if (p->state == HTTP_PARTITION_RESTORING) {
        json_t *rs = json_object();
        if (!rs || json_object_set_new(o, "restore", rs)) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(rs, "position", offset_or_null(p->restore_position));
        json_object_set_new(rs, "end", offset_or_null(p->restore_end));
        json_object_set_new(rs, "records", json_integer((json_int_t)p->restored_records));
    }
    return o;
}

void http_api_partitions(const http_status *st, http_reply *r) {
    partitions_list l = {0};
    if (st->owned)
        st->owned(st->owned_ctx, partitions_add, &l);
    json_t *list = l.oom ? NULL : json_array();
    json_t *o = json_object();
    if (list && o) {
        if (l.n) /* qsort(NULL, 0, ...) is undefined */
            qsort(l.v, l.n, sizeof *l.v, partitions_cmp);
        for (size_t i = 0; i < l.n; i++)
            json_array_append_new(list, partitions_entry(&l.v[i]));
        if (st->group_id)
            json_object_set_new(o, "group_id", json_string(st->group_id));
        json_object_set_new(o, "partitions", json_integer((json_int_t)l.n));
        json_object_set_new(o, "caught_up", json_boolean(st->caught_up));
        json_object_set_new(o, "assignment", list);
        list = NULL;
    } else {
        json_decref(o);
        o = NULL; /* -> 500 */
    }
    json_decref(list);
    for (size_t i = 0; i < l.n; i++)
        free((char *)l.v[i].topic);
    free(l.v);
    http_reply_json(r, 200, o);
}
