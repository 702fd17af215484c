#!/usr/bin/env python3
"""Builds a scaled benchmark corpus from the seed articles.

usage: make_corpus.py SEEDS_DIR OUT_DIR MEGABYTES

Copies every seed article (README excluded) again and again into OUT_DIR, each copy with one
unique line appended (so that no two files are identical and content hashes differ), until the
corpus holds at least MEGABYTES megabytes (10^6 bytes). File names sort in copy order:
c000001_<seed name>. OUT_DIR is emptied first. Prints the file count and the byte count.
"""
import os
import shutil
import sys


def main():
    seeds_dir, out_dir, megabytes = sys.argv[1], sys.argv[2], float(sys.argv[3])
    seeds = []
    for name in sorted(os.listdir(seeds_dir)):
        path = os.path.join(seeds_dir, name)
        if name.startswith(".") or name.lower().startswith("readme") or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            seeds.append((name, f.read()))
    if not seeds:
        sys.exit("make_corpus.py: no seed articles in %s" % seeds_dir)
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    target = int(megabytes * 1_000_000)
    total = files = copy = 0
    while total < target:
        copy += 1
        for name, data in seeds:
            body = data.rstrip(b"\n") + ("\n\n(benchmark copy %06d of %s)\n" % (copy, name)).encode()
            with open(os.path.join(out_dir, "c%06d_%s" % (copy, name)), "wb") as f:
                f.write(body)
            total += len(body)
            files += 1
    print("%d files, %d bytes, %d copies of %d seeds" % (files, total, copy, len(seeds)))


if __name__ == "__main__":
    main()
