#!/usr/bin/env bash
# Instructions per request of bare reqwest (reading each body with `bytes()`, and chunk by chunk
# as the AlignedClient's `Response::bytes` does) and of the AlignedClient (with overload retries
# and without them, `overload_retries(0)`), counted by callgrind: the client bench's `--only` mode
# run with 4,000 and 8,000 requests, the difference divided by 4,000 (setup cancels out), for
# requests without headers and with one. Unlike throughput on a shared VM, the count repeats to
# within a tenth of a percent, so it shows changes of the per-request path far below the timing
# noise. It counts work, not time: cache misses, contention between threads and waiting are not
# in it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind > /dev/null || { echo "valgrind is needed (Debian: apt-get install valgrind)" >&2; exit 1; }
bench=$(cargo bench --bench client --no-run --message-format=json 2> /dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m.get("target", {}).get("name") == "client":
        print(m["executable"])')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { # client requests [--header]
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bench" --only "$1" --requests "$2" \
        ${3:+"$3"} 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
# Each request as the bench sends it (a GET without headers), then with an `x-request-id`.
for header in "" --header; do
    echo "requests${header:+ with an x-request-id header}:"
    declare -A per_request
    for client in bare bare-chunked aligned aligned-no-retry; do
        small=$(count "$client" 4000 "$header")
        large=$(count "$client" 8000 "$header")
        per_request[$client]=$(( (large - small) / 4000 ))
        echo "  $client: ${per_request[$client]} instructions per request"
    done
    python3 -c "print(f'  AlignedClient / bare: {${per_request[aligned]} / ${per_request[bare]}:.3f}x the instructions per request; admission itself (against bare-chunked): {${per_request[aligned]} - ${per_request[bare-chunked]}}; overload retries: {${per_request[aligned]} - ${per_request[aligned-no-retry]}} per request')"
done
