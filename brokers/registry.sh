#!/usr/bin/env bash
# Local Apicurio Registry (in-memory storage) serving the Confluent-compatible
# Schema Registry API at http://127.0.0.1:8081/apis/ccompat/v7 for mqcli tests.
#   brokers/registry.sh start    install the distribution if needed, start, wait until ready
#   brokers/registry.sh stop     stop the registry we started (in-memory: schemas are lost)
#   brokers/registry.sh status   exit 0 when running and answering the ccompat API
#   brokers/registry.sh install  only fetch and unpack the distribution
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION=3.3.3
# brokers/registry-auth.sh runs this script as a second instance (REGISTRY_NAME=registry-auth,
# its own ports, REGISTRY_OIDC=1); both run the one distribution under $STATE/registry.
NAME="${REGISTRY_NAME:-registry}"
DIST="$STATE/registry/apicurio-registry-$VERSION"
RDIR="$STATE/$NAME"
PIDFILE="$RDIR/$NAME.pid"
LOGFILE="$LOGS/$NAME.log"
PORT="${REGISTRY_PORT:-8081}"
# Quarkus' management interface (health, metrics) defaults to 9000; moved off
# it so it cannot collide with anything else on a developer's machine.
MGMT_PORT="${REGISTRY_MGMT_PORT:-8091}"
URL="http://127.0.0.1:$PORT/apis/ccompat/v7"
REGISTRY_HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx384m}"
TITLE="Apicurio Registry"
AUTH_OPTS=()
READY_CURL=()
if [[ "${REGISTRY_OIDC:-0}" == 1 ]]; then
  # Authentication by Keycloak's realm mqcli (brokers/keycloak.sh): a bearer token of
  # the realm, or HTTP basic with a client's id and secret, which the registry trades
  # for a token (client-credentials grant, cached until it expires). Authorization by
  # the token's realm roles sr-admin / sr-developer / sr-readonly (realm_access.roles).
  # The clients and roles are declared in brokers/keycloak/mqcli-realm.json.
  TITLE="Apicurio Registry (auth)"
  REALM_URL="$("$BROKERS_DIR/keycloak.sh" url)"
  AUTH_OPTS=(
    -Dquarkus.oidc.tenant-enabled=true
    -Dquarkus.oidc.auth-server-url="$REALM_URL"
    -Dapicurio.authn.basic-client-credentials.enabled=true
    -Dapicurio.auth.role-based-authorization=true
    -Dapicurio.auth.role-source=token
  )
  # Ready = the read-only client's credentials list the subjects: Keycloak and the
  # registry's use of it work end to end. Its secret is read from the realm file.
  READY_USER=mqcli-registry-readonly
  READY_SECRET="$(python3 -c 'import json, sys; print(next(c["secret"] for c in json.load(open(sys.argv[1]))["clients"] if c["clientId"] == sys.argv[2]))' \
    "$BROKERS_DIR/keycloak/mqcli-realm.json" "$READY_USER")"
  READY_CURL=(-u "$READY_USER:$READY_SECRET")
fi

# The distribution is a tar.gz on Maven Central (classifier "all"): a Quarkus
# fast-jar, run with `java -jar quarkus-run.jar`, no build.
install() {
  install_maven_dist "Apicurio Registry $VERSION" "io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all" \
    "apicurio-registry-app-$VERSION-all.tar.gz" "$DIST" quarkus-run.jar
}

pid() { pid_in "$PIDFILE"; }

running() { pid_alive "$(pid)" 'quarkus-run\.jar'; }

# Ready = the ccompat API answers a subject listing with a JSON array.
ready() {
  curl -fsS --max-time 3 "${READY_CURL[@]}" "$URL/subjects" 2>/dev/null | grep -q '^\['
}

wait_ready() { await_ready "$TITLE" "$BROKER_TIMEOUT" "$LOGFILE"; }

start() {
  if [[ ${#AUTH_OPTS[@]} -gt 0 ]]; then
    # Its identity provider must be up (never started from here: `make brokers` starts
    # Keycloak first), with the realm file's clients and roles applied to it.
    if ! "$BROKERS_DIR/keycloak.sh" status >/dev/null; then
      log "$TITLE needs Keycloak on $REALM_URL: start it first (make keycloak-start)"
      exit 1
    fi
    "$BROKERS_DIR/keycloak.sh" sync
  fi
  if running; then
    wait_ready
    log "$TITLE running (pid $(pid)) on $URL"
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
  mkdir -p "$RDIR"
  local java
  java="$(find_java 21 "Apicurio Registry")"
  log "starting $TITLE with $java (log: $LOGFILE)"
  echo "===== $(date -Is) $NAME start =====" >>"$LOGFILE"
  cd "$DIST"
  # In-memory storage is the distribution's default; the ccompat API is on by default.
  # shellcheck disable=SC2086  # heap opts must split
  start_detached "$PIDFILE" "$LOGFILE" \
    "$java" $REGISTRY_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -XX:ErrorFile="$LOGS/hs_err_pid%p.log" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MGMT_PORT" \
    "${AUTH_OPTS[@]}" \
    -jar quarkus-run.jar
  wait_ready
  log "$TITLE ready (pid $(pid)) on $URL"
}

stop() {
  if ! running; then
    rm -f "$PIDFILE"
    log "$TITLE not running"
    return 0
  fi
  local p
  p="$(pid)"
  log "stopping $TITLE (pid $p)"
  stop_process "$TITLE" "$p" 30
  rm -f "$PIDFILE"
}

status() {
  if running && ready; then
    echo "$NAME: running (pid $(pid)), answering on $URL"
  elif running; then
    echo "$NAME: running (pid $(pid)) but not answering"
    return 1
  else
    echo "$NAME: stopped"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  install) install ;;
  *) echo "usage: $0 start|stop|restart|status|install" >&2; exit 2 ;;
esac
