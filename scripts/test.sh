#!/usr/bin/env bash
# Runs every test: unit, property, CLI golden and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked "$@"
