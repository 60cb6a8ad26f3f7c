#!/usr/bin/env bash
# Local RabbitMQ (Debian's rabbitmq-server) for mqcli tests.
#   brokers/rabbitmq.sh start    start detached, wait until AMQP clients are accepted
#   brokers/rabbitmq.sh stop     rabbitmqctl stop (data in .brokers/rabbitmq is kept)
#   brokers/rabbitmq.sh status   exit 0 when running and accepting AMQP connections
#   brokers/rabbitmq.sh kill     SIGKILL the node's VM, as a crash would (data kept)
#   brokers/rabbitmq.sh ctl ARGS run rabbitmqctl against this node, e.g. `ctl list_queues`
#   brokers/rabbitmq.sh enable-streams  the stream protocol plugin on the running node (no restart)
#
# brokers/rabbitmq-node2.sh runs the same commands for a second, independent
# node (not clustered) by setting the RABBIT_INSTANCE, RABBIT_AMQP_PORT,
# RABBIT_AMQPS_PORT, RABBITMQ_NODENAME and RABBITMQ_DIST_PORT variables below;
# brokers/rabbitmq-cluster.sh runs three clustered nodes the same way (and sets
# RABBIT_HTTP_PORT empty: no management plugin, RABBIT_COOKIE_FILE: one cookie
# for all of them, RABBIT_EXTRA_ERL_ARGS: extra flags for the Erlang VM).
#
# Why not the Debian service: there is no systemd here, and the packaged
# wrapper (/usr/sbin/rabbitmq-server) su's to the rabbitmq user and writes to
# /var/lib and /var/log. We run the real scripts from /usr/lib/rabbitmq/bin
# as the current user with everything (config, data, cookie, logs) under
# .brokers/, so nothing system-wide is changed and CI behaves like a laptop.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Which node: its state directory and log names (.brokers/$INSTANCE, .brokers/logs/$INSTANCE*.log).
INSTANCE="${RABBIT_INSTANCE:-rabbitmq}"
# AMQP port, and the AMQPS (TLS) port; an empty AMQPS port means no TLS listener.
AMQP_PORT="${RABBIT_AMQP_PORT:-5672}"
AMQPS_PORT="${RABBIT_AMQPS_PORT-5671}"
# The management plugin's HTTP port, and its HTTPS port (only with a TLS listener);
# an empty HTTP port means no management plugin at all.
HTTP_PORT="${RABBIT_HTTP_PORT-15672}"
HTTPS_PORT="${RABBIT_HTTPS_PORT-15671}"
[[ -n "$AMQPS_PORT" && -n "$HTTP_PORT" ]] || HTTPS_PORT=
# The stream protocol's port (the rabbitmq_stream plugin, for `rabbit consume
# --stream-engine native`); empty means no stream plugin. Only the main node
# has one unless RABBIT_STREAM_PORT says otherwise.
if [[ "${RABBIT_INSTANCE:-rabbitmq}" == rabbitmq ]]; then
  STREAM_PORT="${RABBIT_STREAM_PORT-5552}"
else
  STREAM_PORT="${RABBIT_STREAM_PORT:-}"
fi
RDIR="$STATE/$INSTANCE"
RBIN=/usr/lib/rabbitmq/bin
LOGFILE="$LOGS/$INSTANCE.log"
STARTUP_LOG="$LOGS/$INSTANCE-startup.log"

