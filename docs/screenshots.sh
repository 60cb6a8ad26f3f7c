#!/bin/sh
# The README's screenshot of a live view: three queues on the local broker (one being
# drained by a worker, one filled by a producer, one idle), watched for 45 s.
# Needs the brokers (`make brokers`) and rsvg-convert (Debian: librsvg2-bin).
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
mq() { "$PY" -m mqcli "$@"; }
p=demo
seq 1500 | mq rabbit publish --queue "$p-orders" --declare 2>/dev/null
seq 42 | mq rabbit publish --queue "$p-audit" --declare 2>/dev/null
mq rabbit declare queue "$p-emails" 2>/dev/null
mq rabbit consume "$p-orders" --prefetch 1 --exec 'sleep 0.03' >/dev/null 2>&1 &
worker=$!
( for _ in $(seq 60); do seq 8 | mq rabbit publish --queue "$p-emails" 2>/dev/null; sleep 0.6; done ) &
producer=$!
"$PY" docs/render_live.py docs/watch-queues.svg 45 150 rabbit queues list --match "^$p-" --sort depth --watch
kill "$worker" "$producer" 2>/dev/null || true
wait 2>/dev/null || true
for q in orders audit emails; do mq rabbit queue delete "$p-$q" 2>/dev/null || true; done
rsvg-convert -b '#0c0c0c' -o docs/watch-queues.png docs/watch-queues.svg
echo "docs/watch-queues.png"
