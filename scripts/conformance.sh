#!/usr/bin/env bash
# Runs the user's request collection with the real Bruno CLI against `openrespond serve --demo`
# on a fresh database, and fails unless all 17 requests pass.
#   scripts/conformance.sh [SHARED_DIR]     (default: ../shared beside the repository)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SHARED="${1:-../shared}"
RUNNER="$SHARED/conformance/bruno/run.sh"
if [ ! -x "$RUNNER" ] && [ ! -f "$RUNNER" ]; then
  echo "conformance: $RUNNER not found; skipped"
  exit 0
fi
WORK="$(mktemp -d /tmp/openrespond-conformance.XXXXXX)"
PORT="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
TOKEN="conformance-token-$(date +%s)-0123456789"
OPENRESPOND_DATABASE_URL="sqlite:///$WORK/demo.db" OPENRESPOND_PORT="$PORT" \
  OPENRESPOND_DEMO_TOKEN="$TOKEN" OPENRESPOND_RATE_LIMIT_PER_SECOND=0 \
  .venv/bin/openrespond serve --demo > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/openapi.json" > /dev/null && break
  sleep 0.1
done
OUT="$(WORKDIR="$WORK/bruno" bash "$RUNNER" "http://127.0.0.1:$PORT/v2" "$TOKEN" 2>&1)" || true
echo "$OUT"
if ! grep -q "collection requests: 17/17 passed" <<< "$OUT"; then
  echo "conformance: the collection did not pass 17/17 (server log: $WORK/server.log)" >&2
  exit 1
fi
