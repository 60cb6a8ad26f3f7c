#!/usr/bin/env bash
# Local three-node RabbitMQ cluster (Debian's rabbitmq-server) for mqcli's
# cluster fault tests. Separate from the shared node (5672) and the
# independent second node (5682): its own node names, ports and state.
# Each node is brokers/rabbitmq.sh with other settings; this script only
# chooses them, joins the nodes and runs commands on all of them.
#
#   brokers/rabbitmq-cluster.sh start [NODE]   start every node (or NODE), join them, wait until all are clustered
#   brokers/rabbitmq-cluster.sh stop [NODE]    stop every node (or NODE) cleanly; data is kept
#   brokers/rabbitmq-cluster.sh kill NODE      SIGKILL node NODE (1-3), as a crash would
#   brokers/rabbitmq-cluster.sh status         one line per node; exit 0 only when all 3 run, clustered
#   brokers/rabbitmq-cluster.sh ctl NODE ARGS  rabbitmqctl against node NODE, e.g. `ctl 1 cluster_status`
#   brokers/rabbitmq-cluster.sh queues NODE ARGS  rabbitmq-queues against node NODE, e.g. `queues 1 quorum_status Q`
#   brokers/rabbitmq-cluster.sh clean          stop and delete the cluster's state
#
# Node N (1-3): clusterN@localhost, AMQP 127.0.0.1:579N (guest/guest, vhost /,
# no TLS), Erlang distribution 127.0.0.1:2579N (epmd is shared with the other
# nodes on 4369), rabbitmqctl's distribution ports 358N0-358N9.
# No management plugin unless RABBIT_CLUSTER_MANAGEMENT=1 (HTTP 1579N).
# State: .brokers/rabbitmq-cluster-nodeN/, logs .brokers/logs/rabbitmq-cluster-nodeN*.log;
# the cluster's Erlang cookie: .brokers/rabbitmq-cluster.cookie.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NODES=(1 2 3)
COOKIE="$STATE/rabbitmq-cluster.cookie"
RBIN=/usr/lib/rabbitmq/bin

amqp_port() { echo $((5790 + $1)); }
nodename() { echo "cluster$1@localhost"; }
statedir() { echo "$STATE/rabbitmq-cluster-node$1"; }
startup_log() { echo "$LOGS/rabbitmq-cluster-node$1-startup.log"; }

check_node() {
  [[ "${1:-}" =~ ^[123]$ ]] || { echo "NODE must be 1, 2 or 3 (got '${1:-}')" >&2; exit 2; }
}

# node N CMD...: run CMD (brokers/rabbitmq.sh or a function using its
# variables) with node N's settings in the environment.
node() {
  local n="$1"
  shift
  (
    export RABBIT_INSTANCE="rabbitmq-cluster-node$n"
    export RABBIT_AMQP_PORT="$(amqp_port "$n")"
    export RABBIT_AMQPS_PORT=
    if [[ "${RABBIT_CLUSTER_MANAGEMENT:-0}" == 1 ]]; then
      export RABBIT_HTTP_PORT=$((15790 + n))
    else
      export RABBIT_HTTP_PORT=
    fi
    export RABBITMQ_NODENAME="$(nodename "$n")"
    export RABBITMQ_DIST_PORT=$((25790 + n))
    export RABBITMQ_CTL_DIST_PORT_MIN=$((35800 + 10 * n))
    export RABBITMQ_CTL_DIST_PORT_MAX=$((35809 + 10 * n))
    export RABBIT_COOKIE_FILE="$COOKIE"
    # Three VMs on a small shared machine: schedulers sleep instead of
    # busy-waiting for work (the default spins, costing CPU for nothing).
    export RABBIT_EXTRA_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none"
    "$@"
  )
}

rabbitmq() { node "$1" "$BROKERS_DIR/rabbitmq.sh" "${@:2}"; }

# The environment rabbitmq.sh gives rabbitmqctl (HOME with the cookie, ports).
ctl() { rabbitmq "$1" ctl "${@:2}"; }

# rabbitmq-queues with node N's environment (HOME holds the cookie).
queues() {
  local n="$1"
  shift
  RABBITMQ_CTL_DIST_PORT_MIN=$((35800 + 10 * n)) RABBITMQ_CTL_DIST_PORT_MAX=$((35809 + 10 * n)) \
    HOME="$(statedir "$n")/home" ERL_EPMD_ADDRESS=127.0.0.1 \
    "$RBIN/rabbitmq-queues" -n "$(nodename "$n")" "$@"
}

running() { pid_alive "$(pid_in "$(statedir "$1")/rabbit.pid")" beam; }

# One cookie for the three nodes (distribution refuses a peer with another
# one): the shared node's when there is one, so one rabbitmqctl setup manages
# all, else a new random one.
ensure_cookie() {
  [[ -s "$COOKIE" ]] && return 0
  if [[ -r /var/lib/rabbitmq/.erlang.cookie ]]; then
    cat /var/lib/rabbitmq/.erlang.cookie >"$COOKIE"
  elif [[ -s "$STATE/rabbitmq/home/.erlang.cookie" ]]; then
    cat "$STATE/rabbitmq/home/.erlang.cookie" >"$COOKIE"
  else
    head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 >"$COOKIE"
  fi
  chmod 400 "$COOKIE"
}