# rabbit@localhost instead of rabbit@<hostname>: Erlang distribution must be
# able to resolve the host part, and "localhost" always resolves, whatever the
# machine's (container's) hostname is.
export RABBITMQ_NODENAME="${RABBITMQ_NODENAME:-rabbit@localhost}"
LABEL="RabbitMQ"
[[ "$INSTANCE" == rabbitmq ]] || LABEL="RabbitMQ $RABBITMQ_NODENAME"
if [[ "$AMQP_PORT" != 5672 ]]; then
  # The Erlang distribution port defaults to 20000 + RABBITMQ_NODE_PORT:
  # tell the VM the real AMQP port so a second node never clashes with the first.
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
fi
export RABBITMQ_CONFIG_FILE="$RDIR/rabbitmq.conf"
export RABBITMQ_ADVANCED_CONFIG_FILE="$RDIR/advanced.config"
export RABBITMQ_ENABLED_PLUGINS_FILE="$RDIR/enabled_plugins"
export RABBITMQ_MNESIA_BASE="$RDIR/mnesia"
export RABBITMQ_PID_FILE="$RDIR/rabbit.pid"
export RABBITMQ_LOG_BASE="$LOGS"
export RABBITMQ_LOGS="$LOGFILE"
# Keep epmd and the Erlang distribution port on loopback too.
export ERL_EPMD_ADDRESS=127.0.0.1
# Crash dumps next to the logs, not in whatever directory make ran from.
export ERL_CRASH_DUMP="$LOGS/erl_crash.dump"
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}${RABBIT_EXTRA_ERL_ARGS:+ $RABBIT_EXTRA_ERL_ARGS}"
# The Erlang cookie is read from $HOME/.erlang.cookie by the server and by
# rabbitmqctl alike; a private HOME makes both agree without touching /root.
export HOME="$RDIR/home"

ctl() { "$RBIN/rabbitmqctl" "$@"; }

pid() { pid_in "$RABBITMQ_PID_FILE"; }

# The node is ours and alive if the pid file names a live Erlang VM (beam).
running() { pid_alive "$(pid)" 'beam'; }

# Real client check: a full AMQP login as guest on the AMQP port
# (brokers/amqp_ping.py), much faster than the Erlang CLI; plus the TLS port
# accepting connections (when the node has one).
ready() {
  python3 "$BROKERS_DIR/amqp_ping.py" 127.0.0.1 "$AMQP_PORT" 2>/dev/null &&
    { [[ -z "$AMQPS_PORT" ]] || port_open "$AMQPS_PORT"; }
}

listeners() { echo "127.0.0.1:$AMQP_PORT${AMQPS_PORT:+ / $AMQPS_PORT}${STREAM_PORT:+, streams $STREAM_PORT}${HTTP_PORT:+, management http://127.0.0.1:$HTTP_PORT}${HTTPS_PORT:+ / https $HTTPS_PORT}"; }

# rabbitmq.conf from the template, for this node's ports; without a TLS port
# the ssl listener and its options are left out (no TLS files needed).
render_config() {
  local conf
  conf="$(<"$BROKERS_DIR/rabbitmq/rabbitmq.conf.in")"
  conf="${conf//@STATE@/$STATE}"
  conf="${conf/listeners.tcp.default = 127.0.0.1:5672/listeners.tcp.default = 127.0.0.1:$AMQP_PORT}"
  conf="${conf/management.tcp.port = 15672/management.tcp.port = $HTTP_PORT}"
  [[ -n "$HTTP_PORT" ]] || conf="$(grep -v '^management\.' <<<"$conf")"
  # A plugin's keys are unknown (a boot error) unless the plugin is enabled.
  if [[ -n "$STREAM_PORT" ]]; then
    conf="${conf/stream.listeners.tcp.default = 127.0.0.1:5552/stream.listeners.tcp.default = 127.0.0.1:$STREAM_PORT}"
    conf="${conf/stream.advertised_port = 5552/stream.advertised_port = $STREAM_PORT}"
  else
    conf="$(grep -v '^stream\.' <<<"$conf")"
  fi
  if [[ -n "$AMQPS_PORT" ]]; then
    conf="${conf/management.ssl.port = 15671/management.ssl.port = $HTTPS_PORT}"
    printf '%s\n' "${conf/listeners.ssl.default = 127.0.0.1:5671/listeners.ssl.default = 127.0.0.1:$AMQPS_PORT}"
  else
    grep -v -e '^listeners.ssl' -e '^ssl_options' -e '^management.ssl' <<<"$conf"
  fi
}

