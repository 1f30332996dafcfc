#!/usr/bin/env python3
"""The seed method of tests/ref/seed_rfm.py on an Online Retail (II) CSV, with
Polars or DuckDB doing the reading and the grouping: what an analyst would
write instead of rfmctl, for bench/batch.sh.

    seed_rfm_df.py --engine polars|duckdb FILE

Prints the same SPEC §6 table as seed_rfm.py --format retail (default as-of,
tie-break customer_id, 5 bins). Both engines use all cores (their default).

Same rules as the reference: lines without a customer and 'C' invoices are
skipped, "17850.0" is customer 17850, an invoice is one order when one of its
lines has Quantity > 0 and Price > 0, its amount is the exact sum of those
lines rounded to cents half up, money is summed as integer cents. Prices are
read as DECIMAL(18,6) so that no float sum can move a customer across a bin
edge. One difference, harmless on the benchmark's file (all lines of an
invoice share a date): the order's time is the invoice's earliest line, not
its first line in file order (rfmctl does the same, SPEC §5).

The scores (53k rows) are the seeds' pd.qcut done with numpy on the engine's
result: the same quantiles (linear interpolation), bins closed on the right,
the lowest edge included, frequency ranked 'first' in customer-id byte order.
"""
import argparse
import sys

import numpy as np

# The seeds' regex map (SPEC §3, first match wins) as a table of (r, f).
SEG = {}
for r in range(1, 6):
    for f in range(1, 6):
        if r <= 2 and f <= 2:
            s = "hibernating"
        elif r <= 2 and f <= 4:
            s = "at_risk"
        elif r <= 2:
            s = "cant_loose"
        elif r == 3 and f <= 2:
            s = "about_to_sleep"
        elif r == 3 and f == 3:
            s = "need_attention"
        elif r in (3, 4) and f >= 4:
            s = "loyal_customers"
        elif r == 4 and f == 1:
            s = "promising"
        elif r == 5 and f == 1:
            s = "new_customers"
        elif f in (2, 3):
            s = "potential_loyalists"
        else:
            s = "champions"
        SEG[(r, f)] = s

DAY_US = 86_400 * 1_000_000


def qcut_quantiles(bins):
    """The quantile list pandas' qcut builds (as in tests/ref/seed_rfm.py)."""
    q = np.linspace(0, 1, bins + 1)
    np.putmask(q, bins * q != np.arange(bins + 1), np.nextafter(q, 1))
    return q


def qcut(x, labels):
    edges = np.quantile(x, qcut_quantiles(len(labels)))
    if len(np.unique(edges)) != len(edges):
        sys.exit("seed_rfm_df.py: coinciding bin edges (pandas qcut refuses them)")
    ids = np.searchsorted(edges, x, side="left")
    ids[x == edges[0]] = 1
    return np.asarray(labels)[ids - 1]


