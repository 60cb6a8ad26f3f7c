#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) for mqcli tests.
#   brokers/kafka.sh start    install jars if needed, format once, start, wait until ready
#   brokers/kafka.sh stop     stop the broker we started (data is kept)
#   brokers/kafka.sh status   exit 0 when running and accepting clients
#   brokers/kafka.sh install  only fetch the jars into .brokers/kafka/lib
#   brokers/kafka.sh tool CLASS [ARGS...]   run a Kafka CLI class, e.g.
#       brokers/kafka.sh tool org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KDIR="$STATE/kafka"
LIB="$KDIR/lib"
DATA="$KDIR/data"
PROPS="$KDIR/server.properties"
PIDFILE="$KDIR/kafka.pid"
LOGFILE="$LOGS/kafka.log"
POM="$BROKERS_DIR/kafka/pom.xml"
# Listener ports (server.properties.in): 9092 plain, 9093 SASL, 9094 TLS,
# 9095 controller, 9096 OAUTHBEARER, 9097 OAUTHBEARER over TLS. KAFKA_PORT_OFFSET shifts them all, for a
# private broker beside the shared one (state elsewhere via BROKERS_STATE).
PORT_OFFSET="${KAFKA_PORT_OFFSET:-0}"
PORTS=()
for p in 9092 9093 9094 9095 9096 9097; do PORTS+=($((p + PORT_OFFSET))); done
BOOTSTRAP="127.0.0.1:${PORTS[0]}"
# The realm whose tokens the OAUTHBEARER listener accepts (brokers/keycloak.sh).
KEYCLOAK_REALM="$("$BROKERS_DIR/keycloak.sh" url)"
JAVA="${JAVA:-java}"
# Modest heap: this is a test broker on a 2-core machine shared with tests.
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
SCRAM_USER=mqcli
SCRAM_PASSWORD=mqcli-secret

# Fetch Kafka + tools + logging jars from Maven Central. Keyed on the pom's
# checksum so the (slow) mvn run happens once per pom change, not per start.
install() {
  local sum
  sum="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$LIB/.pom.sha256" && "$(cat "$LIB/.pom.sha256")" == "$sum" ]]; then
    return 0
  fi
  log "fetching Kafka jars with mvn (pom changed or first run)"
  rm -rf "$LIB.tmp"
  # Output goes to a log (Debian's mvn 3.8.7 litters stdout with ANSI codes
  # even in batch mode); shown only if it fails.
  mvn -B -ntp -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$LIB.tmp" </dev/null >"$LOGS/kafka-mvn.log" 2>&1 ||
    { log "mvn failed"; show_tail "$LOGS/kafka-mvn.log"; exit 1; }
  # Swap in atomically so an interrupted download never looks complete.
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  echo "$sum" >"$LIB/.pom.sha256"
}

# Run a Kafka class on our classpath with quiet tool logging.
kjava() {
  "$JAVA" -Dlog4j2.configurationFile="$BROKERS_DIR/kafka/tools-log4j2.xml" \
    -cp "$LIB/*" "$@"
}

pid() { pid_in "$PIDFILE"; }

# Our broker is running if the pid file names a live kafka.Kafka process.
running() { pid_alive "$(pid)" 'kafka\.Kafka'; }

# "Accepting clients" = a metadata request on 9092 answers and lists broker 1
# (which KRaft only does once the broker is registered and unfenced), and the
# SASL/TLS listeners accept connections. kcat answers in milliseconds; the JVM
# fallback takes a few seconds and is only used if kcat is not installed.
ready() {
  if command -v kcat >/dev/null; then
    timeout 10 kcat -b "$BOOTSTRAP" -L -m 3 2>/dev/null | grep -q "broker 1 at $BOOTSTRAP" || return 1
  else
    timeout 30 kjava org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "$BOOTSTRAP" 2>/dev/null | grep -q '(id: 1 ' || return 1
  fi
  port_open "${PORTS[1]}" && port_open "${PORTS[2]}" && { ! has_listener OAUTH || port_open "${PORTS[4]}"; } &&
    { ! has_listener OAUTHS || port_open "${PORTS[5]}"; }
}

