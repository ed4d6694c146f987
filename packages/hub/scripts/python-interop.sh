#!/usr/bin/env bash
# One-off check (not part of the test run) that @pali/hub and Python's huggingface_hub share one cache:
# Python downloads from the fake Hub, Node reads that cache offline; Node downloads, Python reads that
# cache offline; both trees must be identical. Writes fixtures/hf-cache-layout/python-tree.json.
# Needs python3 with huggingface_hub; run from the repo root: bash packages/hub/scripts/python-interop.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
pnpm --dir "$root" --filter @pali/hub build >/dev/null
node "$here/serve-fake-hub.mjs" >"$work/server.json" &
server=$!
for _ in $(seq 50); do [ -s "$work/server.json" ] && break; sleep 0.1; done
url=$(node -p "JSON.parse(require('fs').readFileSync('$work/server.json','utf8')).url")
mkdir -p "$root/fixtures/hf-cache-layout"
python3 "$here/python-interop.py" download "$url" "$work/py-cache" "$root/fixtures/hf-cache-layout/python-tree.json"
node "$here/node-side.mjs" "$work/server.json" "$work/py-cache" "$work/node-cache"
python3 "$here/python-interop.py" read-offline "$work/node-cache"
kill -TERM "$server"; wait "$server" || true
