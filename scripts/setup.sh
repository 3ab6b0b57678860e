#!/usr/bin/env bash
# Installs the Debian 12 packages netdemo needs to build and test. Idempotent: when every
# package is already there it does nothing (no apt-get update).
set -euo pipefail
# clang-14, libclang-rt-14-dev (the sanitizer and libFuzzer runtimes) and llvm-14 (its
# llvm-symbolizer names the lines in a report): the sanitizer and fuzz builds of test.sh.
# doxygen: the API reference (the doc target), built with no warnings allowed.
packages=(cmake g++ make libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
          libssl-dev zlib1g-dev catch2 python3 netcat-openbsd openssl
          clang-14 libclang-rt-14-dev llvm-14 doxygen)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
