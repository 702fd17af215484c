"""Reads the GraphML and node-link JSON exports with networkx and compares them with `cellkg stats`.

Usage: check_graph.py GRAPHML JSON STATS_JSON

networkx must read GRAPHML (`read_graphml`) and JSON (`node_link_graph`) into directed graphs
with exactly the node and edge counts of STATS_JSON (the output of `cellkg stats --format json`),
and the same node ids in both; the declared GraphML attributes must come through typed
(`mentions` an int, `discovered` a bool, `confidence` a float). Exit status 0 when all hold,
1 otherwise; 2 on bad usage.
"""

import json
import sys

import networkx as nx


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    graphml_path, json_path, stats_path = sys.argv[1:]
    with open(stats_path, encoding="utf-8") as f:
        stats = json.load(f)
    failures = []
    g = nx.read_graphml(graphml_path)
    with open(json_path, encoding="utf-8") as f:
        j = nx.node_link_graph(json.load(f), edges="edges")
    for name, graph in (("graphml", g), ("json", j)):
        print(
            f"{name}: {type(graph).__name__}, {graph.number_of_nodes()} nodes, "
            f"{graph.number_of_edges()} edges; stats: {stats['nodes']} nodes, {stats['edges']} edges"
        )
        if not graph.is_directed():
            failures.append(f"{name}: the graph is not directed")
        if graph.number_of_nodes() != stats["nodes"]:
            failures.append(f"{name}: {graph.number_of_nodes()} nodes, stats says {stats['nodes']}")
        if graph.number_of_edges() != stats["edges"]:
            failures.append(f"{name}: {graph.number_of_edges()} edges, stats says {stats['edges']}")
    if set(g.nodes) != set(j.nodes):
        failures.append("graphml and json have different node ids")
    isolated = sorted(n for n in g.nodes if g.degree(n) == 0)
    if isolated != stats["isolated"]:
        failures.append(f"{len(isolated)} isolated nodes in graphml, stats lists {len(stats['isolated'])}")
    components = nx.number_weakly_connected_components(g)
    if components != stats["components"]:
        failures.append(f"{components} weakly connected components, stats says {stats['components']}")
    for n, data in list(g.nodes(data=True))[:50]:
        if not isinstance(data.get("mentions"), int) or not isinstance(data.get("discovered"), bool):
            failures.append(f"graphml node {n}: mentions/discovered not typed: {data}")
            break
    for _, _, data in list(g.edges(data=True))[:50]:
        if not isinstance(data.get("confidence"), float) or not data.get("relation"):
            failures.append(f"graphml edge: confidence/relation missing or untyped: {data}")
            break
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
