"""Checks that every row of mentions.csv points at its surface in the original document.

Usage: check_mentions.py EXPORTS_DIR SEEDS_DIR

Offsets are Unicode character offsets into the original decoded text, end exclusive, so
`text[start:end] == surface` must hold, with the text read as Python reads it:
`open(path, encoding='utf-8-sig', newline='')` (no newline translation; a UTF-8 byte-order mark
is not part of the text). A file that is not UTF-8 is tried as UTF-16 (with a BOM), GB18030 and
Big5. The document of a row is a file stem; the file is looked up under SEEDS_DIR, recursively.
Exit status 0 when every row holds, 1 otherwise; 2 on bad usage.
"""

import csv
import sys
from pathlib import Path


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8-sig", "gb18030", "big5"]
    for encoding in encodings:
        try:
            with open(path, encoding=encoding, newline="") as f:
                return f.read()
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path}: not decodable as {', '.join(encodings)}")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    exports, seeds = Path(sys.argv[1]), Path(sys.argv[2])
    files = {}
    for p in sorted(seeds.rglob("*")):
        if p.is_file() and p.suffix.lower() != ".md":
            files.setdefault(p.stem, p)
    texts = {}
    failures = []
    rows = 0
    with open(exports / "mentions.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            rows += 1
            line = reader.line_num
            doc = row["document"]
            if doc not in texts:
                if doc not in files:
                    failures.append(f"mentions.csv:{line}: no file with stem {doc!r} in {seeds}")
                    texts[doc] = None
                else:
                    texts[doc] = read_text(files[doc])
            text = texts[doc]
            if text is None:
                continue
            try:
                start, end = int(row["start"]), int(row["end"])
            except ValueError:
                failures.append(f"mentions.csv:{line}: start/end not integers: {row}")
                continue
            if not 0 <= start < end <= len(text):
                failures.append(
                    f"mentions.csv:{line}: {doc} [{start}, {end}) outside 0..{len(text)}"
                )
                continue
            if text[start:end] != row["surface"]:
                failures.append(
                    f"mentions.csv:{line}: {doc} [{start}, {end}) is {text[start:end]!r}, "
                    f"surface is {row['surface']!r}"
                )
    print(f"mentions.csv: {rows} rows checked against {len(texts)} documents")
    for f in failures[:20]:
        print(f"FAIL {f}", file=sys.stderr)
    if len(failures) > 20:
        print(f"FAIL … and {len(failures) - 20} more", file=sys.stderr)
    if rows == 0:
        print("FAIL mentions.csv has no rows", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
