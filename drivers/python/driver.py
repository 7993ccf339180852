"""Sends a bounded burst of GETs with httpx, aiohttp or urllib3, built from an emitted settings
file (or the library's defaults), and prints one JSON line of counts and latencies.

See drivers/README.md for the arguments and the output."""

import argparse
import asyncio
import json
import sys
import threading
import time

import yaml


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--library", required=True, choices=["httpx", "aiohttp", "urllib3"])
    p.add_argument("--url", required=True)
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--time-limit", type=float, required=True)
    p.add_argument("--settings")
    p.add_argument("--warmup", type=int, default=0)
    return p.parse_args()


class Settings:
    """The file's keys; `take` marks a key applied, `check` refuses the keys left over."""

    def __init__(self, path, library):
        self.values = {}
        if path:
            with open(path, encoding="utf-8") as f:
                self.values = yaml.safe_load(f) or {}
            if self.values.pop("library", library) != library:
                sys.exit(f"{path} is not a {library} settings file")
        self.used = set()

    def __contains__(self, key):
        return key in self.values

    def take(self, key, default=None):
        self.used.add(key)
        return self.values.get(key, default)

    def kwargs(self, *keys):
        return {k: self.take(k) for k in keys if k in self.values}

    def check(self):
        left = set(self.values) - self.used
        if left:
            sys.exit(f"the driver does not apply {sorted(left)}")


class Tally:
    def __init__(self):
        self.ok_us = []
        self.overflow = 0
        self.errors = 0
        self.lock = threading.Lock()

    def record(self, status, overloaded, began):
        """Counts an answer; a 2xx with its latency from `began` in whole microseconds."""
        elapsed_us = max(1, int((time.monotonic() - began) * 1e6))
        with self.lock:
            if 200 <= status < 300:
                self.ok_us.append(elapsed_us)
            elif status == 503 and overloaded == "true":
                self.overflow += 1
            else:
                self.errors += 1

    def report(self, elapsed):
        """The bench reads the quantiles from the latencies, as for its own clients."""
        return {
            "ok_us": self.ok_us,
            "overflow": self.overflow,
            "errors": self.errors,
            "elapsed_s": elapsed,
        }


class Work:
    """Hands out the burst's requests until they or the time run out."""

    def __init__(self, requests, time_limit):
        self.left = requests
        self.time_limit = time_limit
        self.lock = threading.Lock()
        self.start()

    def start(self):
        """Every caller is ready to send now: its first request is timed from here."""
        self.started = time.monotonic()
        self.deadline = self.started + self.time_limit

    def next(self):
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


def httpx_client(s):
    import httpx

    # httpx's own defaults (httpx/_config.py) for what the file leaves out.
    d = httpx._config.DEFAULT_LIMITS
    limits = httpx.Limits(
        max_connections=s.take("max_connections", d.max_connections),
        max_keepalive_connections=s.take(
            "max_keepalive_connections", d.max_keepalive_connections
        ),
        keepalive_expiry=s.take("keepalive_expiry", d.keepalive_expiry),
    )
    if "timeout.connect" in s:
        # Callers beyond the bound wait for a connection (pool=None), as the snippet does.
        timeout = httpx.Timeout(5.0, connect=s.take("timeout.connect"), pool=None)
    else:
        timeout = httpx._config.DEFAULT_TIMEOUT_CONFIG
    return httpx.AsyncClient(limits=limits, timeout=timeout, http2=s.take("http2", False))


async def run_httpx(args, s, phases):
    client = httpx_client(s)
    s.check()

    async def caller(work, tally):
        began = work.started
        while work.next():
            try:
                r = await client.get(args.url)
                tally.record(r.status_code, r.headers.get("x-envoy-overloaded"), began)
            except Exception:  # noqa: BLE001 - every failure is counted
                tally.record(0, None, began)
            began = time.monotonic()

    async with client:
        for work, tally in phases():
            await asyncio.gather(*(caller(work, tally) for _ in range(args.concurrency)))


async def run_aiohttp(args, s, phases):
    import aiohttp

    connector = aiohttp.TCPConnector(
        **s.kwargs("limit", "limit_per_host", "keepalive_timeout", "force_close")
    )
    session_kw = {}
    if "timeout.sock_connect" in s:
        session_kw["timeout"] = aiohttp.ClientTimeout(
            total=300, sock_connect=s.take("timeout.sock_connect")
        )
    s.check()

    async def caller(session, work, tally):
        began = work.started
        while work.next():
            try:
                async with session.get(args.url) as r:
                    await r.read()
                    tally.record(r.status, r.headers.get("x-envoy-overloaded"), began)
            except Exception:  # noqa: BLE001
                tally.record(0, None, began)
            began = time.monotonic()

    async with aiohttp.ClientSession(connector=connector, **session_kw) as session:
        for work, tally in phases():
            await asyncio.gather(
                *(caller(session, work, tally) for _ in range(args.concurrency))
            )


def run_urllib3(args, s, phases):
    import urllib3

    kw = s.kwargs("maxsize", "block", "num_pools")
    if "timeout.connect" in s:
        kw["timeout"] = urllib3.Timeout(connect=s.take("timeout.connect"))
    if "retries.status" in s:
        # The Retry the snippet writes: idempotent requests answered 503, nothing else.
        kw["retries"] = urllib3.Retry(
            total=None,
            connect=0,
            read=0,
            other=0,
            redirect=3,
            status=s.take("retries.status"),
            status_forcelist=[503],
            backoff_factor=0.025,
            raise_on_status=False,
        )
    http = urllib3.PoolManager(**kw)
    s.check()

    def caller(go, work, tally):
        go.wait()
        began = work.started
        while work.next():
            try:
                r = http.request("GET", args.url)
                tally.record(r.status, r.headers.get("x-envoy-overloaded"), began)
            except Exception:  # noqa: BLE001
                tally.record(0, None, began)
            began = time.monotonic()

    for work, tally in phases():
        # The threads are started first and released together: starting one is the driver's
        # work, not the client's.
        go = threading.Event()
        threads = [
            threading.Thread(target=caller, args=(go, work, tally))
            for _ in range(args.concurrency)
        ]
        for t in threads:
            t.start()
        work.start()
        go.set()
        for t in threads:
            t.join()
    http.clear()


def main():
    args = parse_args()
    s = Settings(args.settings, args.library)
    tally = Tally()
    burst = Work(args.requests, args.time_limit)

    def phases():
        """A warm-up with the same client, not counted, then the burst; timed from its start."""
        if args.warmup > 0:
            yield Work(args.warmup, args.time_limit), Tally()
            # Tell the bench, which reads Envoy's counters now, and wait for its go.
            print("warm", flush=True)
            sys.stdin.readline()
        burst.start()
        yield burst, tally

    if args.library == "httpx":
        asyncio.run(run_httpx(args, s, phases))
    elif args.library == "aiohttp":
        asyncio.run(run_aiohttp(args, s, phases))
    else:
        run_urllib3(args, s, phases)
    print(json.dumps(tally.report(time.monotonic() - burst.started)))


if __name__ == "__main__":
    main()
