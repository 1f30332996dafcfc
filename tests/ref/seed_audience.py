#!/usr/bin/env python3
"""Reference campaign audiences on the FLO file, computed the seed notebook's way.

    seed_audience.py --campaign women|discount [--exact-categories] FLO_FILE...

After the RFM segmentation (seed_rfm.py, exactly the seed's scoring) the
notebook picks two audiences:

  women     a new women's shoe brand: champions or loyal_customers, interested
            in KADIN, mean order value (omnichannel total value / total orders)
            of at least 250
  discount  ~40% off men's and children's shoes: at_risk, cant_loose or
            new_customers, interested in ERKEK or COCUK

Prints CSV, `master_id` then one id per line, in the seed table's order (id
byte order). `rfmctl audience` must print the same bytes.

  * The notebook filters interested_in_categories_12 with str.contains: a
    substring test on the list's text, so "COCUK" also picks customers whose
    only children's category is AKTIFCOCUK. That is the default here.
    --exact-categories tests list membership instead, which is what
    `rfmctl audience --categories` does; the notebook's discount audience is
    rfmctl's with AKTIFCOCUK added to the list.
  * The mean order value is compared in exact cents, as rfmctl does (SPEC §3:
    references sum cents, a float sum can land on the wrong side of 250).
"""
import argparse
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_rfm  # noqa: E402

CAMPAIGNS = {
    "women": (["champions", "loyal_customers"], ["KADIN"], 250),
    "discount": (["at_risk", "cant_loose", "new_customers"], ["ERKEK", "COCUK"], None),
}


def interested(cats, wanted, exact):
    if exact:
        items = cats.str.strip("[]").str.split(",")
        return items.apply(lambda l: any(x.strip() in wanted for x in l))
    hit = pd.Series(False, index=cats.index)
    for w in wanted:
        hit |= cats.str.contains(w, regex=False)
    return hit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--campaign", required=True, choices=sorted(CAMPAIGNS))
    ap.add_argument("--exact-categories", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    segments, categories, min_mean = CAMPAIGNS[a.campaign]

    rfm = seed_rfm.scored("flo", a.files)
    raw = pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in a.files], ignore_index=True
    )
    # Like the notebook's merge of the rfm frame back onto the data: left, so
    # the rfm (tie) order stays.
    rfm = rfm.merge(
        raw[["master_id", "interested_in_categories_12"]],
        how="left",
        left_on="customer_id",
        right_on="master_id",
    )
    pick = rfm["segment"].isin(segments)
    pick &= interested(rfm["interested_in_categories_12"], categories, a.exact_categories)
    if min_mean is not None:
        pick &= rfm["cents"] >= min_mean * 100 * rfm["frequency"]
    sys.stdout.write("master_id\n")
    sys.stdout.writelines(f"{c}\n" for c in rfm.loc[pick, "customer_id"])


if __name__ == "__main__":
    main()
