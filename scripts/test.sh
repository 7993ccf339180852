#!/usr/bin/env bash
# Sets up (Envoy and PyYAML into .venv, see scripts/setup.sh), then runs every test with every
# feature (the bench's tower-acc peers included): unit, property, CLI golden, client, layer,
# end-to-end with the real Envoy, and doc tests; then the library's own tests built without its
# default features.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --locked --all-features "$@"
# The library alone (no clap, no bench): what `default-features = false` gives a library user.
cargo test --locked --no-default-features --lib "$@"
