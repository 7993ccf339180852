#!/usr/bin/env bash
# Sets up (Envoy and PyYAML into .venv, see scripts/setup.sh), then runs every test: unit,
# property, CLI golden, client, layer, end-to-end with the real Envoy, and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --locked "$@"
