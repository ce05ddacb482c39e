#!/usr/bin/env bash
# The local stack: start | stop | status [component...]
# Components, in start order: postgres, temporal, gateway, worker, dispatcher, api.
# Each runs as a background process with a pid file in .data/run and a log in .data/logs.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mkdir -p "$LOG_DIR" "$RUN_DIR"

ALL_COMPONENTS=(postgres temporal gateway worker dispatcher api)

pid_alive() { [ -f "$1" ] && kill -0 "$(head -1 "$1")" 2>/dev/null; }

wait_until() { # wait_until SECONDS DESCRIPTION CMD...
  local limit=$1 what=$2; shift 2
  for ((i = 0; i < limit * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not become ready within ${limit}s (see $LOG_DIR)"
}

# ---------- postgres ----------
postgres_status() {
  if as_pg_user "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA_DIR" status >/dev/null 2>&1; then
    echo "postgres  running   $DATABASE_URL (migrations: $MIGRATION_DATABASE_URL)"; return 0
  fi
  echo "postgres  stopped"; return 1
}

postgres_start() {
  if postgres_status >/dev/null; then say "postgres already running on port $PG_PORT"; return; fi
  port_busy "$PG_HOST" "$PG_PORT" && die "port $PG_PORT is taken by another process: stop it or set PG_PORT"
  if [ ! -s "$PG_DATA_DIR/PG_VERSION" ]; then
    say "initialising a Postgres cluster in $PG_DATA_DIR"
    mkdir -p "$PG_DATA_DIR"
    chmod 700 "$PG_DATA_DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$PG_DATA_DIR" "$LOG_DIR"
    as_pg_user test -w "$PG_DATA_DIR" || die "the postgres user cannot write $PG_DATA_DIR: set PG_DATA_DIR to a directory it can reach"
    # Local development cluster: trust on loopback only. Production uses DATABASE_URL and MIGRATION_DATABASE_URL.
    as_pg_user "$PG_BIN_DIR/initdb" -D "$PG_DATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 \
      || die "initdb failed: see $LOG_DIR/initdb.log"
  fi
  [ "$(id -u)" = 0 ] && chown postgres: "$LOG_DIR"
  say "starting postgres on $PG_HOST:$PG_PORT"
  as_pg_user "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA_DIR" -l "$LOG_DIR/postgres.log" -w -t 60 start \
    -o "-p $PG_PORT -c listen_addresses=$PG_HOST -c unix_socket_directories='' -c max_connections=300 -c shared_buffers=512MB -c max_wal_size=4GB -c jit=off" >/dev/null \
    || die "postgres failed to start: see $LOG_DIR/postgres.log"
  if ! "$PG_BIN_DIR/psql" -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$PG_DATABASE'" | grep -q 1; then
    "$PG_BIN_DIR/createdb" -h "$PG_HOST" -p "$PG_PORT" -U postgres "$PG_DATABASE"
    say "created database $PG_DATABASE"
  fi
  allow_app_login
}

# The processes log in as the application role itself (DATABASE_URL): on this development cluster
# it may log in without a password (trust on loopback). Roles are cluster-wide; created here if no
# migration has run yet (0015 then finds it). The same as db/app-role.ts allowAppRoleLogin.
allow_app_login() {
  local sql="DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_APP_ROLE') THEN
    CREATE ROLE $PG_APP_ROLE LOGIN;
  ELSIF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = '$PG_APP_ROLE') THEN
    ALTER ROLE $PG_APP_ROLE LOGIN;
  END IF;
END \$\$"
  "$PG_BIN_DIR/psql" -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA -c "$sql" >/dev/null \
    || die "could not let $PG_APP_ROLE log in on $PG_HOST:$PG_PORT"
}

postgres_stop() {
  if postgres_status >/dev/null; then
    as_pg_user "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA_DIR" -m fast -w stop >/dev/null
    say "postgres stopped"
  fi
}

# ---------- background processes (pid file + log file each) ----------
bg_start() { # bg_start NAME CMD...: start CMD detached (setsid), remember its pid
  local name=$1; shift
  setsid "$@" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

bg_running() { pid_alive "$RUN_DIR/$1.pid"; }

bg_stop() { # bg_stop NAME: SIGTERM the process group, SIGKILL after 10 s
  local name=$1 pidfile="$RUN_DIR/$1.pid"
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    say "$name stopped"
  fi
  rm -f "$pidfile"
}

# ---------- temporal dev server ----------
temporal_status() {
  if bg_running temporal; then echo "temporal  running   $TEMPORAL_ADDRESS (Web UI $TEMPORAL_UI_URL)"; return 0; fi
  echo "temporal  stopped"; return 1
}

temporal_start() {
  if temporal_status >/dev/null; then say "temporal already running on $TEMPORAL_ADDRESS"; return; fi
  [ -x "$TEMPORAL_BIN" ] || die "Temporal CLI missing at $TEMPORAL_BIN: run 'npm run setup' first"
  port_busy "$TEMPORAL_HOST" "$TEMPORAL_PORT" && die "port $TEMPORAL_PORT is taken by another process: stop it or set TEMPORAL_PORT"
  port_busy "$TEMPORAL_HOST" "$TEMPORAL_UI_PORT" && die "port $TEMPORAL_UI_PORT is taken by another process: stop it or set TEMPORAL_UI_PORT"
  mkdir -p "$(dirname "$TEMPORAL_DB_FILE")"
  local attrs=()
  for a in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do attrs+=(--search-attribute "$a"); done
  say "starting temporal dev server on $TEMPORAL_ADDRESS (db $TEMPORAL_DB_FILE)"
  bg_start temporal "$TEMPORAL_BIN" server start-dev \
    --ip "$TEMPORAL_HOST" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$TEMPORAL_DB_FILE" \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --namespace "$TEMPORAL_NAMESPACE" "${attrs[@]}" \
    --log-level warn
  wait_until 60 "temporal" "$TEMPORAL_BIN" operator cluster health --address "$TEMPORAL_ADDRESS"
  wait_until 30 "temporal web ui" port_busy "$TEMPORAL_HOST" "$TEMPORAL_UI_PORT"
}

temporal_stop() { bg_stop temporal; }

# ---------- gateway simulator ----------
gateway_health() { curl -fsS --max-time 2 "$GATEWAY_URL/_sim/health" >/dev/null; }

gateway_status() {
  if bg_running gateway; then echo "gateway   running   $GATEWAY_URL (truth $GATEWAY_DATA_DIR/truth.jsonl)"; return 0; fi
  echo "gateway   stopped"; return 1
}

gateway_start() {
  if gateway_status >/dev/null; then say "gateway simulator already running on $GATEWAY_URL"; return; fi
  [ -d node_modules ] || die "node_modules missing: run 'npm run setup' first"
  port_busy "$GATEWAY_HOST" "$GATEWAY_PORT" && die "port $GATEWAY_PORT is taken by another process: stop it or set GATEWAY_PORT"
  mkdir -p "$GATEWAY_DATA_DIR"
  say "starting gateway simulator on $GATEWAY_URL (data $GATEWAY_DATA_DIR)"
  # Flags not given here come from GATEWAY_* variables (see --help).
  bg_start gateway node_modules/.bin/ts-node --transpile-only gateway/simulator-main.ts \
    --host "$GATEWAY_HOST" --port "$GATEWAY_PORT" --data-dir "$GATEWAY_DATA_DIR" \
    --notify-url "$API_URL/v1/gateway/notifications"
  wait_until 30 "gateway simulator" gateway_health
}

gateway_stop() { bg_stop gateway; }

# ---------- worker ----------
worker_status() {
  if bg_running worker; then echo "worker    running   task queue lending-core (log $LOG_DIR/worker.log)"; return 0; fi
  echo "worker    stopped"; return 1
}

worker_start() {
  if worker_status >/dev/null; then say "worker already running"; return; fi
  [ -d node_modules ] || die "node_modules missing: run 'npm run setup' first"
  migrate
  say "starting worker (log $LOG_DIR/worker.log)"
  bg_start worker node_modules/.bin/ts-node --transpile-only worker/main.ts
  wait_until 60 "worker" grep -q "polling task queue" "$LOG_DIR/worker.log"
}

worker_stop() { bg_stop worker; }

# ---------- api and outbox dispatcher ----------
ensure_admin_key() {
  # The dev stack's admin key: made once, kept in a file only this user can read.
  if [ -z "${ADMIN_API_KEY:-}" ]; then
    if [ ! -s "$ADMIN_KEY_FILE" ]; then
      mkdir -p "$(dirname "$ADMIN_KEY_FILE")"
      (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$ADMIN_KEY_FILE")
    fi
    ADMIN_API_KEY=$(cat "$ADMIN_KEY_FILE")
    export ADMIN_API_KEY
  fi
}

migrate() {
  # The project's own cluster only: elsewhere the login is a DBA's to create, with a password.
  [ "$MIGRATION_DATABASE_URL" = "postgres://postgres@$PG_HOST:$PG_PORT/$PG_DATABASE" ] && allow_app_login
  say "migrating $MIGRATION_DATABASE_URL (as the owner; the processes log in as $PG_APP_ROLE)"
  node_modules/.bin/ts-node --transpile-only db/migrate-cli.ts || die "migrations failed"
}

api_status() {
  if bg_running api; then echo "api       running   $API_URL (OpenAPI $API_URL/v1/openapi.json)"; return 0; fi
  echo "api       stopped"; return 1
}

api_start() {
  if api_status >/dev/null; then say "api already running on $API_URL"; return; fi
  port_busy "$API_HOST" "$API_PORT" && die "port $API_PORT is taken by another process: stop it or set API_PORT"
  ensure_admin_key
  migrate
  say "starting api on $API_URL (log $LOG_DIR/api.log)"
  bg_start api node_modules/.bin/ts-node --transpile-only api/server.ts
  wait_until 60 "api" curl -fsS "$API_URL/healthz"
}

api_stop() { bg_stop api; }

dispatcher_status() {
  if bg_running dispatcher; then echo "dispatcher running  outbox -> $TEMPORAL_ADDRESS (log $LOG_DIR/dispatcher.log)"; return 0; fi
  echo "dispatcher stopped"; return 1
}

dispatcher_start() {
  if dispatcher_status >/dev/null; then say "dispatcher already running"; return; fi
  migrate
  say "starting outbox dispatcher (log $LOG_DIR/dispatcher.log)"
  bg_start dispatcher node_modules/.bin/ts-node --transpile-only worker/dispatcher-main.ts
  wait_until 60 "dispatcher" grep -q "draining the outbox" "$LOG_DIR/dispatcher.log"
}

dispatcher_stop() { bg_stop dispatcher; }

# ---------- dispatch ----------
cmd="${1:-status}"; shift || true
components=("$@"); [ ${#components[@]} -gt 0 ] || components=("${ALL_COMPONENTS[@]}")
for c in "${components[@]}"; do
  case " ${ALL_COMPONENTS[*]} " in *" $c "*) ;; *) die "unknown component '$c' (known: ${ALL_COMPONENTS[*]})" ;; esac
done

case "$cmd" in
  start) for c in "${components[@]}"; do "${c}_start"; done ;;
  stop) # stop in reverse order of start
    for ((k = ${#components[@]} - 1; k >= 0; k--)); do "${components[k]}_stop"; done ;;
  status) rc=0; for c in "${components[@]}"; do "${c}_status" || rc=1; done; exit $rc ;;
  *) die "usage: stack.sh start|stop|status [${ALL_COMPONENTS[*]}]" ;;
esac