# Whether the running broker's configuration has listener $1 (OAUTH, OAUTHS: a
# broker started before they were added has not, and is ready without them).
has_listener() { grep -q "^listeners=.*$1://" "$PROPS" 2>/dev/null; }

wait_ready() { await_ready Kafka "$BROKER_TIMEOUT" "$LOGFILE"; }

# Format the storage once. SCRAM users are written into the initial cluster
# metadata here (KRaft has no ZooKeeper to hold them before the first start).
format() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$(kjava kafka.tools.StorageTool random-uuid)"
  log "formatting Kafka storage (cluster id $cluster_id)"
  kjava kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" \
    --add-scram "SCRAM-SHA-256=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
    >>"$LOGFILE" 2>&1 || { show_tail "$LOGFILE"; exit 1; }
}

start() {
  if running; then
    # Already ours: maybe still booting from another call, so just wait.
    wait_ready
    log "Kafka running (pid $(pid)) on $BOOTSTRAP"
    has_listener OAUTHS || log "Kafka was started before its OAUTHBEARER listener was configured: restart it for ports ${PORTS[4]} and ${PORTS[5]} (make brokers-stop brokers)"
    return 0
  fi
  rm -f "$PIDFILE"
  local p
  for p in "${PORTS[@]}"; do
    if port_open "$p"; then
      log "port $p is already taken by a process we did not start; stop it first"
      exit 1
    fi
  done

  install
  "$BROKERS_DIR/tls.sh"
  # The OAUTHBEARER listener fetches Keycloak's JWKS while the broker starts,
  # and the broker exits when it cannot (ConnectException): Keycloak first
  # (a no-op when it is running already).
  "$BROKERS_DIR/keycloak.sh" start
  mkdir -p "$KDIR" "$DATA"
  # Rendered on every start so edits to the template apply on restart.
  sed -e "s#@STATE@#$STATE#g" -e "s#@KEYCLOAK_REALM@#$KEYCLOAK_REALM#g" \
    -e "s#127.0.0.1:9092#$BOOTSTRAP#g" -e "s#127.0.0.1:9093#127.0.0.1:${PORTS[1]}#g" \
    -e "s#127.0.0.1:9094#127.0.0.1:${PORTS[2]}#g" -e "s#127.0.0.1:9095#127.0.0.1:${PORTS[3]}#g" \
    -e "s#127.0.0.1:9096#127.0.0.1:${PORTS[4]}#g" -e "s#127.0.0.1:9097#127.0.0.1:${PORTS[5]}#g" \
    "$BROKERS_DIR/kafka/server.properties.in" >"$PROPS"
  format

  log "starting Kafka (log: $LOGFILE)"
  echo "===== $(date -Is) kafka start =====" >>"$LOGFILE"
  cd "$KDIR"
  # shellcheck disable=SC2086  # heap opts must split
  start_detached "$PIDFILE" "$LOGFILE" \
    "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -XX:ErrorFile="$LOGS/hs_err_pid%p.log" \
    -Dlog4j2.configurationFile="$BROKERS_DIR/kafka/log4j2.xml" \
    -Dkafka.logs.dir="$LOGS" \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="$KEYCLOAK_REALM/protocol/openid-connect/certs" \
    -cp "$LIB/*" kafka.Kafka "$PROPS"
  wait_ready
  log "Kafka ready (pid $(pid)) on $BOOTSTRAP"
}

stop() {
  if ! running; then
    rm -f "$PIDFILE"
    log "Kafka not running"
    return 0
  fi
  local p
  p="$(pid)"
  log "stopping Kafka (pid $p)"
  # A clean shutdown flushes logs and closes the metadata log; a single node
  # does that in a few seconds.
  stop_process Kafka "$p" 60
  rm -f "$PIDFILE"
}

status() {
  if running && ready; then
    echo "kafka: running (pid $(pid)), accepting clients on $BOOTSTRAP"
  elif running; then
    echo "kafka: running (pid $(pid)) but not accepting clients"
    return 1
  else
    echo "kafka: stopped"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  install) install ;;
  tool) shift; install; kjava "$@" ;;
  *) echo "usage: $0 start|stop|restart|status|install|tool CLASS [ARGS...]" >&2; exit 2 ;;
esac
