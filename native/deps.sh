#!/usr/bin/env bash
# Install the Debian packages the native extension's build needs (only those
# missing): rdkafka-sys builds the librdkafka source it ships with a C
# compiler and make, against the system's OpenSSL (TLS and SASL SCRAM) and
# zlib (gzip), found through pkg-config.  Must work unattended in CI
# (CI=true, no stdin, root).  Rust itself (cargo) is not installed here: the
# extension is built only when cargo is already present (Makefile).
set -euo pipefail

PKGS=(gcc g++ make pkg-config libssl-dev zlib1g-dev)

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "[native] installing: ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q </dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
