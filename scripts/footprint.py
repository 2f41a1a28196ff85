#!/usr/bin/env python3
"""Footprint of a person's node: release binary size, time from start to serving
(with a key file, then with a passphrase, whose Argon2id is reported apart), and an
idle node's resident memory and wake-ups per second.

Usage: cargo build --release -p passport-cli && scripts/footprint.py [IDLE_SECONDS]

Linux only (reads /proc). Prints one line per number; docs/BENCHMARKS.md quotes them.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "passport")
PASSPHRASE = "correct horse battery staple"
RUNS = 5


def passport(home, *args, env=None):
    full = dict(os.environ, **(env or {}))
    full.pop("RUST_LOG", None)
    return subprocess.run(
        [BINARY, "--home", home, *args],
        check=True, capture_output=True, text=True, env=full,
    )


def serving(home, env=None):
    """Starts `passport node`; returns (process, seconds until /v1/status answers)."""
    addr_file = os.path.join(home, "api.addr")
    if os.path.exists(addr_file):
        os.remove(addr_file)
    token = open(os.path.join(home, "api.token")).read().strip() if os.path.exists(
        os.path.join(home, "api.token")) else None
    full = dict(os.environ, **(env or {}))
    start = time.perf_counter()
    process = subprocess.Popen(
        [BINARY, "--home", home, "node", "--no-mdns",
         "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full,
    )
    while True:
        if os.path.exists(addr_file):
            addr = open(addr_file).read().strip()
            token = token or open(os.path.join(home, "api.token")).read().strip()
            request = urllib.request.Request(
                f"http://{addr}/v1/status", headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=1) as response:
                    json.load(response)
                    return process, time.perf_counter() - start
            except OSError:
                pass
        if process.poll() is not None:
            raise SystemExit(f"the node exited with {process.returncode}")
        time.sleep(0.002)


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def context_switches(pid):
    """Voluntary and involuntary context switches of every thread: each is a wake-up."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            for line in open(f"/proc/{pid}/task/{task}/status"):
                if "ctxt_switches" in line:
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total, len(os.listdir(f"/proc/{pid}/task"))


def main():
    idle_seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    if not os.path.exists(BINARY):
        raise SystemExit("build it first: cargo build --release -p passport-cli")
    size = os.path.getsize(BINARY)
    stripped = os.path.join(tempfile.mkdtemp(), "passport")
    shutil.copy(BINARY, stripped)
    if shutil.which("strip"):
        subprocess.run(["strip", stripped], check=True)
    print(f"release binary: {size / 1e6:.1f} MB ({os.path.getsize(stripped) / 1e6:.1f} MB stripped)")

    with tempfile.TemporaryDirectory() as tmp:
        keyfile = os.path.join(tmp, "keyfile")
        passport(keyfile, "init", "--no-passphrase")
        passport(keyfile, "set", "name.given", "Ada")
        times = []
        for _ in range(RUNS):
            process, seconds = serving(keyfile)
            times.append(seconds)
            stop(process)
        print(f"start to serving, key file: median {statistics.median(times) * 1000:.0f} ms "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {RUNS} runs)")

        locked = os.path.join(tmp, "passphrase")
        env = {"PASSPORT_PASSPHRASE": PASSPHRASE}
        passport(locked, "init", env=env)
        with_kdf = []
        for _ in range(RUNS):
            process, seconds = serving(locked, env)
            with_kdf.append(seconds)
            stop(process)
        kdf = statistics.median(with_kdf) - statistics.median(times)
        print(f"start to serving, passphrase: median {statistics.median(with_kdf) * 1000:.0f} ms, "
              f"of which the Argon2id KDF (64 MiB, t=3) is about {kdf * 1000:.0f} ms")

        process, _ = serving(keyfile)
        time.sleep(10)  # past start-up work (bootstrap, first publish)
        rss_before = rss_kib(process.pid)
        switches_before, threads = context_switches(process.pid)
        time.sleep(idle_seconds)
        switches_after, _ = context_switches(process.pid)
        rss_after = rss_kib(process.pid)
        stop(process)
        rate = (switches_after - switches_before) / idle_seconds
        print(f"idle node: {rss_after / 1024:.1f} MiB resident (was {rss_before / 1024:.1f} MiB "
              f"{idle_seconds} s earlier), {threads} threads, {rate:.1f} wake-ups/s "
              f"(context switches of all threads over {idle_seconds} s)")


if __name__ == "__main__":
    main()
