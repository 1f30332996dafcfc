#!/usr/bin/env python3
"""An Online Retail II-like CSV for bench/batch.sh, made here so that the
benchmark needs no download and every machine times the same bytes.

    gen_retail.py [--lines N] [--customers N] [--seed S] > file.csv

Same columns and formats as the UCI Online Retail II export in shared/data
(Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country;
"YYYY-MM-DD HH:MM:SS"; prices as Python writes floats). What the real files
have is kept in roughly their proportions, because the readers' cost depends
on it: ~20 % of lines without a customer, ~3 % of repeat invoices cancelled
('C...' with negative quantities), some zero prices and negative adjustments,
descriptions with quoted commas and doubled quotes, invoices of 1..~35 lines,
a few customers with many invoices and most with one or two. Every one of
the --customers ids gets an invoice (never a cancelled first one); the few
whose only invoice has no valid line have no order, so the defaults give a
table of 52,937 customers.

Deterministic: only random.Random(seed) is used, so the same arguments give
the same bytes on every Python 3 (the benchmark caches the file by them).
"""
import argparse
import datetime as dt
import random
import sys

COUNTRIES = ["United Kingdom"] * 18 + ["Germany", "France", "EIRE", "Spain", "Netherlands",
                                        "Belgium", "Switzerland", "Portugal", "Australia"]
WORDS = ["WHITE", "HANGING", "HEART", "T-LIGHT", "HOLDER", "METAL", "LANTERN", "CREAM", "CUPID",
         "COAT", "HANGER", "KNITTED", "UNION", "FLAG", "HOT", "WATER", "BOTTLE", "RED", "WOOLLY",
         "GLASS", "STAR", "FROSTED", "SET", "OF", "6", "PINK", "CHERRY", "LIGHTS", "RETRO",
         "SPOT", "TEA", "PARTY", "BUNTING", "LUNCH", "BAG", "JUMBO", "VINTAGE", "CHRISTMAS"]


def product(rng, i):
    code = f"{20000 + i}" + (rng.choice("ABCDEFGHIJKLMNOPRSTUVWXYZ") if rng.random() < 0.3 else "")
    desc = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
    r = rng.random()
    if r < 0.02:
        desc = f'"{desc} , {rng.choice(WORDS)} DESIGN"'  # a quoted comma
    elif r < 0.03:
        desc = f'"{desc} {rng.randint(2, 9)}"" SIZE "'  # a doubled quote
    cents = rng.choice([12, 29, 42, 55, 65, 85, 125, 165, 210, 255, 295, 339, 375, 425, 495,
                        595, 695, 795, 850, 995, 1275, 1695])
    return code, desc, cents


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_800_000)
    ap.add_argument("--customers", type=int, default=52_944)
    ap.add_argument("--seed", type=int, default=16)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    products = [product(rng, i) for i in range(4000)]
    ids = sorted(rng.sample(range(12346, 100_000), a.customers))
    country = {c: rng.choice(COUNTRIES) for c in ids}
    # Invoice owners: everyone once, then skewed repeats (squared uniform),
    # shuffled so that first and repeat invoices mix over the two years.
    mean_lines = 17
    n_owned = max(a.customers, int(a.lines * 0.8 / mean_lines))
    owners = ids + [ids[int(len(ids) * rng.random() ** 2)] for _ in range(n_owned - len(ids))]
    rng.shuffle(owners)
    start = dt.datetime(2009, 12, 1, 7, 45)
    span = (dt.datetime(2011, 12, 9, 12, 50) - start).total_seconds()
    out = sys.stdout
    w = out.write
    w("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n")
    left = a.lines
    inv = 489434
    k = 0
    seen = set()
    # Interleave no-customer invoices (about a fifth of the lines) until every
    # owner has had an invoice and the line budget is spent.
    n_inv_total = len(owners) + len(owners) // 5
    while left > 0:
        owners_left = len(owners) - k
        if owners_left and (left <= owners_left or rng.random() >= 0.17):
            cust, nlines = owners[k], rng.randint(1, 2 * mean_lines - 1)
            k += 1
            owners_left -= 1
        else:
            cust, nlines = None, rng.randint(1, 2 * mean_lines + 5)
        # Keep a line for each owner still to come.
        nlines = max(1, min(nlines, left - owners_left))
        left -= nlines
        frac = min(1.0, (inv - 489434) / n_inv_total)
        when = start + dt.timedelta(seconds=int(frac * span) // 60 * 60)
        when = when.replace(hour=7 + (when.hour % 12))
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        # Never a customer's first invoice, so that everyone has an order.
        cancel = cust in seen and rng.random() < 0.03
        seen.add(cust)
        iname = f"C{inv}" if cancel else str(inv)
        cname = str(cust) if cust is not None else ""
        ctry = country[cust] if cust is not None else "United Kingdom"
        for _ in range(nlines):
            code, desc, cents = products[int(len(products) * rng.random() ** 1.5)]
            qty = rng.choice([1, 1, 2, 3, 4, 6, 6, 8, 10, 12, 12, 24, 25, 36, 48, 72, 100])
            if cancel:
                qty = -qty
            elif rng.random() < 0.003:
                qty = -rng.randint(1, 20)  # adjustments without a 'C'
            price = cents / 100 if rng.random() >= 0.004 else 0.0
            w(f"{iname},{code},{desc},{qty},{stamp},{price!r},{cname},{ctry}\n")
        inv += 1


if __name__ == "__main__":
    main()
