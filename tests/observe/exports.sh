#!/usr/bin/env bash
# The routing-graph exports parse with independent tools: GraphML as XML (python3 xml.etree),
# DOT with graphviz's `dot`, JSON with python3's json; PNGs carry the PNG signature.
set -euo pipefail
attend=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$attend" inspect-toy --out "$out" --prompt $'ab<c>&"d" abc<c>&"d" \u2028 </script>'
for f in "$out"/graph_L*.dot; do dot -Tsvg "$f" -o "$f.svg"; done
python3 - "$out" <<'PY'
import glob, json, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
files = sorted(glob.glob(d + "/graph_L*.graphml"))
assert len(files) == 2, files
for f in files:
    root = ET.parse(f).getroot()
    nodes = root.findall(".//g:node", ns)
    edges = root.findall(".//g:edge", ns)
    j = json.load(open(f[:-len("graphml")] + "json"))
    assert len(nodes) == len(j["nodes"]) > 0 and len(edges) == len(j["edges"]) > 0, f
    labels = [n.find("g:data", ns).text for n in nodes]
    assert labels == [n["label"] for n in j["nodes"]], f
    assert all(0 < float(e.find("g:data", ns).text) <= 1 for e in edges)
for f in glob.glob(d + "/heatmap_*.png"):
    assert open(f, "rb").read(8) == b"\x89PNG\r\n\x1a\n", f
s = json.load(open(d + "/recording_summary.json"))
assert len(s["rollout"]) == len(s["tokens"]) ** 2 and s["rollout_rows"] == list(range(len(s["tokens"])))
print("exports parse:", len(files), "graphs")
PY
