"""Reads at scale: the same requests against 1,000 and against 1,000,000 contacts, in one run.

    .venv/bin/python benchmarks/scale.py [--contacts 1000000] [--database sqlite|postgresql]

Both databases are loaded with ``openrespond contacts import`` (its rate is reported), then
each scenario (GET by id, by email, by phone, and a list page deep in the cursor) alternates
slices against the small and the large server, so the machine's drift touches both alike.
The ratio is requests/s at 1,000 contacts over requests/s at the large count (target: at most
1.3), and the large server's resident memory is sampled throughout (target: under 200 MB).
The bare ASGI reference is measured too, for scale. Results go to
benchmarks/results/scale-<database>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from run import HERE, Store, free_port, lua, wait, wrk

TOKEN = "benchmark-demo-token-0123456789"
SMALL = 1000


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn runs the app in-process)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            text = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        m = re.search(r"VmRSS:\s+(\d+) kB", text)
        total += int(m.group(1)) if m else 0
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def openrespond(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "openrespond", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def prepare(store: Store, source: Path, count: int) -> tuple[dict[str, str], str]:
    """A database with the demo workspace and the first ``count`` contacts of ``source``."""
    env = {**os.environ, "OPENRESPOND_DATABASE_URL": store.url, "OPENRESPOND_DEMO_TOKEN": TOKEN}
    openrespond(env, "demo")
    part = source
    if count < _lines(source):
        part = source.with_name(f"first-{count}.jsonl")
        with source.open() as src, part.open("w") as dst:
            for i, line in enumerate(src):
                if i >= count:
                    break
                dst.write(line)
    # The demo workspace is 1; its few demo contacts have other emails and phones.
    report = openrespond(env, "contacts", "import", str(part), "-w", "1", "-q")
    return env, report.strip().splitlines()[-1]


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def id_range(store: Store) -> tuple[int, int]:
    lo, hi = store.rows("SELECT MIN(id), MAX(id) FROM contacts WHERE email LIKE 'user%'")[0]
    return int(lo), int(hi)


def scripts(lo: int, hi: int, count: int) -> dict[str, str]:
    auth = f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\nwrk.headers["Content-Type"] = "application/json"\n'
    phone = (
        "local function phone(i) if i < 100000 then"
        ' return "+4477009" .. string.format("%05d", i)'
        ' else return "+6012" .. string.format("%07d", i) end end\n'
    )
    return {
        "get_by_id": lua(
            auth
            + f'request = function() return wrk.format("GET", "/v2/contact/id:" .. math.random({lo}, {hi})) end\n'
        ),
        "get_by_email": lua(
            auth
            + f'request = function() return wrk.format("GET", "/v2/contact/email:user" .. math.random(0, {count - 1}) .. "@example.com") end\n'
        ),
        "get_by_phone": lua(
            auth
            + phone
            + f'request = function() return wrk.format("GET", "/v2/contact/phone:" .. phone(math.random(0, {count - 1}))) end\n'
        ),
        # the last pages of the list: the cursor is as deep as the data goes
        "list_deep": lua(
            auth
            + f'request = function() return wrk.format("POST", "/v2/contact/list?limit=100&cursorId=" .. math.random({max(lo, hi - 300)}, {hi - 150}), nil, "{{}}") end\n'
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=4, help="length of one slice")
    parser.add_argument("--slices", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="openrespond-scale-"))
    source = work / "contacts.jsonl"
    subprocess.run(
        [sys.executable, str(HERE / "contacts_file.py"), str(args.contacts), str(source)],
        check=True,
    )

    def store(name: str) -> Store:
        if args.database == "postgresql":
            return Store(f"{args.postgres_url}?schema=scale_{name}_{os.getpid()}")
        return Store(f"sqlite:///{work / name}.db")

    small, large = store("small"), store("large")
    results: dict[str, object] = {"database": args.database, "contacts": args.contacts}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _, small_report = prepare(small, source, SMALL)
        t0 = time.monotonic()
        _, large_report = prepare(large, source, args.contacts)
        print(f"small: {small_report}")
        print(f"large: {large_report} ({time.monotonic() - t0:.0f} s with the demo set-up)")
        results["import"] = large_report
        ports = {"ref": free_port(), "small": free_port(), "large": free_port()}
        uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
        procs.append(
            subprocess.Popen(
                [*uvicorn, "--app-dir", str(HERE), "--port", str(ports["ref"]), "reference:app"]
            )
        )
        # Their log lines go to a file, as a deployment's would go to its journal (as run.py).
        server_log = (work / "servers.log").open("ab")
        for name, st in (("small", small), ("large", large)):
            env = {
                **os.environ,
                "OPENRESPOND_DATABASE_URL": st.url,
                "OPENRESPOND_DEMO_TOKEN": TOKEN,
                "OPENRESPOND_RATE_LIMIT_PER_SECOND": "0",
                "OPENRESPOND_PORT": str(ports[name]),
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "openrespond", "serve", "--demo"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=server_log,
                )
            )
        for port in ports.values():
            wait(f"http://127.0.0.1:{port}/")
        large_pid = procs[2].pid
        peak = [rss_mb(large_pid)]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.2):
                peak.append(rss_mb(large_pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        kw = {"seconds": args.seconds, "connections": args.connections}
        ref = wrk(f"http://127.0.0.1:{ports['ref']}/", None, **kw)
        results["reference_rps"] = ref["rps"]
        slo, shi = id_range(small)
        llo, lhi = id_range(large)
        small_scripts = scripts(slo, shi, SMALL)
        large_scripts = scripts(llo, lhi, args.contacts)
        print(
            f"\n{'scenario':<14}{'1k req/s':>10}{'large req/s':>13}{'ratio':>8}{'range':>14}"
            f"{'p99 1k':>9}{'p99 large':>11}{'non-2xx':>9}"
        )
        for name in small_scripts:
            ratios, s_runs, l_runs = [], [], []
            for _ in range(args.slices):
                s = wrk(f"http://127.0.0.1:{ports['small']}", small_scripts[name], **kw)
                big = wrk(f"http://127.0.0.1:{ports['large']}", large_scripts[name], **kw)
                ratios.append(s["rps"] / big["rps"])
                s_runs.append(s)
                l_runs.append(big)
            row = {
                "small_rps": statistics.median(r["rps"] for r in s_runs),
                "large_rps": statistics.median(r["rps"] for r in l_runs),
                "ratio": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
                "small_p99_ms": statistics.median(r["p99_ms"] for r in s_runs),
                "large_p99_ms": statistics.median(r["p99_ms"] for r in l_runs),
                "non_2xx": sum(r["non_2xx"] for r in s_runs + l_runs),
            }
            results[name] = row
            print(
                f"{name:<14}{row['small_rps']:>10.0f}{row['large_rps']:>13.0f}{row['ratio']:>8.2f}"
                f"{row['ratio_min']:>7.2f}-{row['ratio_max']:.2f}"
                f"{row['small_p99_ms']:>9.2f}{row['large_p99_ms']:>11.2f}{row['non_2xx']:>9.0f}"
            )
        sampling.set()
        sampler.join()
        results["large_server_rss_peak_mb"] = max(peak)
        print(
            f"\nreference {ref['rps']:.0f} req/s; large server's peak RSS {max(peak):.0f} MB"
            " (target < 200 MB); ratio target <= 1.3"
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        small.drop()
        large.drop()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"scale-{args.database}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
