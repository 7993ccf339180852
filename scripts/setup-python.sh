#!/usr/bin/env bash
# Creates the project's Python virtual environment (.venv, ignored by git) with the pinned
# packages the benchmarks compare against. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
