#!/usr/bin/env bash
# README command (1), after `npm run setup`: bring up the whole stack, print where everything is,
# and run the scenario (demo/main.ts) unless --no-demo.
#   npm start                                   stack + scenario (defaults: 300 investors, 3 months of 20 s)
#   npm start -- --investors 500 --months 3 --month 20s --seed 7 --auto-resolve
#   npm start -- --no-demo                      stack only; keeps serving until `npm stop`
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

demo=1
demo_args=()
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    -h|--help)
      sed -n '2,6p' "$0"
      node_modules/.bin/ts-node --transpile-only demo/main.ts --help
      exit 0 ;;
    *) demo_args+=("$arg") ;;
  esac
done
if [ "$demo" = 0 ] && [ "${#demo_args[@]}" -gt 0 ]; then die "--no-demo takes no scenario options (got: ${demo_args[*]})"; fi

bash scripts/stack.sh start

echo
echo "  API                  $API_URL   (OpenAPI $API_URL/v1/openapi.json)"
echo "  Admin API key        in $ADMIN_KEY_FILE (or \$ADMIN_API_KEY)"
echo "  Temporal Web UI      $TEMPORAL_UI_URL"
bash scripts/ui-links.sh
echo "  Operator CLI         npm run ops -- --help"
echo "  Temporal gRPC        $TEMPORAL_ADDRESS (namespace $TEMPORAL_NAMESPACE)"
echo "  Gateway simulator    $GATEWAY_URL"
echo "  Postgres             $DATABASE_URL (the processes; migrations: $MIGRATION_DATABASE_URL)"
echo "  Logs                 $LOG_DIR/{postgres,temporal,gateway,worker,dispatcher,api}.log"
echo "  Stop everything      npm stop"
echo
if [ "$demo" = 1 ]; then
  node_modules/.bin/ts-node --transpile-only demo/main.ts "${demo_args[@]}"
fi
