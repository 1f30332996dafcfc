/*
 * reader_retail — Online Retail / Online Retail II CSV (SPEC §5): invoice
 * lines aggregated into one order per invoice.
 *
 * An invoice's lines are usually contiguous but not always, so every invoice
 * is aggregated over the whole file in an open-addressing table (xxh3 hashes,
 * linear probing) and the orders are emitted at the end, in order of the
 * invoices' first valid line. Ids live in one append-only arena referenced by
 * offset, so growing it never invalidates an entry.
 *
 * Money is exact: Price is read as a fixed-point integer with 6 decimals
 * (money_parse_scaled), multiplied by the integer Quantity and summed in that
 * unit; only the invoice total is rounded to cents, half away from zero, as
 * the reference does with Decimal. A float sum would be off by a cent on some
 * invoices.
 *
 * Rules, in the order applied to each line:
 *  - no Customer ID: skipped (the seeds' dropna). "17850.0" is "17850".
 *  - Invoice starting with 'C' (cancellation): skipped, or with
 *    cancellations_as_refunds an invoice-level refund of Σ|Quantity|×Price.
 *  - Quantity (whole) or Price unparseable, or InvoiceDate unreadable: bad.
 *  - Quantity <= 0 or Price <= 0 (Quantity == 0 or Price <= 0 for refunds):
 *    skipped. An invoice with no line left is no order.
 *  - The invoice belongs to the customer of its first valid line; a later
 *    line naming another customer is skipped and counted in a note (none of
 *    the real files has such an invoice).
 * The order's time is the earliest valid line's InvoiceDate. A refund whose
 * total rounds to 0 cents is dropped (skipped): 0 would count as an order.
 */
#include "reader_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "rfm/money.h"
#include "rfm/timefmt.h"

#define PRICE_SCALE    6
#define UNITS_PER_CENT 10000 /* 10^(PRICE_SCALE - 2) */
#define QTY_MAX        1000000000LL

typedef struct invoice {
    uint64_t hash;
    size_t id_off, cust_off; /* in the arena */
    uint32_t id_len, cust_len;
    int64_t ts;      /* earliest valid line */
    int64_t units;   /* Σ |Quantity| × Price, PRICE_SCALE decimals */
    uint64_t line;   /* first valid line, for messages */
    uint64_t nlines; /* valid lines aggregated */
    bool refund;     /* a cancellation read as a refund */
    bool overflow;   /* units left int64: reported, not emitted */
} invoice;

typedef struct invoice_table {
    invoice *v;
    size_t n, cap;
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t nslots;   /* power of two */
    strbuf arena;    /* the ids, back to back (util/strbuf.h does the growing) */
} invoice_table;

static void table_free(invoice_table *t) {
    free(t->v);
    free(t->slots);
    strbuf_free(&t->arena);
}

/* Append p[0..len) to the arena; its offset into *off. -1 when out of memory. */
static int arena_put(invoice_table *t, const char *p, size_t len, size_t *off) {
    *off = t->arena.len;
    strbuf_put(&t->arena, p, len);
    return t->arena.oom ? -1 : 0;
}

