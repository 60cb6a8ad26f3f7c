#!/usr/bin/env bash
# Install the Debian packages the brokers and their checks need, only when
# missing. Must work unattended in CI (CI=true, no stdin, root, no systemd).
set -euo pipefail

PKGS=(rabbitmq-server kcat amqp-tools openssl)

# Java 17 and Maven (to assemble Kafka) normally come with the machine image;
# install them too if a machine lacks them.
command -v java >/dev/null || PKGS+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || PKGS+=(maven)
command -v python3 >/dev/null || PKGS+=(python3)
command -v curl >/dev/null || PKGS+=(curl) # registry.sh: readiness check

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "[brokers] installing: ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

# There is no systemd here: rabbitmq-server's postinst would call invoke-rc.d
# to start the service from /etc/init.d, which can hang or fail the install.
# A policy-rc.d that exits 101 tells invoke-rc.d "don't start services".
# Many container images already ship one; only add (and later remove) ours
# when there is none, so we never clobber the machine's own policy.
POLICY=/usr/sbin/policy-rc.d
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# temporary, added by mqcli brokers/deps.sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q </dev/null
$SUDO apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null
