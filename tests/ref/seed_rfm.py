#!/usr/bin/env python3
"""Reference RFM table computed with pandas the way the seed notebooks do (SPEC §3).

    seed_rfm.py --format flo|retail FILE... [--as-of YYYY-MM-DD]
                [--tie-break customer_id|first_order] [--bins N]

Prints the SPEC §6 table (customer_id,recency,frequency,monetary,r,f,m,segment)
in tie order. rfmd must print exactly the same bytes; tests/data/flo_golden.csv
is this script's output on the FLO file.

What is seed behaviour and what is not:
  * Scores are pd.qcut exactly as the seeds call it: r on recency with labels
    [bins..1], f on frequency.rank(method="first") with labels [1..bins], m on
    monetary with labels [1..bins]. rank(method="first") breaks frequency ties
    by row order, so rows are put in tie order first: byte order of the id
    (what the seeds' groupby(customer) gives) or (first order, id).
  * The segment is the seeds' regex replace of the RF string, applied rule by
    rule, so the first matching rule wins. An RF code no rule matches (other
    bin counts) is printed as "unclassified", as rfmd does.
  * Money is summed as exact integer cents (SPEC §3): a float sum can differ
    in the last bit between two customers with the same total.
  * pd.qcut raises when edges coincide (e.g. a few days of data). Then, and
    only then, this script applies rfmd's documented rule with numpy instead:
    the same edges, kept in full, values assigned with searchsorted(side='left')
    and the lowest edge included. The fallback is also cross-checked against
    pd.qcut whenever pd.qcut succeeds.
"""
import argparse
import csv
import datetime as dt
import gzip
import io
import re
import sys
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

UNCLASSIFIED = "unclassified"

# The seeds' map (SPEC §3), in order; replace(regex=True) applies it in order.
SEG_MAP = {
    r"[1-2][1-2]": "hibernating",
    r"[1-2][3-4]": "at_risk",
    r"[1-2]5": "cant_loose",
    r"3[1-2]": "about_to_sleep",
    r"33": "need_attention",
    r"[3-4][4-5]": "loyal_customers",
    r"41": "promising",
    r"51": "new_customers",
    r"[4-5][2-3]": "potential_loyalists",
    r"5[4-5]": "champions",
}

DAY = dt.timedelta(days=1)


def die(msg):
    print(f"seed_rfm.py: {msg}", file=sys.stderr)
    sys.exit(1)


def to_cents(text, what):
    """Exact decimal string -> integer cents, half away from zero past 2 places."""
    try:
        d = Decimal(text.strip())
    except Exception:
        die(f"bad {what} '{text}'")
    if not d.is_finite():
        die(f"bad {what} '{text}'")
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_count(text, what):
    d = Decimal(text.strip())
    if d != d.to_integral_value() or d < 0:
        die(f"bad {what} '{text}'")
    return int(d)


def open_text(path):
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


# ---------------------------------------------------------------- loaders
# Each returns a DataFrame: customer_id (str), first (datetime), last
# (datetime), frequency (int), cents (int).


def load_flo(paths):
    frames = []
    for p in paths:
        with open_text(p) as f:
            frames.append(pd.read_csv(f, dtype=str, keep_default_na=False))
    df = pd.concat(frames, ignore_index=True)
    need = [
        "master_id",
        "first_order_date",
        "last_order_date",
        "order_num_total_ever_online",
        "order_num_total_ever_offline",
        "customer_value_total_ever_online",
        "customer_value_total_ever_offline",
    ]
    missing = [c for c in need if c not in df.columns]
    if missing:
        die(f"not a FLO file: missing columns {missing}")
    if not df["master_id"].is_unique:
        die("FLO file has repeated master_id rows")
    out = pd.DataFrame(
        {
            "customer_id": df["master_id"].astype(object),
            "first": pd.to_datetime(df["first_order_date"], format="%Y-%m-%d"),
            "last": pd.to_datetime(df["last_order_date"], format="%Y-%m-%d"),
            "frequency": [
                to_count(a, "order count") + to_count(b, "order count")
                for a, b in zip(
                    df["order_num_total_ever_online"], df["order_num_total_ever_offline"]
                )
            ],
            "cents": [
                to_cents(a, "value") + to_cents(b, "value")
                for a, b in zip(
                    df["customer_value_total_ever_online"],
                    df["customer_value_total_ever_offline"],
                )
            ],
        }
    )
    return out[out["frequency"] > 0]


RETAIL_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")
FLOAT_ID = re.compile(r"^(\d+)\.0*$")


def parse_retail_date(text):
    for fmt in RETAIL_DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            pass
    die(f"bad InvoiceDate '{text}'")


