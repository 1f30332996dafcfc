/*
 * tasks — see tasks.h. A pointer array indexed by partition number, grown
 * to the highest partition seen; a task is its own allocation so a pointer
 * to it stays valid while it exists.
 */
#include "tasks.h"

#include <stdlib.h>
#include <string.h>

struct tasks {
    task **by_part; /* [partition], NULL = not owned */
    size_t cap;
    size_t n;
    uint32_t next_uid;
};

tasks *tasks_new(void) {
    return calloc(1, sizeof(tasks));
}

void tasks_free(tasks *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->by_part[i]) {
            store_free(t->by_part[i]->store);
            free(t->by_part[i]);
        }
    }
    free(t->by_part);
    free(t);
}

task *tasks_get(tasks *t, int32_t p) {
    return p >= 0 && (size_t)p < t->cap ? t->by_part[p] : NULL;
}

const task *tasks_get_const(const tasks *t, int32_t p) {
    return p >= 0 && (size_t)p < t->cap ? t->by_part[p] : NULL;
}

task *tasks_add(tasks *t, int32_t p, store *s) {
    if (p < 0 || p > TASKS_MAX_PARTITION || tasks_get(t, p)) {
        store_free(s);
        return NULL;
    }
    if ((size_t)p >= t->cap) {
        size_t cap = (size_t)p + 1 > t->cap * 2 ? (size_t)p + 1 : t->cap * 2;
        task **nb = realloc(t->by_part, cap * sizeof *nb);
        if (!nb) {
            store_free(s);
            return NULL;
        }
        memset(nb + t->cap, 0, (cap - t->cap) * sizeof *nb);
        t->by_part = nb;
        t->cap = cap;
    }
    task *k = calloc(1, sizeof *k);
    if (!k) {
        store_free(s);
        return NULL;
    }
    k->partition = p;
    k->uid = ++t->next_uid;
    k->store = s;
    k->state = TASK_RESTORING;
    k->ckpt_applied = k->ckpt_redo_from = -1;
    k->input_seen = k->changelog_from = k->changelog_end = -1;
    t->by_part[p] = k;
    t->n++;
    return k;
}

void tasks_remove(tasks *t, int32_t p) {
    task *k = tasks_get(t, p);
    if (!k)
        return;
    store_free(k->store);
    free(k);
    t->by_part[p] = NULL;
    t->n--;
}

task *tasks_next(tasks *t, size_t *i) {
    while (*i < t->cap) {
        task *k = t->by_part[(*i)++];
        if (k)
            return k;
    }
    return NULL;
}

size_t tasks_count(const tasks *t) {
    return t->n;
}

/* Tasks in state `state`. */
static size_t tasks_in_state(const tasks *t, task_state state) {
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->by_part[i] && t->by_part[i]->state == state)
            n++;
    return n;
}

size_t tasks_running(const tasks *t) {
    return tasks_in_state(t, TASK_RUNNING);
}

size_t tasks_suspended(const tasks *t) {
    return tasks_in_state(t, TASK_SUSPENDED);
}

size_t tasks_restored(const tasks *t) {
    return t->n - tasks_in_state(t, TASK_RESTORING);
}

size_t tasks_customers(const tasks *t) {
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->by_part[i] && t->by_part[i]->state == TASK_RUNNING)
            n += store_count(t->by_part[i]->store);
    return n;
}

size_t tasks_memory(const tasks *t) {
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->by_part[i])
            n += store_memory(t->by_part[i]->store);
    return n;
}

size_t tasks_stores(const tasks *t, const store **out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const task *k = t->by_part[i];
        if (!k || k->state != TASK_RUNNING)
            continue;
        if (n < max)
            out[n] = k->store;
        n++;
    }
    return n;
}
