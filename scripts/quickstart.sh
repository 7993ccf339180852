#!/usr/bin/env bash
# Builds sidecar-tuner and runs `check` and `plan` on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/sidecar-tuner
echo "== sidecar-tuner check fixtures/reviews.yaml fixtures/circuit-breaker.yaml --host reviews -n bookinfo"
"$bin" check fixtures/reviews.yaml fixtures/circuit-breaker.yaml --host reviews -n bookinfo
echo
echo "== sidecar-tuner plan fixtures/reviews.yaml --host reviews -n bookinfo --subset v2"
"$bin" plan fixtures/reviews.yaml --host reviews -n bookinfo --subset v2
echo
echo "== sidecar-tuner check fixtures/reviews.yaml --host reviews -n bookinfo --client fixtures/clients/defaults.go.yaml"
echo "   (a Go client on http.DefaultTransport; exit code 1: it can overflow the sidecar)"
"$bin" check fixtures/reviews.yaml --host reviews -n bookinfo --client fixtures/clients/defaults.go.yaml || true
echo
echo "== sidecar-tuner plan fixtures/reviews.yaml --host reviews -n bookinfo --emit go"
"$bin" plan fixtures/reviews.yaml --host reviews -n bookinfo --emit go