def load_retail(paths):
    # invoice (customer, invoice) -> [datetime, Decimal amount, has_valid_line]
    invoices = {}
    for p in paths:
        with open_text(p) as f:
            rd = csv.reader(f)
            header = next(rd)
            col = {name.strip(): i for i, name in enumerate(header)}

            def pick(*names):
                for n in names:
                    if n in col:
                        return col[n]
                die(f"{p}: no column {' or '.join(names)}")

            c_inv = pick("Invoice", "InvoiceNo")
            c_qty = pick("Quantity")
            c_date = pick("InvoiceDate")
            c_price = pick("Price", "UnitPrice")
            c_cust = pick("Customer ID", "CustomerID")
            for row in rd:
                if not row:
                    continue
                if len(row) == 1 and len(header) > 1:
                    # Some exports quote a whole line ("536381,82567,""A,B"",...").
                    row = next(csv.reader([row[0]]))
                if len(row) < len(header):
                    die(f"{p}: short line {rd.line_num}: {row}")
                cust = row[c_cust].strip()
                if not cust:
                    continue  # lines without a customer are skipped
                m = FLOAT_ID.match(cust)
                if m:
                    cust = m.group(1)  # 17850.0 is customer 17850
                inv = row[c_inv].strip()
                if inv.startswith("C"):
                    continue  # cancellations: skipped, as the seeds do
                key = (cust, inv)
                ent = invoices.get(key)
                if ent is None:
                    ent = invoices[key] = [parse_retail_date(row[c_date]), Decimal(0), False]
                qty, price = Decimal(row[c_qty].strip()), Decimal(row[c_price].strip())
                if qty > 0 and price > 0:
                    ent[1] += qty * price
                    ent[2] = True
    cust = {}
    for (c, _inv), (when, amount, valid) in invoices.items():
        if not valid:
            continue  # an invoice with no valid line is no order
        cents = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        e = cust.get(c)
        if e is None:
            cust[c] = [when, when, 1, cents]
        else:
            e[0] = min(e[0], when)
            e[1] = max(e[1], when)
            e[2] += 1
            e[3] += cents
    rows = [(c, *v) for c, v in cust.items()]
    return pd.DataFrame(rows, columns=["customer_id", "first", "last", "frequency", "cents"])


# ---------------------------------------------------------------- scoring


def qcut_quantiles(bins):
    """The quantile list pandas' qcut builds (pandas/core/reshape/tile.py)."""
    q = np.linspace(0, 1, bins + 1)
    np.putmask(q, bins * q != np.arange(bins + 1), np.nextafter(q, 1))
    return q


def cut_documented(x, bins, labels):
    """rfmd's rule for any edges: all bins+1 edges kept, searchsorted 'left',
    lowest edge included (pandas' own steps minus the uniqueness check)."""
    edges = x.quantile(qcut_quantiles(bins)).to_numpy()
    ids = np.searchsorted(edges, x.to_numpy(), side="left")
    ids[x.to_numpy() == edges[0]] = 1
    return np.asarray(labels)[ids - 1]


def qcut(x, bins, labels, what):
    try:
        res = pd.qcut(x, bins, labels=labels).astype(int).to_numpy()
    except ValueError as e:
        if "Bin edges must be unique" not in str(e):
            raise
        print(
            f"seed_rfm.py: {what}: pandas qcut refuses coinciding edges; "
            "using rfmd's documented rule (searchsorted 'left' on all edges)",
            file=sys.stderr,
        )
        return cut_documented(x, bins, labels)
    # The fallback must agree with pandas wherever pandas works.
    assert (cut_documented(x, bins, labels) == res).all(), what
    return res


def score(df, as_of, tie_break, bins):
    df = df.copy()
    df["recency"] = [max(0, (as_of - t) // DAY) for t in df["last"]]
    # Tie order: ids compared as bytes (UTF-8 byte order = code point order,
    # but say it explicitly); first_order puts the earliest first order first.
    df["_key"] = [c.encode("utf-8") for c in df["customer_id"]]
    by = ["first", "_key"] if tie_break == "first_order" else ["_key"]
    df = df.sort_values(by, kind="mergesort").reset_index(drop=True)
    df["monetary"] = df["cents"] / 100  # exact int -> nearest double, as rfmd
    down, up = list(range(bins, 0, -1)), list(range(1, bins + 1))
    df["r"] = qcut(df["recency"], bins, down, "recency")
    df["f"] = qcut(df["frequency"].rank(method="first"), bins, up, "frequency")
    df["m"] = qcut(df["monetary"], bins, up, "monetary")
    rf = df["r"].astype(str) + df["f"].astype(str)
    if bins == 5:
        seg = rf.replace(SEG_MAP, regex=True)
    else:
        seg = rf
    df["segment"] = seg.where(~seg.str.fullmatch(r"\d+"), UNCLASSIFIED)
    return df


def scored(fmt, files, as_of=None, tie_break="customer_id", bins=5):
    """Load files of format fmt ("flo" | "retail") and score them as rfmd does:
    the frame main() prints, in tie order. as_of is "YYYY-MM-DD" or None for
    the newest order's day + 2."""
    df = load_flo(files) if fmt == "flo" else load_retail(files)
    if df.empty:
        die("no customers with orders")
    if as_of:
        as_of = dt.datetime.strptime(as_of, "%Y-%m-%d")
    else:
        newest = pd.Timestamp(df["last"].max()).to_pydatetime()
        as_of = dt.datetime(newest.year, newest.month, newest.day) + 2 * DAY
    df["first"] = [pd.Timestamp(t).to_pydatetime() for t in df["first"]]
    df["last"] = [pd.Timestamp(t).to_pydatetime() for t in df["last"]]
    return score(df, as_of, tie_break, bins)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--format", required=True, choices=["flo", "retail"])
    ap.add_argument("--as-of", help="YYYY-MM-DD (default: newest order's day + 2)")
    ap.add_argument("--tie-break", default="customer_id", choices=["customer_id", "first_order"])
    ap.add_argument("--bins", type=int, default=5)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    if not 2 <= a.bins <= 9:
        die("--bins must be 2..9")
    df = scored(a.format, a.files, a.as_of, a.tie_break, a.bins)

    # Table order is tie order (SPEC §6).
    out = sys.stdout
    out.write("customer_id,recency,frequency,monetary,r,f,m,segment\n")
    for row in df.itertuples(index=False):
        c = int(row.cents)
        money = f"{c // 100}.{c % 100:02d}" if c >= 0 else f"-{-c // 100}.{-c % 100:02d}"
        out.write(
            f"{row.customer_id},{int(row.recency)},{int(row.frequency)},{money},"
            f"{int(row.r)},{int(row.f)},{int(row.m)},{row.segment}\n"
        )


if __name__ == "__main__":
    main()
