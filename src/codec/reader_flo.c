/*
 * reader_flo — the FLO customer CSV (SPEC §5): one pre-aggregated row per
 * customer, expanded into orders that reproduce the row exactly.
 *
 * For a row with n = online + offline orders and a total of T cents:
 *  - order k (0-based) gets T / n cents, plus one for k < T % n, so the
 *    amounts sum to T exactly and differ by at most a cent;
 *  - order 0 is at first_order_date, order n-1 at last_order_date, order k at
 *    first + (last - first) * k / (n - 1) seconds (integer division), so
 *    times are spread evenly and never decrease; a single order (n == 1) is
 *    at last_order_date, which is what recency is measured from;
 *  - the first `online` orders carry order_channel, the rest "Offline";
 *  - every order carries the row's interested_in_categories_12;
 *  - order_id is master_id "#" k+1, stable across runs, so replaying a file
 *    twice is a duplicate, not double counting.
 * Recency, frequency and monetary of the expanded orders are therefore the
 * row's own, which is all the seed's scoring looks at.
 *
 * order_channel and interested_in_categories_12 may be absent from the header
 * (no channel, no categories); the other columns are required. A row that
 * cannot be expanded exactly (no orders, counts that are not whole, negative
 * or unparseable values, bad or reversed dates) is a bad line.
 */
#include "reader_internal.h"

#include <stdio.h>
#include <string.h>

#include "rfm/money.h"
#include "rfm/timefmt.h"

/* Far above any real customer; keeps a typo from emitting billions of orders. */
#define FLO_MAX_ORDERS 1000000

enum {
    COL_ID,
    COL_CHANNEL,
    COL_FIRST,
    COL_LAST,
    COL_N_ONLINE,
    COL_N_OFFLINE,
    COL_V_ONLINE,
    COL_V_OFFLINE,
    COL_CATS,
    NCOLS
};

static const char *const col_names[NCOLS] = {
    "master_id",
    "order_channel",
    "first_order_date",
    "last_order_date",
    "order_num_total_ever_online",
    "order_num_total_ever_offline",
    "customer_value_total_ever_online",
    "customer_value_total_ever_offline",
    "interested_in_categories_12",
};

static bool col_optional(int c) {
    return c == COL_CHANNEL || c == COL_CATS;
}

/* "[ERKEK, COCUK]" or "[]" into cats (pointing into f). Returns the count, or
 * -1 with a reason. */
