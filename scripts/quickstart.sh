#!/usr/bin/env bash
# Sets up (Envoy into .venv), builds sidecar-tuner, and runs it on the bundled examples:
# check, plan, a mesh export resolved as Istio's control plane does, a client's settings checked
# against the rule, and the side-by-side bench of a
# default and the tuned client through a real local Envoy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked --quiet
bin=target/release/sidecar-tuner
echo "== sidecar-tuner check fixtures/reviews.yaml fixtures/circuit-breaker.yaml --host reviews -n bookinfo"
"$bin" check fixtures/reviews.yaml fixtures/circuit-breaker.yaml --host reviews -n bookinfo
echo
echo "== sidecar-tuner plan fixtures/reviews.yaml --host reviews -n bookinfo --subset v2"
"$bin" plan fixtures/reviews.yaml --host reviews -n bookinfo --subset v2
echo
echo "== sidecar-tuner check fixtures/mesh/bookinfo-export.yaml --host reviews -n bookinfo"
echo "   (a mesh export: MeshConfig in the istio ConfigMap, a Service with two ports, rules Istio merges)"
"$bin" check fixtures/mesh/bookinfo-export.yaml --host reviews -n bookinfo
echo
echo "== sidecar-tuner plan fixtures/mesh/bookinfo-export.yaml --host reviews.bookinfo.svc.cluster.local -n jobs"
echo "   (a workload-selector rule in jobs hides bookinfo's rule from the other workloads there)"
"$bin" plan fixtures/mesh/bookinfo-export.yaml --host reviews.bookinfo.svc.cluster.local -n jobs
echo
echo "== sidecar-tuner check fixtures/reviews.yaml --host reviews -n bookinfo --client fixtures/clients/defaults.go.yaml"
echo "   (a Go client on http.DefaultTransport; exit code 1: it can overflow the sidecar)"
"$bin" check fixtures/reviews.yaml --host reviews -n bookinfo --client fixtures/clients/defaults.go.yaml || true
echo
echo "== sidecar-tuner plan fixtures/reviews.yaml --host reviews -n bookinfo --emit go"
"$bin" plan fixtures/reviews.yaml --host reviews -n bookinfo --emit go
echo
echo "== sidecar-tuner bench --dr fixtures/circuit-breaker.yaml --host httpbin --concurrency 3 --requests 300"
echo "   (Istio's circuit-breaking task rule through a real Envoy: 1 connection, 1 pending)"
"$bin" bench --dr fixtures/circuit-breaker.yaml --host httpbin --concurrency 3 --requests 300
