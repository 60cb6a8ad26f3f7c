#!/usr/bin/env bash
# Start Kafka, RabbitMQ, the schema registry (Apicurio) and Keycloak side by side, then the second
# registry (with authentication, by Keycloak) (each script is
# idempotent and waits until its server accepts clients), and fail if any fails. Kafka starts once
# Keycloak answers: its OAUTHBEARER listener fetches Keycloak's signing keys (JWKS) at start.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$dir/tls.sh" # once, before both, so the two starts don't race to create it
{ "$dir/keycloak.sh" start && "$dir/kafka.sh" start; } &
kafka=$!
"$dir/registry.sh" start &
registry=$!
rc=0
"$dir/rabbitmq.sh" start || rc=$?
wait "$kafka" || rc=$?
wait "$registry" || rc=$?
# The registry with authentication needs Keycloak up (and the distribution registry.sh installed).
if [[ $rc -eq 0 ]]; then
  "$dir/registry-auth.sh" start || rc=$?
fi
if [[ $rc -ne 0 ]]; then
  echo "[brokers] FAILED to start the brokers (see messages above; logs in .brokers/logs/)" >&2
fi
exit "$rc"
