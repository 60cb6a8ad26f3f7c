#!/usr/bin/env bash
# Local Keycloak (OIDC identity provider, dev mode) for mqcli's OAuth tests:
# realm `mqcli` imported from brokers/keycloak/mqcli-realm.json, on loopback.
#   brokers/keycloak.sh start    install the distribution if needed, start, wait until ready
#   brokers/keycloak.sh stop     stop the Keycloak we started
#   brokers/keycloak.sh status   exit 0 when running and serving the realm's OIDC discovery document
#   brokers/keycloak.sh install  only fetch and unpack the distribution
#   brokers/keycloak.sh url      print the realm's base URL (issuer)
#   brokers/keycloak.sh sync     apply the realm file to the running Keycloak (admin REST API, no restart)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION=26.7.3
KCDIR="$STATE/keycloak"
DIST="$KCDIR/keycloak-$VERSION"
PIDFILE="$KCDIR/keycloak.pid"
LOGFILE="$LOGS/keycloak.log"
REALM_FILE="$BROKERS_DIR/keycloak/mqcli-realm.json"
PORT="${KEYCLOAK_PORT:-8180}"
# Keycloak's management interface (health, metrics) defaults to 9000; moved
# next to the HTTP port so it cannot collide with anything else.
MGMT_PORT="${KEYCLOAK_MGMT_PORT:-8190}"
REALM_URL="http://127.0.0.1:$PORT/realms/mqcli"
# Keycloak's first start builds (augments) the server, ~35 s of the ~50 s it
# takes alone, much more while Kafka and RabbitMQ start beside it on 2 cores:
# it gets at least 240 s, whatever BROKER_TIMEOUT says.
KEYCLOAK_TIMEOUT="${KEYCLOAK_TIMEOUT:-$((BROKER_TIMEOUT > 240 ? BROKER_TIMEOUT : 240))}"
# The master realm's administrator (dev only, loopback): keycloak_sync.py signs in
# with it to apply the realm file to a running Keycloak.
export KEYCLOAK_ADMIN_USER="${KEYCLOAK_ADMIN_USER:-admin}"
export KEYCLOAK_ADMIN_PASSWORD="${KEYCLOAK_ADMIN_PASSWORD:-mqcli-admin-secret}"
# kc.sh's default heap is a percentage of the machine's memory (GBs here).
KEYCLOAK_HEAP_OPTS="${KEYCLOAK_HEAP_OPTS:--Xms64m -Xmx512m}"

# The distribution is a tar.gz on Maven Central; it runs as unpacked.
install() {
  install_maven_dist "Keycloak $VERSION" "org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz" \
    "keycloak-quarkus-dist-$VERSION.tar.gz" "$DIST" bin/kc.sh
}

pid() { pid_in "$PIDFILE"; }

# kc.sh stays the parent of the JVM (it forwards SIGTERM); both name the dist directory.
running() { pid_alive "$(pid)" 'keycloak-'; }

# Ready = the realm's OIDC discovery document names its token endpoint.
ready() {
  curl -fsS --max-time 3 "$REALM_URL/.well-known/openid-configuration" 2>/dev/null | grep -q '"token_endpoint"'
}

wait_ready() { await_ready Keycloak "$KEYCLOAK_TIMEOUT" "$LOGFILE"; }

# --import-realm skips a realm that exists already, so a changed realm file
# would never apply: the dev database is dropped when the file changes.
import_realm() {
  local sum
  sum="$(sha256sum "$REALM_FILE" | cut -d' ' -f1)"
  if [[ "$(cat "$KCDIR/.realm.sha256" 2>/dev/null)" != "$sum" ]]; then
    rm -rf "$DIST/data/h2"
    echo "$sum" >"$KCDIR/.realm.sha256"
  fi
  mkdir -p "$DIST/data/import"
  cp "$REALM_FILE" "$DIST/data/import/mqcli-realm.json"
}

# --import-realm applies the realm file only to a new database, and other tests use
# the running Keycloak (no restart): the file's clients, roles and users are applied
# to it through the admin REST API instead, idempotently.
sync() {
  python3 "$BROKERS_DIR/keycloak_sync.py" "$REALM_FILE" "http://127.0.0.1:$PORT"
}

start() {
  if running; then
    wait_ready
    # Not fatal here (kafka.sh starts Keycloak first); registry-auth.sh, which needs it, fails on it.
    sync || log "warning: could not apply $REALM_FILE to the running Keycloak"
    log "Keycloak running (pid $(pid)) on $REALM_URL"
    return 0
  fi
  rm -f "$PIDFILE"
  local p
  for p in "$PORT" "$MGMT_PORT"; do
    if port_open "$p"; then
      log "port $p is already taken by a process we did not start; stop it first"
      exit 1
    fi
  done
  install
  import_realm
  local java
  java="$(find_java 21 Keycloak)"
  log "starting Keycloak with $java (log: $LOGFILE)"
  echo "===== $(date -Is) keycloak start =====" >>"$LOGFILE"
  cd "$KCDIR"
  # kc.sh runs the JVM as its child (and forwards SIGTERM to it), so the pid
  # file holds kc.sh's pid. Dev mode: HTTP, an H2 database under data/.
  start_detached "$PIDFILE" "$LOGFILE" \
    env JAVA_HOME="$(dirname "$(dirname "$java")")" JAVA_OPTS_KC_HEAP="$KEYCLOAK_HEAP_OPTS" \
    KC_BOOTSTRAP_ADMIN_USERNAME="$KEYCLOAK_ADMIN_USER" KC_BOOTSTRAP_ADMIN_PASSWORD="$KEYCLOAK_ADMIN_PASSWORD" \
    "$DIST/bin/kc.sh" start-dev --http-host=127.0.0.1 --http-port="$PORT" \
    --http-management-port="$MGMT_PORT" --import-realm
  wait_ready
  log "Keycloak ready (pid $(pid)) on $REALM_URL"
}

stop() {
  if ! running; then
    rm -f "$PIDFILE"
    log "Keycloak not running"
    return 0
  fi
  local p
  p="$(pid)"
  log "stopping Keycloak (pid $p)"
  stop_process Keycloak "$p" 30
  rm -f "$PIDFILE"
}

status() {
  if running && ready; then
    echo "keycloak: running (pid $(pid)), realm mqcli at $REALM_URL"
  elif running; then
    echo "keycloak: running (pid $(pid)) but not serving the realm"
    return 1
  else
    echo "keycloak: stopped"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  install) install ;;
  url) echo "$REALM_URL" ;;
  sync) sync ;;
  *) echo "usage: $0 start|stop|restart|status|install|url|sync" >&2; exit 2 ;;
esac
