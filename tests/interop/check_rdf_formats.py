"""Parses RDF exports with rdflib and compares their size with the store's default graph.

Usage: check_rdf_formats.py STORE_NQ FILE:FORMAT...

STORE_NQ is the store file written by `cellkg build` (`.cellkg/store.nq`); each FILE is parsed
with rdflib in FORMAT (turtle, nt, json-ld, xml) and must hold exactly as many triples as the
default graph of STORE_NQ. Exit status 0 when all hold, 1 otherwise; 2 on bad usage.
"""

import sys

from rdflib import Dataset, Graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    dataset = Dataset()
    dataset.parse(sys.argv[1], format="nquads")
    default = {
        (s, p, o)
        for s, p, o, g in dataset.quads((None, None, None, None))
        if g is None or getattr(g, "identifier", g) == DATASET_DEFAULT_GRAPH_ID
    }
    print(f"{sys.argv[1]}: {len(default)} triples in the default graph")
    failures = []
    for arg in sys.argv[2:]:
        path, _, fmt = arg.rpartition(":")
        graph = Graph()
        try:
            graph.parse(path, format=fmt)
        except Exception as e:  # rdflib raises parser-specific errors
            failures.append(f"{path}: rdflib cannot parse it as {fmt}: {e}")
            continue
        print(f"{path} ({fmt}): {len(graph)} triples")
        if len(graph) != len(default):
            failures.append(f"{path}: {len(graph)} triples, the store's default graph has {len(default)}")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
