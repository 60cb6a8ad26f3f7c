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

# pid_in FILE: the pid a pid file holds, empty when there is none.
pid_in() { cat "$1" 2>/dev/null || true; }

# pid_alive PID PATTERN: PID is a live process whose command line matches
# PATTERN (the pattern guards against a pid recycled by another process).
pid_alive() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

# start_detached PIDFILE LOGFILE COMMAND...: run a server in the background
# and return once PIDFILE holds its pid. setsid: its own session, so Ctrl-C on
# make or the end of a CI step's process group does not take it down. The
# shell writes its own pid and exec's COMMAND, so the pid file holds the
# server's pid (and COMMAND does not run when the pid file cannot be written:
# a server no script could stop). Every fd is redirected so a caller piping our output
# (make | tee) is not kept open by the server.
start_detached() {
  local pidfile="$1" logfile="$2" _
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016  # $$ is for the child
  setsid bash -c 'echo $$ >"$0" && exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
  for _ in $(seq 50); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
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

# find_java MIN WHAT: the newest JDK whose major version is >= MIN ($JAVA
# first if set, then every /usr/lib/jvm/*/bin/java, then java on PATH).
# Apicurio and Keycloak need Java 21+ while Debian's default is 17, and the
# newer JDK's path differs between machines, so no path is hard-coded.
find_java() {
  local min="$1" what="$2" candidates=() j v best="" best_v=0
  [[ -n "${JAVA:-}" ]] && candidates+=("$JAVA")
  for j in /usr/lib/jvm/*/bin/java; do [[ -x "$j" ]] && candidates+=("$j"); done
  command -v java >/dev/null && candidates+=("$(command -v java)")
  for j in "${candidates[@]}"; do
    # `java -version` prints e.g.: openjdk version "25.0.1" 2025-10-21
    v="$("$j" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
    [[ -n "$v" ]] || continue
    if ((v >= min && v > best_v)); then best="$j"; best_v="$v"; fi
  done
  if [[ -z "$best" ]]; then
    log "$what needs Java $min or newer; none found under /usr/lib/jvm or on PATH (set JAVA=/path/to/java)"
    exit 1
  fi
  echo "$best"
}

# await_ready NAME TIMEOUT LOGFILE: poll the sourcing script's `ready` until it
# holds. Fails with the log's tail when its `running` says the server died
# during start-up, or after TIMEOUT seconds (the server is left running for
# inspection).
await_ready() {
  local name="$1" timeout="$2" logfile="$3" deadline=$((SECONDS + $2))
  until ready; do
    if ! running; then
      log "$name exited during startup"
      show_tail "$logfile"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name not ready after ${timeout}s (pid $(pid) left running for inspection)"
      show_tail "$logfile"
      exit 1
    fi
    sleep 0.5
  done
}

# install_maven_dist NAME ARTIFACT ARCHIVE DIST MARKER: fetch a server
# distributed as a tar.gz on Maven Central (ARTIFACT is mvn's
# group:artifact:version:tar.gz[:classifier], ARCHIVE the file name it
# downloads) and unpack it into DIST, which then holds MARKER (a relative path
# such as bin/kc.sh) whatever the archive names its top-level directory.
# Nothing to do when DIST/MARKER exists.
install_maven_dist() {
  local name="$1" artifact="$2" archive="$3" dist="$4" marker="$5" work found mvnlog
  [[ -e "$dist/$marker" ]] && return 0
  work="$(dirname "$dist")/download"
  mvnlog="$LOGS/$(basename "$(dirname "$dist")")-mvn.log" # e.g. registry-mvn.log
  log "fetching $name with mvn (first run)"
  rm -rf "$work" "$dist.tmp"
  mkdir -p "$work" "$dist.tmp"
  mvn -B -ntp dependency:copy -Dartifact="$artifact" -DoutputDirectory="$work" \
    </dev/null >"$mvnlog" 2>&1 || { log "mvn failed"; show_tail "$mvnlog"; exit 1; }
  tar -xzf "$work/$archive" -C "$dist.tmp"
  found="$(find "$dist.tmp" -maxdepth 3 -path "*/$marker" | head -1)"
  [[ -n "$found" ]] || { log "no $marker in the $name archive"; exit 1; }
  rm -rf "$dist"
  mv "${found%/"$marker"}" "$dist"
  rm -rf "$dist.tmp" "$work"
}