def with_polars(path):
    import polars as pl

    df = pl.scan_csv(
        path,
        schema_overrides={"Invoice": pl.String, "Customer ID": pl.String,
                          "Price": pl.Decimal(18, 6), "Quantity": pl.Int64,
                          "InvoiceDate": pl.String},
    )
    cust = pl.col("Customer ID").str.strip_chars().str.replace(r"^(\d+)\.0*$", "$1")
    inv = pl.col("Invoice").str.strip_chars()
    valid = (pl.col("Quantity") > 0) & (pl.col("Price") > 0)
    line_units = pl.when(valid).then(
        (pl.col("Quantity").cast(pl.Decimal(18, 0)) * pl.col("Price") * 1_000_000)
        .cast(pl.Int64)).otherwise(0)
    invoices = (
        df.with_columns(cust=cust, inv=inv)
        .filter((pl.col("cust") != "") & pl.col("cust").is_not_null()
                & ~pl.col("inv").str.starts_with("C"))
        .with_columns(
            when=pl.col("InvoiceDate").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S"),
            units=line_units, ok=valid)
        .group_by("cust", "inv")
        .agg(pl.col("when").min(), pl.col("units").sum(), pl.col("ok").any())
        .filter(pl.col("ok"))
        .with_columns(cents=(pl.col("units") + 5000) // 10000)
    )
    per = (invoices.group_by("cust")
           .agg(last=pl.col("when").max(), frequency=pl.len(), cents=pl.col("cents").sum())
           .collect())
    ids = per["cust"].to_list()
    last = per["last"].cast(pl.Int64).to_numpy()
    return ids, last, per["frequency"].to_numpy().astype(np.int64), per["cents"].to_numpy()


def with_duckdb(path):
    import duckdb

    q = f"""
    WITH lines AS (
      SELECT regexp_replace(trim("Customer ID"), '^(\\d+)\\.0*$', '\\1') AS cust,
             trim(Invoice) AS inv, InvoiceDate AS ts,
             Quantity > 0 AND Price > 0 AS ok,
             CASE WHEN Quantity > 0 AND Price > 0
                  THEN CAST(Quantity * Price * 1000000 AS BIGINT) ELSE 0 END AS units
      FROM read_csv('{path}', header = true, quote = '"', escape = '"',
                    columns = {{'Invoice': 'VARCHAR', 'StockCode': 'VARCHAR',
                                'Description': 'VARCHAR', 'Quantity': 'BIGINT',
                                'InvoiceDate': 'TIMESTAMP', 'Price': 'DECIMAL(18,6)',
                                'Customer ID': 'VARCHAR', 'Country': 'VARCHAR'}},
                    timestampformat = '%Y-%m-%d %H:%M:%S')
    ), inv AS (
      SELECT cust, inv, min(ts) AS ts, (sum(units) + 5000) // 10000 AS cents
      FROM lines
      WHERE cust IS NOT NULL AND cust <> '' AND NOT starts_with(inv, 'C')
      GROUP BY cust, inv HAVING bool_or(ok)
    )
    SELECT cust, epoch_us(max(ts)) AS last, count(*) AS frequency,
           CAST(sum(cents) AS BIGINT) AS cents
    FROM inv GROUP BY cust
    """
    rows = duckdb.sql(q).fetchall()
    ids = [r[0] for r in rows]
    return (ids, np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.int64),
            np.array([r[3] for r in rows], dtype=np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", required=True, choices=["polars", "duckdb"])
    ap.add_argument("file")
    a = ap.parse_args()
    ids, last, freq, cents = (with_polars if a.engine == "polars" else with_duckdb)(a.file)
    if not ids:
        sys.exit("seed_rfm_df.py: no customers with orders")
    # Tie order: customer ids as UTF-8 bytes.
    order = sorted(range(len(ids)), key=lambda i: ids[i].encode("utf-8"))
    ids = [ids[i] for i in order]
    last, freq, cents = last[order], freq[order], cents[order]
    as_of = (last.max() // DAY_US + 2) * DAY_US
    recency = np.maximum(0, (as_of - last) // DAY_US)
    r = qcut(recency, [5, 4, 3, 2, 1])
    rank = np.empty(len(ids), dtype=np.float64)
    rank[np.argsort(freq, kind="stable")] = np.arange(1, len(ids) + 1)
    f = qcut(rank, [1, 2, 3, 4, 5])
    m = qcut(cents / 100, [1, 2, 3, 4, 5])
    out = ["customer_id,recency,frequency,monetary,r,f,m,segment\n"]
    for i, c in enumerate(ids):
        ct = int(cents[i])
        money = f"{ct // 100}.{ct % 100:02d}" if ct >= 0 else f"-{-ct // 100}.{-ct % 100:02d}"
        out.append(f"{c},{int(recency[i])},{int(freq[i])},{money},{r[i]},{f[i]},{m[i]},"
                   f"{SEG[(int(r[i]), int(f[i]))]}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
