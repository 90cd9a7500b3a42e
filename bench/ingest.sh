#!/usr/bin/env bash
# Reproduces docs/BENCHMARKS.md's ingest numbers: starts a release `ledger serve` on a private cluster,
# measures closed-loop peak, open-loop latency at half the peak, the server's peak RSS, and pgbench
# running the same statements on the same cluster. Usage: bench/ingest.sh [connections] [seconds] [role]
# role: `api` (default: the ingest path alone, like pgbench) or `all` (the worker pool runs the events
# at the same time, competing for the two cores and the disk).
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-16}
T=${2:-20}
ROLE=${3:-api}
WORK=$(mktemp -d /var/tmp/ledger-bench.XXXXXX)
chmod 755 "$WORK"
export LEDGER_DATABASE__DATA_DIR="$WORK/pg/data"
export LEDGER_SERVER__BIND=127.0.0.1:18080
export LEDGER_LOG__LEVEL=warn
export LEDGER_WORKER__CONCURRENCY=4
cargo build --release -q -p ledger
BIN=target/release/ledger

$BIN serve --role "$ROLE" >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 120); do curl -fs http://127.0.0.1:18080/health/ready >/dev/null && break; sleep 0.5; done

TENANT_JSON=$($BIN tenant create --name bench --json)
TENANT=$(echo "$TENANT_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tenant_id"])')
KEY=$(echo "$TENANT_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
URL=$($BIN db-url)

echo "== ledger bench ingest, closed loop, c=$C, ${T}s, serve --role $ROLE"
$BIN bench ingest --url http://127.0.0.1:18080 --tenant "$TENANT" --api-key "$KEY" -c "$C" --duration-s "$T" | tee "$WORK/closed.txt"
PEAK=$(awk '/accepted\/s/ {print $2}' "$WORK/closed.txt")
HALF=$(( ${PEAK%.*} / 2 ))
echo "== ledger bench ingest, open loop at ${HALF}/s (half the peak), c=$C, ${T}s"
$BIN bench ingest --url http://127.0.0.1:18080 --tenant "$TENANT" --api-key "$KEY" -c "$C" --duration-s "$T" --rate "$HALF"
echo "== server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$SERVER/status)"

PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
HOST=$(python3 -c 'import sys,urllib.parse as u; q=u.parse_qs(u.urlparse(sys.argv[1]).query); print(q["host"][0])' "$URL")
echo "== pgbench, same cluster, fsync on, -M prepared, c=$C, ${T}s (bench/ingest.sql)"
RUNAS=()
[ "$(id -u)" = 0 ] && RUNAS=(runuser -u postgres --)
"${RUNAS[@]}" "$PGBENCH" -h "$HOST" -p 5432 -U ledger -n -M prepared -c "$C" -j 2 -T "$T" \
  -D tenant="$TENANT" -f bench/ingest.sql ledger | grep -E "tps|latency|transactions"
