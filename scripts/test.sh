#!/usr/bin/env bash
# README command (2): installs what is missing, then lint, type check and the whole jest suite
# against a real Postgres (the project's own cluster) and real Temporal servers (pinned binaries).
# Extra arguments go to jest, e.g. `npm test -- test/ledger`. `npm test -- --selectProjects unit` runs
# only the pure tier (jest.config.js): no Postgres is started, no lint or type check.
# Ends with the line "N passed, N failed" and a non-zero exit on any failure.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

bash scripts/install.sh

# The pure tier alone needs no database, and is meant to answer in seconds.
unit_only=0
if [[ " $* " == *" --selectProjects unit "* && " $* " != *" integration "* ]]; then unit_only=1; fi

# Start the project's Postgres if it is not running, and stop it again afterwards.
started_pg=0
if [ "$unit_only" = 0 ] && ! bash scripts/stack.sh status postgres >/dev/null; then
  bash scripts/stack.sh start postgres
  started_pg=1
fi
cleanup() { if [ "$started_pg" = 1 ]; then bash scripts/stack.sh stop postgres; fi; }
trap cleanup EXIT

if [ "$unit_only" = 0 ]; then
  say "lint"
  node_modules/.bin/eslint .
  say "format (prettier --check; npm run format writes it)"
  node_modules/.bin/prettier --check --log-level warn .
  say "type check"
  node_modules/.bin/tsc --noEmit -p tsconfig.json
fi

results="$DATA_DIR/jest-results.json"
mkdir -p "$DATA_DIR"
rm -f "$results" "$DATA_DIR/test-summary.txt"
say "jest"
set +e
node_modules/.bin/jest --json --outputFile="$results" "$@"
jest_rc=$?
set -e

[ -s "$results" ] || { echo "0 passed, 1 failed" | tee "$DATA_DIR/test-summary.txt"; die "jest wrote no results (exit $jest_rc)"; }
summary=$(node -e '
  const r = require(process.argv[1]);
  // A suite that failed to run (e.g. a compile error) has no test results: count it as a failure.
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
  process.exit(failed > 0 || r.numTotalTests === 0 || !r.success ? 1 : 0);
' "$results") && ok=1 || ok=0
echo "$summary" | tee "$DATA_DIR/test-summary.txt"
[ "$ok" = 1 ] && [ "$jest_rc" = 0 ]