static int table_grow(invoice_table *t) {
    size_t nslots = t->nslots ? 2 * t->nslots : 1024;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t s = (size_t)t->v[i].hash & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

/* The invoice named id, created (with its customer) when absent. NULL on
 * allocation failure. */
static invoice *table_upsert(invoice_table *t, csv_field id, csv_field cust, bool *created) {
    uint64_t h = XXH3_64bits(id.p, id.len);
    *created = false;
    if (t->nslots) {
        size_t s = (size_t)h & (t->nslots - 1);
        for (; t->slots[s]; s = (s + 1) & (t->nslots - 1)) {
            invoice *e = &t->v[t->slots[s] - 1];
            if (e->hash == h && e->id_len == id.len &&
                memcmp(t->arena.p + e->id_off, id.p, id.len) == 0)
                return e;
        }
    }
    if (t->n >= UINT32_MAX - 1)
        return NULL;
    if ((t->n + 1) * 2 > t->nslots && table_grow(t) < 0)
        return NULL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        invoice *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    invoice *e = &t->v[t->n];
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->id_len = (uint32_t)id.len;
    e->cust_len = (uint32_t)cust.len;
    if (arena_put(t, id.p, id.len, &e->id_off) < 0 ||
        arena_put(t, cust.p, cust.len, &e->cust_off) < 0)
        return NULL;
    size_t s = (size_t)h & (t->nslots - 1);
    while (t->slots[s])
        s = (s + 1) & (t->nslots - 1);
    t->slots[s] = (uint32_t)(t->n + 1);
    t->n++;
    *created = true;
    return e;
}

/* "17850.0" -> "17850": the UCI files went through pandas, which wrote the
 * column as floats because of its missing values. Only digits followed by a
 * point and zeros, so other ids are never touched. */
static csv_field customer_norm(csv_field f) {
    size_t i = 0;
    while (i < f.len && f.p[i] >= '0' && f.p[i] <= '9')
        i++;
    if (i == 0 || i == f.len || f.p[i] != '.')
        return f;
    for (size_t j = i + 1; j < f.len; j++)
        if (f.p[j] != '0')
            return f;
    f.len = i;
    return f;
}

typedef struct retail_cols {
    int inv, qty, date, price, cust;
} retail_cols;

/* Longest InvoiceDate text remembered by the one-entry date cache. */
#define DATE_CACHE_MAX 32

typedef struct retail_state {
    reader_in *in;
    invoice_table t;
    retail_cols c;
    uint64_t other_customer; /* lines naming another customer than their invoice's */
    /* One-entry caches for the hot path: an invoice's lines are usually
     * consecutive and share their InvoiceDate text, so most lines need
     * neither a date parse nor a hash lookup. Both give what the full path
     * gives for the same bytes: the cache is keyed by those exact bytes. */
    char date_text[DATE_CACHE_MAX];
    size_t date_len; /* 0 = empty */
    int64_t date_ts;
    size_t last_inv; /* index + 1 into t.v of the last invoice upserted; 0 = none */
} retail_state;

/* timefmt_parse_retail through the date cache; the same contract. */
static int parse_date(retail_state *rs, csv_field d, int64_t *ts) {
    if (rs->date_len && d.len == rs->date_len && memcmp(d.p, rs->date_text, d.len) == 0) {
        *ts = rs->date_ts;
        return 0;
    }
    if (timefmt_parse_retail(d.p, d.len, ts) < 0)
        return -1;
    if (d.len > 0 && d.len <= DATE_CACHE_MAX) {
        memcpy(rs->date_text, d.p, d.len);
        rs->date_len = d.len;
        rs->date_ts = *ts;
    }
    return 0;
}

/* table_upsert, asked first whether id is the invoice of the line before. */
static invoice *invoice_get(retail_state *rs, csv_field id, csv_field cust, bool *created) {
    invoice_table *t = &rs->t;
    if (rs->last_inv) {
        invoice *e = &t->v[rs->last_inv - 1];
        if (e->id_len == id.len && memcmp(t->arena.p + e->id_off, id.p, id.len) == 0) {
            *created = false;
            return e;
        }
    }
    invoice *e = table_upsert(t, id, cust, created);
    if (e)
        rs->last_inv = (size_t)(e - t->v) + 1;
    return e;
}

/* reader_csv_header_fn over retail_state: the columns, by either name each. */
static int find_columns(void *vrs, const csv_record *h, char *err, size_t errlen) {
    retail_state *rs = vrs;
    retail_cols *c = &rs->c;
    static const char *const inv[] = {"Invoice", "InvoiceNo", NULL};
    static const char *const qty[] = {"Quantity", NULL};
    static const char *const date[] = {"InvoiceDate", NULL};
    static const char *const price[] = {"Price", "UnitPrice", NULL};
    static const char *const cust[] = {"Customer ID", "CustomerID", NULL};
    static const struct {
        const char *const *names;
        const char *what;
    } need[] = {{inv, "Invoice or InvoiceNo"},
                {qty, "Quantity"},
                {date, "InvoiceDate"},
                {price, "Price or UnitPrice"},
                {cust, "Customer ID or CustomerID"}};
    int *dst[] = {&c->inv, &c->qty, &c->date, &c->price, &c->cust};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        *dst[i] = csv_find_column(h, need[i].names);
        if (*dst[i] < 0) {
            if (err && errlen)
                snprintf(err, errlen,
                         "%s: not an Online Retail file: the header has no %s column (SPEC §5: "
                         "Invoice|InvoiceNo, StockCode, Description, Quantity, InvoiceDate, "
                         "Price|UnitPrice, Customer ID|CustomerID, Country)",
                         rs->in->name, need[i].what);
            return -1;
        }
    }
    return 0;
}

/* reader_csv_row_fn over retail_state: aggregate one data line, never stop
 * early (the orders are emitted after the whole file). Returns 0, or -1 on
 * allocation failure. */
