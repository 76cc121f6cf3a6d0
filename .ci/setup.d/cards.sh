#!/usr/bin/env bash
# Card tooling: Debian's chromium for the render check, and the pinned npm packages
# (adaptivecards, adaptivecards-templating, ...) installed into .cache/cards-js. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-liberation >/dev/null
fi
command -v node >/dev/null 2>&1 || { echo "node is missing (apt-get install -y nodejs npm)"; exit 1; }

python3 -m cards.jstools