prepare() {
  mkdir -p "$RDIR/mnesia" "$HOME"
  chmod 700 "$HOME"
  if [[ ! -s "$HOME/.erlang.cookie" ]]; then
    # Reuse the package's cookie when there is one, so the stock
    # `rabbitmqctl -n rabbit@localhost ...` (which runs as user rabbitmq
    # with /var/lib/rabbitmq's cookie) can manage this node too; a second
    # node shares the first node's cookie.
    # Clustered nodes must share one cookie: the cluster script names its file.
    if [[ -n "${RABBIT_COOKIE_FILE:-}" && -s "${RABBIT_COOKIE_FILE:-}" ]]; then
      cat "$RABBIT_COOKIE_FILE" >"$HOME/.erlang.cookie"
    elif [[ -r /var/lib/rabbitmq/.erlang.cookie ]]; then
      cat /var/lib/rabbitmq/.erlang.cookie >"$HOME/.erlang.cookie"
    elif [[ "$INSTANCE" != rabbitmq && -s "$STATE/rabbitmq/home/.erlang.cookie" ]]; then
      cat "$STATE/rabbitmq/home/.erlang.cookie" >"$HOME/.erlang.cookie"
    else
      head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 >"$HOME/.erlang.cookie"
    fi
    chmod 400 "$HOME/.erlang.cookie"
  fi
  render_config >"$RABBITMQ_CONFIG_FILE"
  # The OAuth 2 backend's signing keys: the local Keycloak realm's JWKS (see
  # rabbitmq.conf.in; here because rabbitmq.conf only takes an https:// URL).
  printf '[{rabbitmq_auth_backend_oauth2, [{key_config, [{jwks_url, "%s"}]}]}].\n' \
    "$("$BROKERS_DIR/keycloak.sh" url)/protocol/openid-connect/certs" >"$RABBITMQ_ADVANCED_CONFIG_FILE"
  # The management plugin (HTTP API for `mqcli rabbit queues list`, overview, ...;
  # it ships with Debian's rabbitmq-server), and the OAuth 2 auth backend
  # (also shipped; configured in rabbitmq.conf.in). Debian does not ship
  # rabbitmq_delayed_message_exchange, so that one is never enabled.
  # rabbitmq_stream (shipped too) serves the stream protocol on STREAM_PORT.
  local plugins=rabbitmq_auth_backend_oauth2
  [[ -z "$HTTP_PORT" ]] || plugins="rabbitmq_management,$plugins"
  [[ -z "$STREAM_PORT" ]] || plugins="$plugins,rabbitmq_stream"
  echo "[$plugins]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
}

fail() {
  log "$1"
  show_tail "$STARTUP_LOG"
  show_tail "$LOGFILE"
  exit 1
}

# $1 = pid of the rabbitmq-server script we just launched (empty when we are
# waiting for a node started earlier). Polls the real AMQP check so a crash
# (e.g. a config error) is reported at once instead of after the timeout.
wait_ready() {
  local launcher="${1:-}" deadline=$((SECONDS + BROKER_TIMEOUT))
  until ready; do
    if [[ -n "$launcher" ]] && ! kill -0 "$launcher" 2>/dev/null; then
      fail "$LABEL exited during startup"
    fi
    if [[ -z "$launcher" ]] && ! running; then
      fail "$LABEL exited during startup"
    fi
    ((SECONDS < deadline)) || fail "$LABEL not accepting AMQP/TLS clients after ${BROKER_TIMEOUT}s (left running for inspection)"
    sleep 0.5
  done
  # Clients are served; also let RabbitMQ itself confirm the boot finished.
  ctl await_startup --timeout 30 >>"$STARTUP_LOG" 2>&1 || fail "rabbitmqctl await_startup failed"
}

