#!/usr/bin/env bash
# `make test`: the whole suite on SQLite, then again on PostgreSQL.
#
# PostgreSQL is found at OPENRESPOND_TEST_POSTGRES_URL (default
# postgresql://postgres@127.0.0.1:5432/test). If it does not answer, a local cluster is started
# when pg_ctlcluster can start one; otherwise the PostgreSQL run is reported as skipped, with
# the reason, and only the SQLite result counts, unless OPENRESPOND_REQUIRE_POSTGRES=1 (CI),
# which makes a missing PostgreSQL a failure. Arguments go to pytest.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
export OPENRESPOND_TEST_POSTGRES_URL=${OPENRESPOND_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}

answer() {
  "$PY" - <<'PY'
import asyncio, os, sys
import asyncpg
async def main() -> None:
    conn = await asyncpg.connect(os.environ["OPENRESPOND_TEST_POSTGRES_URL"], timeout=5)
    await conn.close()
try:
    asyncio.run(main())
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
    sys.exit(1)
PY
}

echo "== openrespond suite on SQLite"
"$PY" -m pytest "$@"
lite=$?

echo "== openrespond suite on PostgreSQL ($OPENRESPOND_TEST_POSTGRES_URL)"
why=$(answer)
if [ -n "$why" ] && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "PostgreSQL does not answer ($why); starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1 || true
  for _ in $(seq 1 30); do why=$(answer) && [ -z "$why" ] && break; sleep 1; done
fi
if [ -n "$why" ]; then
  echo "PostgreSQL run SKIPPED: no PostgreSQL at $OPENRESPOND_TEST_POSTGRES_URL ($why)"
  if [ "${OPENRESPOND_REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "OPENRESPOND_REQUIRE_POSTGRES=1: a missing PostgreSQL fails the run"
    exit 1
  fi
  pg=0
else
  OPENRESPOND_TEST_BACKEND=postgresql "$PY" -m pytest "$@"
  pg=$?
fi

echo "== results: SQLite $([ $lite -eq 0 ] && echo passed || echo FAILED)," \
  "PostgreSQL $([ -n "$why" ] && echo skipped || { [ $pg -eq 0 ] && echo passed || echo FAILED; })"
[ $lite -eq 0 ] && [ $pg -eq 0 ]
