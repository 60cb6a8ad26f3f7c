#!/usr/bin/env bash
# End-to-end smoke test of the running brokers (make brokers-check): every
# listener, credential and TLS path a test may rely on, including the ones
# that must be refused. Leaves nothing behind (temp topic/queue deleted).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

K="$BROKERS_DIR/kafka.sh"
TOPIC="mqcli.brokers-check.$$"
QUEUE="mqcli.brokers-check.$$"
GROUP="mqcli.brokers-check.$$"
TMP="$(mktemp -d)"
ok=0
bad=0

cleanup() {
  "$K" tool org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 \
    --delete --if-exists --topic "$TOPIC" >/dev/null 2>&1 || true
  amqp-delete-queue -u amqp://guest:guest@127.0.0.1:5672 -q "$QUEUE" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# check "description" command...: the command must succeed.
check() {
  local what="$1"; shift
  if "$@" >"$TMP/out" 2>&1; then
    echo "ok    $what"; ok=$((ok + 1))
  else
    echo "FAIL  $what"; sed 's/^/      /' "$TMP/out" | tail -5; bad=$((bad + 1))
  fi
}
# refuse "description" command...: the command must fail (access denied).
refuse() {
  local what="$1"; shift
  if "$@" >"$TMP/out" 2>&1; then
    echo "FAIL  $what (was accepted)"; bad=$((bad + 1))
  else
    echo "ok    $what (refused)"; ok=$((ok + 1))
  fi
}

# Java client config for SASL checks (kcat can't be used for SCRAM, see README).
jaas() {
  local mech="$1" module=scram.ScramLoginModule pw="${2:-mqcli-secret}"
  [[ $mech == PLAIN ]] && module=plain.PlainLoginModule
  printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=$mech" \
    "sasl.jaas.config=org.apache.kafka.common.security.$module required username=\"mqcli\" password=\"$pw\";" \
    >"$TMP/$mech-$pw.properties"
  echo "$TMP/$mech-$pw.properties"
}
java_list() { # $1=mechanism [$2=password]: list topics through the SASL port
  timeout 60 "$K" tool org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9093 \
    --command-config "$(jaas "$@")" --list
}
kcat_md() { timeout 20 kcat -L -m 5 "$@" | grep -q "broker 1 at"; }

echo "== Kafka"
check "metadata on 9092" kcat_md -b 127.0.0.1:9092
check "create topic $TOPIC" "$K" tool org.apache.kafka.tools.TopicCommand \
  --bootstrap-server 127.0.0.1:9092 --create --topic "$TOPIC" --partitions 1 --replication-factor 1
refuse "produce to a missing topic (auto-create is off)" \
  bash -c 'echo x | timeout 20 kcat -b 127.0.0.1:9092 -P -t mqcli.no-such-topic -X message.timeout.ms=3000'
check "produce with kcat" bash -c "echo hello-kafka | kcat -b 127.0.0.1:9092 -P -t '$TOPIC'"
check "consume with kcat" bash -c "timeout 20 kcat -b 127.0.0.1:9092 -C -t '$TOPIC' -o beginning -c 1 -e | grep -qx hello-kafka"
check "consume in group $GROUP (kcat -G)" bash -c \
  "timeout 60 kcat -b 127.0.0.1:9092 -G '$GROUP' -X auto.offset.reset=earliest -c 1 '$TOPIC' | grep -qx hello-kafka"
check "group $GROUP has committed offsets" bash -c \
  "timeout 60 '$K' tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server 127.0.0.1:9092 --describe --group '$GROUP' | grep -q '$TOPIC'"
check "SASL PLAIN on 9093 (kcat)" kcat_md -b 127.0.0.1:9093 -X security.protocol=SASL_PLAINTEXT \
  -X sasl.mechanisms=PLAIN -X sasl.username=mqcli -X sasl.password=mqcli-secret
refuse "SASL PLAIN with a wrong password" kcat_md -b 127.0.0.1:9093 -X security.protocol=SASL_PLAINTEXT \
  -X sasl.mechanisms=PLAIN -X sasl.username=mqcli -X sasl.password=wrong
check "SASL SCRAM-SHA-256 on 9093 (Java client)" java_list SCRAM-SHA-256
check "SASL SCRAM-SHA-512 on 9093 (Java client)" java_list SCRAM-SHA-512
check "SSL on 9094 trusting ca.crt" kcat_md -b 127.0.0.1:9094 -X security.protocol=SSL \
  -X ssl.ca.location="$TLS/ca.crt"
check "SSL on 9094 with client cert" kcat_md -b 127.0.0.1:9094 -X security.protocol=SSL \
  -X ssl.ca.location="$TLS/ca.crt" -X ssl.certificate.location="$TLS/client.crt" -X ssl.key.location="$TLS/client.key"
refuse "SSL on 9094 trusting other-ca.crt" kcat_md -b 127.0.0.1:9094 -X security.protocol=SSL \
  -X ssl.ca.location="$TLS/other-ca.crt"
refuse "SSL on 9094 with a client cert from other-ca" kcat_md -b 127.0.0.1:9094 -X security.protocol=SSL \
  -X ssl.ca.location="$TLS/ca.crt" -X ssl.certificate.location="$TLS/other-client.crt" -X ssl.key.location="$TLS/other-client.key"

echo "== RabbitMQ"
AMQP=amqp://guest:guest@127.0.0.1:5672
check "declare queue $QUEUE" amqp-declare-queue -u "$AMQP" -q "$QUEUE"
check "publish on 5672" amqp-publish -u "$AMQP" -r "$QUEUE" -b hello-amqp
check "get on 5672" bash -c "amqp-get -u '$AMQP' -q '$QUEUE' | grep -qx hello-amqp"
refuse "guest with a wrong password" amqp-get -u amqp://guest:wrong@127.0.0.1:5672 -q "$QUEUE"
# librabbitmq (amqp-tools) matches only DNS names, not IP SANs: use localhost.
TLSOPT=(-u amqps://guest:guest@localhost:5671 --ssl --cacert="$TLS/ca.crt")
check "publish over TLS on 5671" amqp-publish "${TLSOPT[@]}" -r "$QUEUE" -b hello-amqps
check "get over TLS on 5671" bash -c "amqp-get ${TLSOPT[*]} -q '$QUEUE' | grep -qx hello-amqps"
check "TLS on 5671 with client cert" amqp-declare-queue "${TLSOPT[@]}" \
  --cert="$TLS/client.crt" --key="$TLS/client.key" -q "$QUEUE"
refuse "TLS on 5671 with a client cert from other-ca" amqp-declare-queue "${TLSOPT[@]}" \
  --cert="$TLS/other-client.crt" --key="$TLS/other-client.key" -q "$QUEUE"
check "openssl s_client verifies 5671 against ca.crt" bash -c \
  "openssl s_client -connect 127.0.0.1:5671 -CAfile '$TLS/ca.crt' -verify_return_error -verify_ip 127.0.0.1 </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)'"
refuse "openssl s_client with other-ca.crt" bash -c \
  "openssl s_client -connect 127.0.0.1:5671 -CAfile '$TLS/other-ca.crt' -verify_return_error </dev/null"

# The management plugin's HTTP API (mqcli rabbit queues list, overview, ...): $1 = URL.
mgmt_get() {
  python3 - "$@" <<'PY'
import base64, json, ssl, sys, urllib.request
url, cafile = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
req = urllib.request.Request(url, headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
ctx = ssl.create_default_context(cafile=cafile) if cafile else None
with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
    assert json.load(r)["rabbitmq_version"]
PY
}
check "management API on 15672" mgmt_get http://127.0.0.1:15672/api/overview
check "management API over HTTPS on 15671" mgmt_get https://localhost:15671/api/overview "$TLS/ca.crt"
refuse "management API over HTTPS with other-ca.crt" mgmt_get https://localhost:15671/api/overview "$TLS/other-ca.crt"
echo "== Schema registry (Apicurio, Confluent API)"
SR=http://127.0.0.1:8081/apis/ccompat/v7
SUBJECT="mqcli-check-$$-value"
check "register a schema under $SUBJECT" bash -c \
  "curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d '{\"schema\": \"\\\"string\\\"\"}' '$SR/subjects/$SUBJECT/versions' | grep -q '\"id\"'"
check "read it back as the latest version" bash -c "curl -fsS '$SR/subjects/$SUBJECT/versions/latest' | grep -q '\"version\":1'"
refuse "an unknown schema id" curl -fsS "$SR/schemas/ids/2147483000"

echo "== Keycloak (OIDC) and OAuth sign-in"
REALM="$("$BROKERS_DIR/keycloak.sh" url)"
TOKEN_URL="$REALM/protocol/openid-connect/token"
token() { # $1 = client: a client-credentials access token on stdout
  curl -fsS -u "$1:$1-secret" -d grant_type=client_credentials "$TOKEN_URL" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
check "token for mqcli-kafka" token mqcli-kafka
refuse "token with a wrong client secret" curl -fsS -u mqcli-kafka:wrong -d grant_type=client_credentials "$TOKEN_URL"
# Kafka's own Java client (its OIDC login handler) against the OAUTHBEARER listener on 9096.
printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=OAUTHBEARER" \
  "sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler" \
  "sasl.oauthbearer.token.endpoint.url=$TOKEN_URL" \
  "sasl.oauthbearer.client.credentials.client.id=mqcli-kafka" \
  "sasl.oauthbearer.client.credentials.client.secret=mqcli-kafka-secret" \
  "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;" \
  >"$TMP/oauth.properties"
check "SASL OAUTHBEARER on 9096 (Java client, Keycloak token)" timeout 60 "$K" tool \
  -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="$TOKEN_URL" org.apache.kafka.tools.TopicCommand \
  --bootstrap-server 127.0.0.1:9096 --command-config "$TMP/oauth.properties" --list
printf '%s\n' "security.protocol=SASL_SSL" "ssl.truststore.type=PEM" \
  "ssl.truststore.location=$STATE/tls/ca.crt" >>"$TMP/oauth.properties"
check "SASL OAUTHBEARER over TLS on 9097 (Java client, Keycloak token)" timeout 60 "$K" tool \
  -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="$TOKEN_URL" org.apache.kafka.tools.TopicCommand \
  --bootstrap-server 127.0.0.1:9097 --command-config "$TMP/oauth.properties" --list
amqp_token_login() { python3 "$BROKERS_DIR/amqp_ping.py" 127.0.0.1 5672 "$1" "$(token "$1")"; }
check "AMQP login on 5672 with an access token as the password" amqp_token_login mqcli-rabbitmq
refuse "AMQP login with a token for another audience (kafka)" amqp_token_login mqcli-kafka
echo "== Schema registry with authentication (brokers/registry-auth.sh; Keycloak roles sr-*)"
SRA="http://127.0.0.1:${REGISTRY_AUTH_PORT:-8083}/apis/ccompat/v7"
SRA_SUBJECT="mqcli-check-auth-$$-value"
sra() { # $1 = client (HTTP basic: its id and secret), then curl arguments
  local c="$1"; shift
  curl -fsS -u "$c:$c-secret" -H 'Content-Type: application/vnd.schemaregistry.v1+json' "$@"
}
refuse "no credentials (401)" curl -fsS "$SRA/subjects"
refuse "a wrong client secret (401)" curl -fsS -u mqcli-registry-readonly:wrong "$SRA/subjects"
check "list subjects as mqcli-registry-readonly" sra mqcli-registry-readonly "$SRA/subjects"
refuse "register as mqcli-registry-readonly (403)" sra mqcli-registry-readonly -d '{"schema": "\"string\""}' \
  "$SRA/subjects/$SRA_SUBJECT/versions"
check "register as mqcli-registry-developer" sra mqcli-registry-developer -d '{"schema": "\"string\""}' \
  "$SRA/subjects/$SRA_SUBJECT/versions"
echo "brokers-check: $ok ok, $bad failing"
[[ $bad -eq 0 ]]
