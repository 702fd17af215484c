"""Checks the Neo4j import folder against the `neo4j-admin database import` header format.

Usage: check_neo4j.py NEO4J_DIR

Every *.csv is read with pandas. A node file has one `:ID` column (`name:ID`) and a `:LABEL`
column; a relationship file starts with `:START_ID,:END_ID,:TYPE`. Every other column is
`name` or `name:type` with a type neo4j-admin knows, and typed cells parse as that type (int,
double, boolean; arrays split on `|`). IDs are unique across node files, every relationship end
is a node ID, and relationship types are upper snake case. Exit 0 when all hold, 1 otherwise.
"""

import re
import sys
from pathlib import Path

import pandas as pd

TYPES = {"int", "long", "float", "double", "boolean", "byte", "short", "char", "string",
         "date", "datetime", "localdatetime", "time", "localtime", "duration", "point"}


def check_cell(value: str, ty: str) -> bool:
    if value == "":
        return True
    array = ty.endswith("[]")
    base = ty[:-2] if array else ty
    for v in value.split("|") if array else [value]:
        try:
            if base in ("int", "long", "byte", "short"):
                int(v)
            elif base in ("float", "double"):
                float(v)
            elif base == "boolean" and v not in ("true", "false"):
                return False
        except ValueError:
            return False
    return True


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(sys.argv[1])
    failures, ids, rels = [], set(), []
    files = sorted(folder.glob("*.csv"))
    if not files:
        failures.append(f"{folder}: no csv files")
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        cols = list(frame.columns)
        id_cols = [c for c in cols if c.endswith(":ID")]
        if cols[:3] == [":START_ID", ":END_ID", ":TYPE"]:
            rels.append((path.name, frame))
            bad = [t for t in frame[":TYPE"] if not re.fullmatch(r"[A-Z][A-Z0-9_]*", t)]
            if bad:
                failures.append(f"{path.name}: relationship types not upper snake case: {bad[:3]}")
        elif len(id_cols) == 1 and ":LABEL" in cols:
            new = list(frame[id_cols[0]])
            if len(set(new)) != len(new) or ids & set(new):
                failures.append(f"{path.name}: duplicate node IDs")
            ids |= set(new)
        else:
            failures.append(f"{path.name}: neither a node header (x:ID, :LABEL) nor a relationship header")
            continue
        for c in cols:
            if c in (":ID", ":LABEL", ":START_ID", ":END_ID", ":TYPE") or c.endswith(":ID"):
                continue
            name, _, ty = c.partition(":")
            if not name or (ty and ty.removesuffix("[]") not in TYPES):
                failures.append(f"{path.name}: column {c!r} is not name[:type]")
            elif ty and not all(check_cell(v, ty) for v in frame[c]):
                failures.append(f"{path.name}: a cell of {c!r} is not a {ty}")
        print(f"{path.name}: {len(frame)} rows, columns {','.join(cols)}")
    for name, frame in rels:
        missing = (set(frame[":START_ID"]) | set(frame[":END_ID"])) - ids
        if missing:
            failures.append(f"{name}: {len(missing)} ends are no node ID, e.g. {sorted(missing)[:3]}")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
