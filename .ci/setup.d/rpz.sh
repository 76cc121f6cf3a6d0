#!/usr/bin/env bash
# RPZ zone checks: named-checkzone from Debian's bind9-utils (tests/containment/test_rpz*.py
# run it on the zone files Vigil writes). Idempotent: skips when it is installed.
set -euo pipefail

if ! command -v named-checkzone >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends bind9-utils >/dev/null
fi
