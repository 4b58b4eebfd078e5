#!/usr/bin/env bash
# Issue 13 "Done when": vendorkit sync against Stoplight Prism's dynamic mock of the contract.
# Not run by CI. Needs: npm install --prefix /tmp/prism @stoplight/prism-cli
# Usage: tests/reliability/prism_run.sh [RUNS] [OUT.tsv]   (from the repository root)
# Each run: a fresh `prism mock -d` on a loopback port, then `vendorkit sync --db <tmp>` against
# it with dummy credentials, bounded by `timeout 300`. Prints one TSV row per run:
# run, exit code, seconds, last line of stderr.
set -u
RUNS=${1:-10}
OUT=${2:-/tmp/prism_runs.tsv}
PRISM=${PRISM:-/tmp/prism/node_modules/.bin/prism}
PYTHON=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
printf 'run\texit\tseconds\terror\n' > "$OUT"
for i in $(seq 1 "$RUNS"); do
    PORT=$((4100 + i))
    WORK=$(mktemp -d)
    "$PRISM" mock -d -h 127.0.0.1 -p "$PORT" "$ROOT/vendorkit/openapi.yaml" > "$WORK/prism.log" 2>&1 &
    PRISM_PID=$!
    for _ in $(seq 1 60); do
        grep -q "Prism is listening" "$WORK/prism.log" 2>/dev/null && break
        sleep 0.5
    done
    START=$(date +%s.%N)
    VENDORKIT_BASE_URL="http://127.0.0.1:$PORT" \
    VENDORKIT_TOKEN_URL="http://127.0.0.1:$PORT/oauth/oauth30/token" \
    VENDORKIT_CLIENT_ID=prism-dummy-id VENDORKIT_CLIENT_SECRET=prism-dummy-secret \
    PYTHONPATH="$ROOT" timeout 300 "$PYTHON" -c "import sys; from vendorkit.cli import main; sys.exit(main())" sync --db "$WORK/store.duckdb" \
        > "$WORK/out.log" 2> "$WORK/err.log"
    RC=$?
    END=$(date +%s.%N)
    kill "$PRISM_PID" 2>/dev/null; wait "$PRISM_PID" 2>/dev/null
    ERR=$(grep -v '^\s*$' "$WORK/err.log" | tail -n 1 | cut -c1-300)
    if grep -q "Traceback" "$WORK/err.log"; then ERR="TRACEBACK: $ERR"; fi
    if grep -q "prism-dummy-secret" "$WORK/out.log" "$WORK/err.log"; then ERR="SECRET LEAKED: $ERR"; fi
    printf '%s\t%s\t%.1f\t%s\n' "$i" "$RC" "$(echo "$END - $START" | bc)" "$ERR" | tee -a "$OUT"
    cp "$WORK/err.log" "/tmp/prism_err_$i.log"; cp "$WORK/out.log" "/tmp/prism_out_$i.log"
    rm -rf "$WORK"
done
