#!/usr/bin/env bash
# README command (1), after `npm run setup`: bring up the whole stack and run the demo.
#   npm start               stack + demo
#   npm start -- --no-demo  stack only; keeps serving until `npm stop`
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) die "unknown option '$arg' (try --help)" ;;
  esac
done

bash scripts/stack.sh start
echo
echo "  API               $API_URL   (OpenAPI $API_URL/v1/openapi.json)"
echo "  Admin API key     in $ADMIN_KEY_FILE (or \$ADMIN_API_KEY)"
echo "  Temporal Web UI   $TEMPORAL_UI_URL"
echo "  Temporal gRPC     $TEMPORAL_ADDRESS (namespace $TEMPORAL_NAMESPACE)"
echo "  Gateway simulator $GATEWAY_URL"
echo "  Postgres          $DATABASE_URL"
echo "  Logs              $LOG_DIR"
echo "  Stop everything   npm stop"
echo
if [ "$demo" = 1 ]; then
  node_modules/.bin/ts-node --transpile-only demo/main.ts
fi