static int parse_categories(csv_field f, order_str *cats, const char **why) {
    f = csv_trim(f);
    if (f.len < 2 || f.p[0] != '[' || f.p[f.len - 1] != ']') {
        *why = "is not a [..] list";
        return -1;
    }
    csv_field in = csv_trim((csv_field){f.p + 1, f.len - 2});
    if (in.len == 0)
        return 0;
    int n = 0;
    const char *p = in.p, *end = in.p + in.len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        csv_field t = csv_trim((csv_field){p, (size_t)(stop - p)});
        /* Python's str(list) quotes the items: ['KADIN', 'ERKEK']. */
        if (t.len >= 2 && (t.p[0] == '\'' || t.p[0] == '"') && t.p[t.len - 1] == t.p[0])
            t = (csv_field){t.p + 1, t.len - 2};
        if (t.len == 0) {
            *why = "has an empty category";
            return -1;
        }
        if (n == ORDER_MAX_CATEGORIES) {
            *why = "has too many categories";
            return -1;
        }
        cats[n++] = (order_str){t.p, t.len};
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static int parse_date(csv_field f, int64_t *ts) {
    f = csv_trim(f);
    return timefmt_parse_rfc3339(f.p, f.len, ts) < 0 || *ts < ORDER_TS_MIN || *ts > ORDER_TS_MAX
               ? -1
               : 0;
}

/* What the row callbacks share: the input, the columns found in the
 * header (-1 for an absent optional one) and where the orders go. */
typedef struct flo_state {
    reader_in *in;
    int col[NCOLS];
    reader_emit_fn emit;
    void *ctx;
} flo_state;

/* reader_csv_header_fn: every required column must be in the header. */
static int find_columns(void *vfs, const csv_record *h, char *err, size_t errlen) {
    flo_state *fs = vfs;
    for (int c = 0; c < NCOLS; c++) {
        const char *names[] = {col_names[c], NULL};
        fs->col[c] = csv_find_column(h, names);
        if (fs->col[c] < 0 && !col_optional(c)) {
            if (err && errlen)
                snprintf(err, errlen, "%s: not a FLO customer file: the header has no %s column",
                         fs->in->name, col_names[c]);
            return -1;
        }
    }
    return 0;
}

/* reader_csv_row_fn: expand one row. Returns 0, 1 when emit asked to stop. */
static int take_row(void *vfs, const csv_record *row, uint64_t lineno) {
    flo_state *fs = vfs;
    reader_in *in = fs->in;
    const int *col = fs->col;
    csv_field id = csv_trim(row->fields[col[COL_ID]]);
    if (id.len == 0) {
        reader_bad(in, lineno, "empty master_id");
        return 0;
    }
    /* Room for "#" and the ordinal in the order id. */
    if (id.len > ORDER_ID_MAX - 8 || id.len > STORE_KEY_MAX) {
        reader_bad(in, lineno, "master_id longer than %d bytes", ORDER_ID_MAX - 8);
        return 0;
    }
    int64_t cnt[2];
    for (int i = 0; i < 2; i++) {
        csv_field f = row->fields[col[COL_N_ONLINE + i]];
        if (reader_parse_whole(f, 0, FLO_MAX_ORDERS, &cnt[i]) < 0) {
            reader_bad(in, lineno, "%s '%.*s' is not a whole number in 0..%d",
                       col_names[COL_N_ONLINE + i], (int)f.len, f.p, FLO_MAX_ORDERS);
            return 0;
        }
    }
    int64_t n = cnt[0] + cnt[1];
    if (n < 1) {
        reader_bad(in, lineno, "no orders (order_num_total_ever_online + _offline is 0)");
        return 0;
    }
    int64_t total = 0;
    for (int i = 0; i < 2; i++) {
        csv_field f = csv_trim(row->fields[col[COL_V_ONLINE + i]]);
        int64_t v;
        if (money_parse(f.p, f.len, &v) < 0 || v < 0) {
            reader_bad(in, lineno, "%s '%.*s' is not an amount >= 0", col_names[COL_V_ONLINE + i],
                       (int)f.len, f.p);
            return 0;
        }
        total += v; /* both <= MONEY_MAX_CENTS: no overflow */
    }
    int64_t first, last;
    for (int i = 0; i < 2; i++) {
        csv_field f = row->fields[col[COL_FIRST + i]];
        if (parse_date(f, i ? &last : &first) < 0) {
            reader_bad(in, lineno, "%s '%.*s' is not a date", col_names[COL_FIRST + i], (int)f.len,
                       f.p);
            return 0;
        }
    }
    if (first > last) {
        reader_bad(in, lineno, "first_order_date is after last_order_date");
        return 0;
    }
    order_str cats[ORDER_MAX_CATEGORIES];
    int ncats = 0;
    if (col[COL_CATS] >= 0) {
        const char *why = "";
        csv_field f = row->fields[col[COL_CATS]];
        ncats = parse_categories(f, cats, &why);
        if (ncats < 0) {
            reader_bad(in, lineno, "interested_in_categories_12 '%.*s' %s", (int)f.len, f.p, why);
            return 0;
        }
    }
    csv_field online = {"", 0};
    if (col[COL_CHANNEL] >= 0)
        online = csv_trim(row->fields[col[COL_CHANNEL]]);

    char oid[ORDER_ID_MAX + 1];
    memcpy(oid, id.p, id.len);
    int64_t base = total / n, extra = total % n;
    for (int64_t k = 0; k < n; k++) {
        int idlen = snprintf(oid + id.len, sizeof oid - id.len, "#%lld", (long long)(k + 1));
        bool is_online = k < cnt[0];
        order o = {
            .customer_id = {id.p, id.len},
            .order_id = {oid, id.len + (size_t)idlen},
            .ts = n == 1 ? last : first + (last - first) * k / (n - 1),
            .amount_cents = base + (k < extra ? 1 : 0),
            .channel = is_online ? (order_str){online.p, online.len} : (order_str){"Offline", 7},
            .categories = cats,
            .ncategories = (size_t)ncats,
        };
        in->stats->orders++;
        if (fs->emit(fs->ctx, &o))
            return 1;
    }
    return 0;
}

int reader_flo_read(reader_in *in, reader_emit_fn emit, void *ctx, char *err, size_t errlen) {
    flo_state fs = {.in = in, .emit = emit, .ctx = ctx};
    return reader_csv_each(in, find_columns, take_row, &fs, err, errlen);
}