# The nodes that node N's cluster view lists as running (space-separated names).
running_members() {
  ctl "$1" -q cluster_status --formatter json 2>/dev/null |
    python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).get("running_nodes", [])))'
}

# Every node N knows (disc members), running or not.
disc_members() {
  ctl "$1" -q cluster_status --formatter json 2>/dev/null |
    python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).get("disk_nodes", [])))'
}

# A node that boots for the first time is a cluster of its own: make it join
# node 1's (or, when node 1 is not running, any running member's) cluster.
join() {
  local n="$1" seed="" m
  for m in "${NODES[@]}"; do
    [[ "$m" != "$n" ]] && running "$m" && [[ -z "$seed" || "$m" == 1 ]] && seed="$m"
  done
  [[ -n "$seed" ]] || return 0
  # Already clustered, by either side's account (one rabbitmqctl may fail on a busy node).
  [[ " $(disc_members "$seed" || true) " == *" $(nodename "$n") "* ]] && return 0
  [[ " $(disc_members "$n" || true) " == *" $(nodename "$seed") "* ]] && return 0
  log "joining $(nodename "$n") to the cluster of $(nodename "$seed")"
  {
    ctl "$n" stop_app &&
      ctl "$n" join_cluster "$(nodename "$seed")" &&
      ctl "$n" start_app &&
      ctl "$n" await_startup --timeout 60
  } >>"$(startup_log "$n")" 2>&1 || {
    log "$(nodename "$n") could not join $(nodename "$seed")"
    show_tail "$(startup_log "$n")"
    exit 1
  }
}

# Ready = every running node sees every running node as a running member.
wait_clustered() {
  local deadline=$((SECONDS + BROKER_TIMEOUT)) want=() n members ok
  for n in "${NODES[@]}"; do running "$n" && want+=("$(nodename "$n")"); done
  while true; do
    ok=1
    for n in "${NODES[@]}"; do
      running "$n" || continue
      members=" $(running_members "$n" || true) "
      for m in "${want[@]}"; do [[ "$members" == *" $m "* ]] || ok=0; done
    done
    ((ok)) && return 0
    if ((SECONDS >= deadline)); then
      log "cluster not formed after ${BROKER_TIMEOUT}s (node 1 sees: $(running_members 1 || true))"
      exit 1
    fi
    sleep 1
  done
}

start() {
  [[ -x "$RBIN/rabbitmq-server" ]] || { log "rabbitmq-server is not installed (run: make brokers-deps)"; exit 1; }
  local nodes=("${NODES[@]}") n pids=() rc=0
  [[ $# -gt 0 ]] && { check_node "$1"; nodes=("$1"); }
  ensure_cookie
  # In parallel: a node that was stopped while clustered waits at boot for
  # the members it last saw, so all must come up together.
  for n in "${nodes[@]}"; do
    rabbitmq "$n" start &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  ((rc == 0)) || { log "RabbitMQ cluster: a node did not start"; exit 1; }
  for n in 2 3; do running "$n" && join "$n"; done
  wait_clustered
  log "RabbitMQ cluster ready on 127.0.0.1:$(amqp_port 1),$(amqp_port 2),$(amqp_port 3) (running: $(running_members 1 2>/dev/null || running_members 2))"
}

stop() {
  local n
  if [[ $# -gt 0 ]]; then
    check_node "$1"
    rabbitmq "$1" stop
    return 0
  fi
  for n in "${NODES[@]}"; do [[ -x "$RBIN/rabbitmqctl" ]] && rabbitmq "$n" stop & done
  wait
  log "RabbitMQ cluster stopped"
}

status() {
  local n rc=0 members=""
  for n in "${NODES[@]}"; do
    if running "$n"; then members="$(running_members "$n" || true)" && break; fi
  done
  for n in "${NODES[@]}"; do
    if ! rabbitmq "$n" status >/dev/null; then
      echo "rabbitmq-cluster node $n ($(nodename "$n")): $(rabbitmq "$n" status | sed 's/^[^:]*: //')"
      rc=1
    elif [[ " $members " != *" $(nodename "$n") "* ]]; then
      echo "rabbitmq-cluster node $n ($(nodename "$n")): running, accepting clients on 127.0.0.1:$(amqp_port "$n"), but not a running cluster member"
      rc=1
    else
      echo "rabbitmq-cluster node $n ($(nodename "$n")): running, clustered, accepting clients on 127.0.0.1:$(amqp_port "$n")"
    fi
  done
  return "$rc"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  kill) check_node "${2:-}"; rabbitmq "$2" kill ;;
  status) status ;;
  ctl) check_node "${2:-}"; ctl "$2" "${@:3}" ;;
  queues) check_node "${2:-}"; queues "$2" "${@:3}" ;;
  clean) stop; for n in "${NODES[@]}"; do rm -rf "$(statedir "$n")"; done; rm -f "$COOKIE" ;;
  *) echo "usage: $0 start [NODE]|stop [NODE]|kill NODE|status|ctl NODE ARGS|queues NODE ARGS|clean" >&2; exit 2 ;;
esac
