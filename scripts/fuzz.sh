#!/usr/bin/env bash
# Runs each coverage-guided fuzz target (fuzz/fuzz_targets) for a bounded time with cargo-fuzz
# (libFuzzer), seeded from the project's fixtures. Needs a nightly toolchain (rustup toolchain
# list) and cargo-fuzz (installed here if missing). Inputs that crash land in
# fuzz/artifacts/TARGET/; copy them to fuzz/regressions/TARGET/ so that `cargo test` keeps them.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(load duration client_settings)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
for target in "${targets[@]}"; do
  dict=()
  case $target in
    load) seeds=(fixtures fixtures/istio-corpus fixtures/codes fixtures/bad); dict=(-dict=load.dict) ;;
    duration) seeds=(fuzz/seeds/duration) ;;
    client_settings) seeds=(fixtures/clients) ;;
    *) echo "unknown target $target (load, duration, client_settings)" >&2; exit 2 ;;
  esac
  mkdir -p "fuzz/corpus/$target"
  (cd fuzz && cargo +nightly fuzz run -O "$target" "corpus/$target" "${seeds[@]/#/../}" \
    -- "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -timeout=10)
done
