"""Reads every CSV file of an exports directory with pandas and checks the contract headers.

Usage: check_csv.py [--excel] EXPORTS_DIR

Each of the seven contract files must exist, be UTF-8 without a byte-order mark, parse with
pandas, and have exactly the contract's columns in the contract's order. Any other CSV file at
the top level must parse too. With --excel (a directory written by `cellkg export csv --excel`)
every file must instead start with a UTF-8 byte-order mark, and no cell may start with = + - @
unless it is a number. Exit status 0 when all hold, 1 otherwise; 2 on bad usage.
"""

import sys
from pathlib import Path

import pandas as pd

CONTRACT = {
    "nodes.csv": "id,type,subtype,label,label_en,label_zh,aliases,external_ids,documents,mentions,discovered",
    "edges.csv": "source,target,relation,documents,evidence_count,confidence",
    "evidence.csv": "source,target,relation,document,start,end,quote,rule,confidence",
    "mentions.csv": "entity,document,start,end,surface",
    "prices.csv": "subject,amount,amount_min,amount_max,currency,unit,qualifier,document,start,end,quote",
    "clinical.csv": "product,indication,metric,value,value_min,value_max,document,start,end,quote",
    "conflicts.csv": "id,subject,relation,values,description,documents",
}


def is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def main() -> int:
    args = sys.argv[1:]
    excel = args[:1] == ["--excel"]
    if excel:
        args = args[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    exports = Path(args[0])
    failures = []
    for name in sorted(set(CONTRACT) | {p.name for p in exports.glob("*.csv")}):
        path = exports / name
        if not path.is_file():
            failures.append(f"{path}: missing (the export contract requires it)")
            continue
        raw = path.read_bytes()
        if excel and not raw.startswith(b"\xef\xbb\xbf"):
            failures.append(f"{path}: --excel files must start with a UTF-8 byte-order mark")
        if not excel and raw.startswith(b"\xef\xbb\xbf"):
            failures.append(f"{path}: starts with a UTF-8 byte-order mark")
        try:
            encoding = "utf-8-sig" if excel else "utf-8"
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except Exception as e:  # pandas raises several kinds of parse errors
            failures.append(f"{path}: pandas cannot read it: {e}")
            continue
        columns = list(frame.columns)
        expected = CONTRACT.get(name)
        if expected is not None and columns != expected.split(","):
            failures.append(
                f"{path}: columns are {','.join(columns)}, the contract says {expected}"
            )
        if excel:
            live = [
                v
                for col in frame.columns
                for v in frame[col]
                if v[:1] in ("=", "+", "-", "@") and not is_number(v)
            ]
            if live:
                failures.append(f"{path}: {len(live)} cells could run as formulas, e.g. {live[0]!r}")
        print(f"{name}: {len(frame)} rows, {len(columns)} columns")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
