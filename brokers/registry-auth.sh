#!/usr/bin/env bash
# A second local Apicurio Registry, WITH authentication, for the tests of mqcli's
# registry credentials: http://127.0.0.1:8083/apis/ccompat/v7, authenticated by
# Keycloak's realm mqcli (brokers/keycloak.sh, which must be running) and authorized
# by the realm roles sr-admin / sr-developer / sr-readonly. HTTP basic credentials
# are a Keycloak client's id and secret (brokers/keycloak/mqcli-realm.json:
# mqcli-registry-admin, -developer, -readonly), traded by the registry for a token.
#   brokers/registry-auth.sh start|stop|restart|status|install   as brokers/registry.sh
# It is brokers/registry.sh run as the instance `registry-auth` (pid file in
# .brokers/registry-auth/, log .brokers/logs/registry-auth.log), sharing its code
# and its installed distribution.
set -euo pipefail
export REGISTRY_NAME=registry-auth
export REGISTRY_PORT="${REGISTRY_AUTH_PORT:-8083}"
export REGISTRY_MGMT_PORT="${REGISTRY_AUTH_MGMT_PORT:-8093}"
export REGISTRY_OIDC=1
exec "$(dirname "${BASH_SOURCE[0]}")/registry.sh" "$@"
