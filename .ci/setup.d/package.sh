#!/usr/bin/env bash
# Teams app package: the official manifest schemas from npm @microsoft/app-manifest, installed
# into .cache/app-manifest (VIGIL_APP_MANIFEST_CACHE); checkov for the infra scan. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v npm >/dev/null 2>&1 || { echo "npm is missing (apt-get install -y nodejs npm)"; exit 1; }
python3 -c "from bot.package import schema_path; print(schema_path())"

command -v checkov >/dev/null 2>&1 || python3 -m pip install -q 'checkov>=3.2'