static int take_line(void *vrs, const csv_record *row, uint64_t lineno) {
    retail_state *rs = vrs;
    reader_in *in = rs->in;
    reader_stats *st = in->stats;
    csv_field cust = customer_norm(csv_trim(row->fields[rs->c.cust]));
    if (cust.len == 0) {
        st->skipped++;
        return 0;
    }
    csv_field inv = csv_trim(row->fields[rs->c.inv]);
    if (inv.len == 0) {
        reader_bad(in, lineno, "empty Invoice");
        return 0;
    }
    bool cancel = inv.p[0] == 'C';
    if (cancel && !in->opt->cancellations_as_refunds) {
        st->skipped++;
        return 0;
    }
    if (inv.len > ORDER_ID_MAX) {
        reader_bad(in, lineno, "Invoice longer than %d bytes", ORDER_ID_MAX);
        return 0;
    }
    if (cust.len > STORE_KEY_MAX) {
        reader_bad(in, lineno, "Customer ID longer than %d bytes", STORE_KEY_MAX);
        return 0;
    }
    csv_field q = row->fields[rs->c.qty];
    int64_t qty;
    if (reader_parse_whole(q, -QTY_MAX, QTY_MAX, &qty) < 0) {
        reader_bad(in, lineno, "Quantity '%.*s' is not a whole number (|q| <= %lld)", (int)q.len,
                   q.p, QTY_MAX);
        return 0;
    }
    csv_field p = csv_trim(row->fields[rs->c.price]);
    int64_t price;
    if (money_parse_scaled(p.p, p.len, PRICE_SCALE, &price) < 0) {
        reader_bad(in, lineno, "Price '%.*s' is not a number", (int)p.len, p.p);
        return 0;
    }
    if (price <= 0 || (cancel ? qty == 0 : qty <= 0)) {
        st->skipped++;
        return 0;
    }
    csv_field d = csv_trim(row->fields[rs->c.date]);
    int64_t ts;
    if (parse_date(rs, d, &ts) < 0) {
        reader_bad(in, lineno, "InvoiceDate '%.*s' is not a date", (int)d.len, d.p);
        return 0;
    }
    if (ts < ORDER_TS_MIN || ts > ORDER_TS_MAX) {
        reader_bad(in, lineno, "InvoiceDate '%.*s' is out of range", (int)d.len, d.p);
        return 0;
    }
    bool created;
    invoice *e = invoice_get(rs, inv, cust, &created);
    if (!e)
        return -1;
    if (created) {
        e->ts = ts;
        e->line = lineno;
        e->refund = cancel;
    } else if (e->cust_len != cust.len || memcmp(rs->t.arena.p + e->cust_off, cust.p, cust.len)) {
        rs->other_customer++;
        st->skipped++;
        return 0;
    }
    if (ts < e->ts)
        e->ts = ts;
    e->nlines++;
    int64_t term;
    if (__builtin_mul_overflow(qty < 0 ? -qty : qty, price, &term) ||
        __builtin_add_overflow(e->units, term, &e->units))
        e->overflow = true;
    return 0;
}

static int emit_all(retail_state *rs, reader_emit_fn emit, void *ctx) {
    reader_in *in = rs->in;
    for (size_t i = 0; i < rs->t.n; i++) {
        const invoice *e = &rs->t.v[i];
        int64_t cents = (e->units + UNITS_PER_CENT / 2) / UNITS_PER_CENT;
        if (e->overflow || cents > MONEY_MAX_CENTS) {
            reader_bad(in, e->line, "invoice %.*s: total amount out of range", (int)e->id_len,
                       rs->t.arena.p + e->id_off);
            in->stats->bad += e->nlines - 1; /* reader_bad counted one */
            continue;
        }
        if (e->refund && cents == 0) {
            in->stats->skipped += e->nlines;
            continue;
        }
        order o = {
            .customer_id = {rs->t.arena.p + e->cust_off, e->cust_len},
            .order_id = {rs->t.arena.p + e->id_off, e->id_len},
            .ts = e->ts,
            .amount_cents = e->refund ? -cents : cents,
        };
        in->stats->orders++;
        if (emit(ctx, &o))
            return 1;
    }
    return 0;
}

int reader_retail_read(reader_in *in, reader_emit_fn emit, void *ctx, char *err, size_t errlen) {
    retail_state rs;
    memset(&rs, 0, sizeof rs);
    rs.in = in;
    /* A partial file would give partial invoices: on an error emit nothing. */
    int ret = reader_csv_each(in, find_columns, take_line, &rs, err, errlen);
    if (ret == 0) {
        if (rs.other_customer)
            reader_note(in,
                        "lines skipped because their invoice's first valid line names another "
                        "customer: %llu",
                        (unsigned long long)rs.other_customer);
        emit_all(&rs, emit, ctx);
    }
    table_free(&rs.t);
    return ret;
}