start() {
  if [[ ! -x "$RBIN/rabbitmq-server" ]]; then
    fail "rabbitmq-server is not installed (run: make brokers-deps)"
  fi
  if running; then
    # Ours and alive: quick AMQP check; fall back to waiting if still booting.
    ready || wait_ready
    log "$LABEL running (pid $(pid)) on $(listeners)"
    grep -q rabbitmq_auth_backend_oauth2 "$RABBITMQ_ENABLED_PLUGINS_FILE" 2>/dev/null ||
      log "$LABEL was started before the OAuth 2 backend was configured: restart it for OAuth sign-in (make brokers-stop brokers)"
    [[ -z "$STREAM_PORT" ]] || port_open "$STREAM_PORT" || enable_streams
    return 0
  fi
  rm -f "$RABBITMQ_PID_FILE"
  local p
  for p in $AMQP_PORT $AMQPS_PORT $HTTP_PORT $HTTPS_PORT; do
    if port_open "$p"; then
      log "port $p is already taken by a process we did not start (system rabbitmq-server service?); stop it first"
      exit 1
    fi
  done

  [[ -z "$AMQPS_PORT" ]] || "$BROKERS_DIR/tls.sh"
  prepare
  log "starting $LABEL (log: $LOGFILE)"
  echo "===== $(date -Is) $INSTANCE start =====" >>"$STARTUP_LOG"
  # Not `rabbitmq-server -detached`: a detached VM drops its stdout, so a
  # config error vanishes and we'd only notice at the timeout. Instead run it
  # in the background ourselves: output lands in the startup log and we can
  # see it die. setsid + redirected fds so it survives the calling make and
  # never holds the caller's terminal or pipe open.
  (cd "$RDIR" && exec setsid "$RBIN/rabbitmq-server" </dev/null >>"$STARTUP_LOG" 2>&1) &
  wait_ready $!
  log "$LABEL ready (pid $(pid)) on $(listeners)"
}

stop() {
  if ! running; then
    rm -f "$RABBITMQ_PID_FILE"
    log "$LABEL not running"
    return 0
  fi
  local p
  p="$(pid)"
  log "stopping $LABEL (pid $p)"
  # With the pid file, `rabbitmqctl stop` also waits for the VM to exit.
  if ! ctl stop "$RABBITMQ_PID_FILE" >>"$STARTUP_LOG" 2>&1; then
    log "rabbitmqctl stop failed; sending SIGTERM"
    kill -TERM "$p" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$RABBITMQ_PID_FILE"
}

# SIGKILL the Erlang VM (no clean shutdown: what a crash or an OOM kill does),
# and wait until it is gone; the next `start` finds its data as it was left.
kill_node() {
  if ! running; then
    log "$LABEL not running"
    return 1
  fi
  local p
  p="$(pid)"
  kill -KILL "$p"
  while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
  rm -f "$RABBITMQ_PID_FILE"
  log "$LABEL killed (pid $p)"
}

# The stream plugin on a node that runs without it (started before it was
# configured), in place, no restart: the listener's settings are put into the
# node's environment before the plugin starts (rabbitmq.conf is read at boot only).
enable_streams() {
  [[ -n "$STREAM_PORT" ]] || { log "$LABEL has no stream port (RABBIT_STREAM_PORT)"; return 1; }
  running || { log "$LABEL is not running"; return 1; }
  port_open "$STREAM_PORT" && return 0
  ctl eval "application:load(rabbitmq_stream), application:set_env(rabbitmq_stream, tcp_listeners, [{\"127.0.0.1\", $STREAM_PORT}]), application:set_env(rabbitmq_stream, advertised_host, <<\"127.0.0.1\">>), application:set_env(rabbitmq_stream, advertised_port, $STREAM_PORT)." >>"$STARTUP_LOG" 2>&1 &&
    "$RBIN/rabbitmq-plugins" enable rabbitmq_stream >>"$STARTUP_LOG" 2>&1 ||
    { log "could not enable the stream plugin on $LABEL (see $STARTUP_LOG)"; return 1; }
  log "$LABEL: stream protocol enabled on 127.0.0.1:$STREAM_PORT"
}

status() {
  if running && ready; then
    echo "$INSTANCE: running (pid $(pid)), accepting clients on 127.0.0.1:$AMQP_PORT (amqp)${AMQPS_PORT:+ / $AMQPS_PORT (amqps)}${HTTP_PORT:+, management http://127.0.0.1:$HTTP_PORT/}"
  elif running; then
    echo "$INSTANCE: running (pid $(pid)) but not accepting clients"
    return 1
  else
    echo "$INSTANCE: stopped"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  kill) kill_node ;;
  ctl) shift; ctl "$@" ;;
  enable-streams) enable_streams ;;
  *) echo "usage: $0 start|stop|restart|status|kill|ctl ARGS...|enable-streams" >&2; exit 2 ;;
esac
