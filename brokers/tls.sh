#!/usr/bin/env bash
# Throw-away TLS material for the local brokers, created only when missing:
#   ca.crt/ca.key                 test CA that signs everything below
#   server.crt/server.key         broker cert, CN=localhost, SAN localhost,127.0.0.1,::1
#   server.pem                    server key + cert + CA in one file (Kafka PEM keystore)
#   client.crt/client.key         client cert signed by the same CA (mutual TLS tests)
#   other-ca.crt/other-ca.key     an unrelated CA: trusting it must NOT verify the brokers
#   other-client.crt/.key         client cert from the unrelated CA: brokers must refuse it
# Keys are unencrypted PKCS#8 RSA-2048 (what Kafka's PEM support, Erlang,
# librdkafka and Python's ssl all accept). Never use these outside tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DAYS=3650
mkdir -p "$TLS"
cd "$TLS"

umask 077 # keys readable by the owner only

# $1=name $2=subject: self-signed CA.
make_ca() {
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days "$DAYS" \
    -keyout "$1.key" -out "$1.crt" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# $1=name $2=CA name $3=CN $4=extendedKeyUsage: leaf signed by the CA.
make_leaf() {
  openssl req -new -newkey rsa:2048 -nodes -sha256 \
    -keyout "$1.key" -out "$1.csr" -subj "/O=mqcli test/CN=$3" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
    -sha256 -days "$DAYS" -out "$1.crt" -extfile <(printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=$4" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
      "subjectKeyIdentifier=hash" \
      "authorityKeyIdentifier=keyid,issuer") 2>/dev/null
  rm -f "$1.csr"
}

made=0
if [[ ! -s ca.crt || ! -s ca.key ]]; then
  make_ca ca "/O=mqcli test/CN=mqcli test CA"
  # A new CA invalidates every cert it signed: re-issue them below.
  rm -f server.* client.*
  made=1
fi
if [[ ! -s server.crt || ! -s server.key ]]; then
  make_leaf server ca localhost serverAuth
  made=1
fi
if [[ ! -s server.pem ]]; then
  cat server.key server.crt ca.crt > server.pem
fi
if [[ ! -s client.crt || ! -s client.key ]]; then
  make_leaf client ca mqcli-client clientAuth
  made=1
fi
if [[ ! -s other-ca.crt || ! -s other-ca.key ]]; then
  make_ca other-ca "/O=mqcli test/CN=unrelated test CA"
  rm -f other-client.*
  made=1
fi
if [[ ! -s other-client.crt || ! -s other-client.key ]]; then
  make_leaf other-client other-ca mqcli-client clientAuth
  made=1
fi

# Sanity check: the leaf certs must verify against our CA (and not the other).
openssl verify -CAfile ca.crt server.crt client.crt >/dev/null
if openssl verify -CAfile other-ca.crt server.crt >/dev/null 2>&1; then
  echo "tls.sh: server.crt unexpectedly verifies against other-ca.crt" >&2
  exit 1
fi

chmod 644 ./*.crt
if [[ $made -eq 1 ]]; then log "TLS material written to $TLS"; fi
