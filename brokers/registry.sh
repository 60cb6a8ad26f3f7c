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
RDIR="$STATE/registry"
DIST="$RDIR/apicurio-registry-$VERSION"
PIDFILE="$RDIR/registry.pid"
LOGFILE="$LOGS/registry.log"
PORT="${REGISTRY_PORT:-8081}"
# Quarkus' management interface (health, metrics) defaults to 9000; moved off
# it so it cannot collide with anything else on a developer's machine.
MGMT_PORT="${REGISTRY_MGMT_PORT:-8091}"
URL="http://127.0.0.1:$PORT/apis/ccompat/v7"
REGISTRY_HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx384m}"

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
  curl -fsS --max-time 3 "$URL/subjects" 2>/dev/null | grep -q '^\['
}

wait_ready() { await_ready "Apicurio Registry" "$BROKER_TIMEOUT" "$LOGFILE"; }

start() {
  if running; then
    wait_ready
    log "Apicurio Registry running (pid $(pid)) on $URL"
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
  local java
  java="$(find_java 21 "Apicurio Registry")"
  log "starting Apicurio Registry with $java (log: $LOGFILE)"
  echo "===== $(date -Is) registry start =====" >>"$LOGFILE"
  cd "$DIST"
  # In-memory storage is the distribution's default; the ccompat API is on by default.
  # shellcheck disable=SC2086  # heap opts must split
  start_detached "$PIDFILE" "$LOGFILE" \
    "$java" $REGISTRY_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -XX:ErrorFile="$LOGS/hs_err_pid%p.log" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MGMT_PORT" \
    -jar quarkus-run.jar
  wait_ready
  log "Apicurio Registry ready (pid $(pid)) on $URL"
}

stop() {
  if ! running; then
    rm -f "$PIDFILE"
    log "Apicurio Registry not running"
    return 0
  fi
  local p
  p="$(pid)"
  log "stopping Apicurio Registry (pid $p)"
  stop_process "Apicurio Registry" "$p" 30
  rm -f "$PIDFILE"
}

status() {
  if running && ready; then
    echo "registry: running (pid $(pid)), answering on $URL"
  elif running; then
    echo "registry: running (pid $(pid)) but not answering"
    return 1
  else
    echo "registry: stopped"
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
