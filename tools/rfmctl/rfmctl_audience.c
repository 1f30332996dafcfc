/*
 * rfmctl audience — campaign lists: the customers of some segments who are
 * interested in some categories and, optionally, spend at least so much per
 * order. The seeds' two FLO campaigns are one call each (README).
 *
 * Categories are matched by name, as the store interned them from the
 * orders (FLO: interested_in_categories_12): COCUK does not match
 * AKTIFCOCUK, unlike the seed notebook's str.contains.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm/money.h"
#include "rfm/segment.h"
#include "rfmctl.h"

#define HELP                                                                                       \
    "      --segments S,...   customers of these segments (default: all)\n"                        \
    "      --categories C,... interested in any of these categories (default: any)\n"              \
    "      --min-mean-order-value AMOUNT\n"                                                        \
    "                         monetary / frequency at least AMOUNT\n"

/* Calls take(ctx, item) for each item of a comma list; -1 on an empty item. */
static int each_item(const char *list, int (*take)(void *, const char *), void *ctx) {
    char item[SEGMENT_NAME_MAX + 1];
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        if (!len || len >= sizeof item)
            return -1;
        memcpy(item, p, len);
        item[len] = '\0';
        if (take(ctx, item))
            return -1;
        p += strcspn(p, ",");
        if (!*p++)
            return 0;
        p += strspn(p, " ");
    }
}

typedef struct filter {
    const segment_map *map;
    const store *st;
    bool segment[SEGMENT_MAX + 1];
    bool any_segment;
    uint16_t categories; /* 0 with want_categories: nobody */
    bool want_categories;
    int64_t min_cents;
} filter;

static int syntax_only(void *ctx, const char *name) {
    (void)ctx, (void)name;
    return 0;
}

static int take_segment(void *ctx, const char *name) {
    filter *f = ctx;
    int seg = segment_find(f->map, name);
    if (seg < 0) {
        fprintf(stderr, "rfmctl audience: unknown segment '%s'; segments are:", name);
        for (int i = 1; i <= f->map->nsegments; i++)
            fprintf(stderr, " %s", f->map->names[i]);
        fprintf(stderr, "\n");
        return -1;
    }
    f->segment[seg] = true;
    return 0;
}

static int take_category(void *ctx, const char *name) {
    filter *f = ctx;
    for (int bit = 0; bit < STORE_MAX_CATEGORIES; bit++) {
        const char *have = store_category_name(f->st, bit);
        if (have && !strcmp(have, name)) {
            f->categories |= (uint16_t)(1u << bit);
            return 0;
        }
    }
    /* Not an error: a category nobody bought is a valid, empty condition. */
    fprintf(stderr, "rfmctl audience: note: no customer has category '%s'\n", name);
    return 0;
}

static bool wanted(const filter *f, const store_customer *c) {
    if (!f->any_segment && !f->segment[c->segment])
        return false;
    if (f->want_categories && !(c->categories & f->categories))
        return false;
    /* Whole cents: floor(total / orders) >= min is total / orders >= min. */
    return c->monetary_cents / c->frequency >= f->min_cents;
}

static int print_audience(const rfmctl_batch *b, const filter *f) {
    /* Customer id byte order whatever the tie break: the seeds' groupby order. */
    score_settings st = b->cfg.scoring;
    st.tie_break = SCORE_TIE_CUSTOMER_ID;
    size_t n;
    size_t *idx = score_tie_order(&st, b->st, &n);
    if (!idx && n) {
        fprintf(stderr, "rfmctl audience: out of memory\n");
        return RFMCTL_FAIL;
    }
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    printf("%s\n", b->ropt.format == READER_FLO ? "master_id" : "customer_id");
    size_t picked = 0;
    for (size_t i = 0; i < n; i++) {
        const store_customer *c = store_at_const(b->st, idx[i]);
        if (!wanted(f, c))
            continue;
        size_t klen;
        const char *key = store_key(b->st, c, &klen);
        printf("%.*s\n", (int)klen, key);
        picked++;
    }
    free(idx);
    fprintf(stderr, "rfmctl audience: %zu of %zu customers\n", picked, n);
    return fflush(stdout) ? RFMCTL_FAIL : RFMCTL_OK;
}

int rfmctl_audience_main(int argc, char **argv) {
    const char *segs = NULL, *cats = NULL, *min = NULL;
    const rfmctl_opt opts[] = {
        {"segments", &segs}, {"categories", &cats}, {"min-mean-order-value", &min}, {0}};
    const rfmctl_cmd cmd = {
        .name = "audience",
        .synopsis = "[--segments S,...] [--categories C,...] [--min-mean-order-value AMOUNT]\n"
                    "       [--format flo|retail|jsonl] [OPTIONS] FILE...",
        .prints = "as CSV the id of every customer the filters below select, in id byte order",
        .help = HELP,
        .opts = opts,
        .format = "flo"};
    rfmctl_batch b = {0};
    filter f = {.map = &b.cfg.segments};
    int rc = rfmctl_batch_parse(&b, &cmd, argc, argv);
    f.any_segment = !segs;
    if (!rc && segs && each_item(segs, take_segment, &f)) {
        fprintf(stderr, "rfmctl audience: bad --segments '%s'\n", segs);
        rc = RFMCTL_USAGE;
    }
    if (!rc && min && (money_parse(min, strlen(min), &f.min_cents) || f.min_cents < 0)) {
        fprintf(stderr, "rfmctl audience: --min-mean-order-value '%s' is not an amount >= 0\n",
                min);
        rc = RFMCTL_USAGE;
    }
    if (!rc && cats && each_item(cats, syntax_only, NULL)) {
        fprintf(stderr, "rfmctl audience: bad --categories '%s'\n", cats);
        rc = RFMCTL_USAGE;
    }
    if (!rc)
        rc = rfmctl_batch_load(&b, &cmd);
    f.st = b.st;
    f.want_categories = cats != NULL;
    if (!rc && cats)
        each_item(cats, take_category, &f);
    if (!rc)
        rc = print_audience(&b, &f);
    rfmctl_batch_free(&b);
    return rc < 0 ? RFMCTL_OK : rc;
}
