# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Shared settings and helpers for the broker scripts (sourced, not run).
# Everything mutable lives under $STATE (.brokers/, git-ignored) so a fresh
# clone starts clean and `rm -rf .brokers` resets all broker data.

BROKERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BROKERS_DIR/.." && pwd)"
STATE="${BROKERS_STATE:-$REPO_ROOT/.brokers}"
LOGS="$STATE/logs"
TLS="$STATE/tls"
# How long a broker may take to accept clients before we give up (seconds).
BROKER_TIMEOUT="${BROKER_TIMEOUT:-120}"

mkdir -p "$LOGS"

log() { printf '[brokers] %s\n' "$*" >&2; }

# Print the end of a log file so a failure explains itself in CI output.
show_tail() {
  local f="$1"
  if [[ -f "$f" ]]; then
    printf '\n----- last 60 lines of %s -----\n' "$f" >&2
    tail -n 60 "$f" >&2
    printf -- '----- end of %s -----\n\n' "$f" >&2
  else
    log "(no log file $f)"
  fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stop_process NAME PID GRACE: SIGTERM, wait up to GRACE seconds for a clean
# shutdown (a JVM broker flushes its logs), SIGKILL only if it hangs.
stop_process() {
  local name="$1" p="$2" grace="$3" deadline
  kill -TERM "$p" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while kill -0 "$p" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name did not stop in ${grace}s, killing"
      kill -KILL "$p" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
}
