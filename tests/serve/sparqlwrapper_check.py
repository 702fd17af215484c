"""Queries a running `cellkg serve` endpoint with SPARQLWrapper, the way analysts do.

Usage: sparqlwrapper_check.py ENDPOINT_URL

Every method SPARQLWrapper has (GET, POST url-encoded, POST application/sparql-query) is tried
with every result format: SELECT and ASK as JSON, XML, CSV and TSV; CONSTRUCT as Turtle, N3,
RDF/XML and JSON-LD (parsed by rdflib). The formats must agree with each other. An update must
be refused with 403 and leave the data unchanged; a malformed query must raise QueryBadFormed.
Prints one line per group of checks and exits non-zero on the first failure.
"""

import csv
import io
import sys
import urllib.error

from rdflib import Graph

from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

CKG = "PREFIX ckg: <https://w3id.org/cellkg/ontology#>\n"
SELECT_TARGETS = CKG + "SELECT ?t WHERE { ?t a ckg:Target } ORDER BY ?t"
ASK_TARGETS = CKG + "ASK { ?t a ckg:Target }"
CONSTRUCT_TARGETS = CKG + "CONSTRUCT { ?t a ckg:Target } WHERE { ?t a ckg:Target }"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
INSERT = "INSERT DATA { <urn:x:s> <urn:x:p> <urn:x:o> }"

METHODS = [
    ("GET", GET, None),
    ("POST url-encoded", POST, URLENCODED),
    ("POST sparql-query", POST, POSTDIRECTLY),
]


def client(endpoint, method, request_method, query, fmt):
    w = SPARQLWrapper(endpoint)
    w.setMethod(method)
    if request_method:
        w.setRequestMethod(request_method)
    w.setQuery(query)
    w.setReturnFormat(fmt)
    return w


def select_rows(endpoint, method, request_method, fmt):
    res = client(endpoint, method, request_method, SELECT_TARGETS, fmt).query()
    data = res.convert()
    if fmt == JSON:
        return [b["t"]["value"] for b in data["results"]["bindings"]]
    if fmt == XML:
        return [u.firstChild.data for u in data.getElementsByTagName("uri")]
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if fmt == CSV:
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["t"], rows[0]
        return [r[0] for r in rows[1:]]
    if fmt == TSV:
        lines = text.splitlines()
        assert lines[0] == "?t", lines[0]
        return [line.strip("<>") for line in lines[1:]]
    raise AssertionError(fmt)


def ask(endpoint, method, request_method, fmt):
    data = client(endpoint, method, request_method, ASK_TARGETS, fmt).query().convert()
    if fmt == JSON:
        return data["boolean"]
    if fmt == XML:
        return data.getElementsByTagName("boolean")[0].firstChild.data == "true"
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return text.strip().splitlines()[-1] == "true"


def construct(endpoint, method, request_method, fmt):
    """The triples of a CONSTRUCT; SPARQLWrapper hands Turtle and N3 over as text."""
    result = client(endpoint, method, request_method, CONSTRUCT_TARGETS, fmt).query()
    content_type = result.info()["content-type"]
    expected = {TURTLE: "text/turtle", N3: "text/turtle", RDFXML: "application/rdf+xml",
                JSONLD: "application/ld+json"}[fmt]
    assert content_type.startswith(expected), f"CONSTRUCT {fmt}: Content-Type {content_type}"
    data = result.convert()
    if isinstance(data, bytes):
        data = Graph().parse(data=data, format="turtle")
    return {(str(s), str(p), str(o)) for s, p, o in data.triples((None, None, None))}


def count_all(endpoint):
    data = client(endpoint, GET, None, COUNT_ALL, JSON).query().convert()
    return int(data["results"]["bindings"][0]["n"]["value"])


def main():
    endpoint = sys.argv[1]
    before = count_all(endpoint)
    checks = 0
    for name, method, request_method in METHODS:
        expected = None
        for fmt in (JSON, XML, CSV, TSV):
            rows = select_rows(endpoint, method, request_method, fmt)
            assert rows, f"{name} SELECT {fmt}: no rows"
            if expected is None:
                expected = rows
            assert rows == expected, f"{name} SELECT {fmt}: {rows[:3]} != {expected[:3]}"
            checks += 1
        for fmt in (JSON, XML, CSV, TSV):
            assert ask(endpoint, method, request_method, fmt) is True, f"{name} ASK {fmt}"
            checks += 1
        graphs = {}
        for fmt in (TURTLE, N3, RDFXML, JSONLD):
            graphs[fmt] = construct(endpoint, method, request_method, fmt)
            assert len(graphs[fmt]) == len(expected), f"{name} CONSTRUCT {fmt}: {len(graphs[fmt])} triples"
            checks += 1
        assert all(g == graphs[TURTLE] for g in graphs.values()), f"{name}: CONSTRUCT formats disagree"
        print(f"{name}: SELECT and ASK in json/xml/csv/tsv, CONSTRUCT in turtle/n3/rdf+xml/json-ld: {len(expected)} targets")

    for name, method, request_method in METHODS[1:]:
        w = client(endpoint, method, request_method, INSERT, JSON)
        try:
            w.query()
        except urllib.error.HTTPError as e:
            assert e.code == 403, f"update via {name}: HTTP {e.code}"
        else:
            raise AssertionError(f"update via {name} was not refused")
        checks += 1
    after = count_all(endpoint)
    assert after == before, f"data changed: {before} triples before the update, {after} after"
    print(f"update refused with 403 (POST url-encoded and POST direct); still {after} triples")

    try:
        client(endpoint, GET, None, "SELECT ?s WHERE { ?s ?p }", JSON).query()
    except QueryBadFormed as e:
        assert "query:1:" in str(e), str(e)
    else:
        raise AssertionError("a malformed query was answered")
    checks += 1
    print("malformed query: QueryBadFormed with the position")
    print(f"sparqlwrapper: {checks} checks passed")


if __name__ == "__main__":
    main()
