"""Parses the RDF exports with rdflib and compares the Turtle graph with the N-Quads default graph.

Usage: check_rdf.py EXPORTS_DIR

graph.ttl must parse as Turtle and graph.nq as N-Quads; the number of triples of graph.ttl must
equal the number of triples in the default graph of graph.nq (quads without a graph term). When
neither file has blank nodes the two sets of triples must also be equal. Exit status 0 when all
hold, 1 otherwise; 2 on bad usage.
"""

import sys
from pathlib import Path

from rdflib import BNode, Dataset, Graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    exports = Path(sys.argv[1])
    turtle, nquads = exports / "graph.ttl", exports / "graph.nq"
    failures = []
    graph = Graph()
    graph.parse(turtle, format="turtle")
    dataset = Dataset()
    dataset.parse(nquads, format="nquads")
    default = {
        (s, p, o)
        for s, p, o, g in dataset.quads((None, None, None, None))
        if g is None or getattr(g, "identifier", g) == DATASET_DEFAULT_GRAPH_ID
    }
    named = {
        getattr(g, "identifier", g)
        for _, _, _, g in dataset.quads((None, None, None, None))
        if g is not None and getattr(g, "identifier", g) != DATASET_DEFAULT_GRAPH_ID
    }
    print(
        f"graph.ttl: {len(graph)} triples; graph.nq: {len(default)} default-graph triples, "
        f"{len(named)} named graphs"
    )
    if len(graph) == 0:
        failures.append("graph.ttl has no triples")
    if len(graph) != len(default):
        failures.append(
            f"graph.ttl has {len(graph)} triples but the default graph of graph.nq has {len(default)}"
        )
    has_bnodes = any(isinstance(t, BNode) for triple in graph for t in triple) or any(
        isinstance(t, BNode) for triple in default for t in triple
    )
    if not has_bnodes:
        ttl = set(graph)
        only_ttl, only_nq = ttl - default, default - ttl
        for t in sorted(only_ttl, key=str)[:5]:
            failures.append(f"only in graph.ttl: {t}")
        for t in sorted(only_nq, key=str)[:5]:
            failures.append(f"only in the default graph of graph.nq: {t}")
        if only_ttl or only_nq:
            failures.append(
                f"{len(only_ttl)} triples only in graph.ttl, {len(only_nq)} only in graph.nq"
            )
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
