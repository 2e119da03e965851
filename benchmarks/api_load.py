"""API load: 50 concurrent clients polling a task's status (GET /v1/tasks/{task_id}, a user's
token, SQLite) against `uvicorn --factory cinestage.service.api:create_app`, beside the same
load against a bare FastAPI app with one trivial JSON route (the reference: what uvicorn +
FastAPI cost without auth, database and our bodies).

Two kinds of run of ~10 s each, each repeated (--repeat, default 3; the median is reported, every
run is printed: on a shared 2-core machine one scheduler stall of a competing job puts all 50
clients' requests of that moment above p99):
- saturated: every client sends its next request as soon as the answer is in; gives the most
  requests/s the service answers (and, by Little's law, a latency of about clients / rate);
- polling: every client polls at a fixed rate, together the target load (50 clients x 10/s =
  500 req/s); gives the latency clients see at that load (its p99 is the one the target means:
  with 50 clients that never pause, no server under ~1000 req/s could have p99 <= 50 ms).

The clients are a lean asyncio HTTP/1.1 keep-alive loop in this process (no HTTP library), so
the load generator takes as little of the machine's CPU as possible from the server.

    python benchmarks/api_load.py [--seconds 10] [--repeat 3] [--clients 50] [--workers 1] [--target 500]

Last line: api_load rps <saturated req/s> p99_ms <p99 at the target polling load>
reference_rps <bare app, saturated> ratio <rps / reference_rps> polling_rps <achieved>
p99_saturated_ms <p99 when saturated>. Targets: rps >= 500, p99_ms <= 50.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastapi import FastAPI

reference_app = FastAPI()


@reference_app.get("/ping")
async def ping() -> dict:
    return {"code": 0, "message": "ok", "data": {"pong": True}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(data_dir: Path, tasks: int) -> tuple[str, list[str]]:
    """A user and a few queued tasks in a fresh SQLite database: (token, task ids)."""
    from cinestage.service.accounts import add_user
    from cinestage.service.db import Task, migrate, sessions
    from cinestage.settings import Settings

    engine = migrate(Settings(data_dir=str(data_dir)).database())
    db = sessions(engine)
    user, token = add_user(db, "bench")
    rows = [Task(task_type="demo", openid=user.openid, camera_parameter='{"duration": 10}', command="cinestage demo")
            for _ in range(tasks)]
    with db.begin() as session:
        session.add_all(rows)
    engine.dispose()
    return token, [t.task_id for t in rows]


def _start(args: list[str], port: int, env: dict, app_dir: Path | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"uvicorn {' '.join(args)} exited with {server.returncode}")
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"uvicorn {' '.join(args)} did not start within 60 s")


async def _client(port: int, requests: list[bytes], stop: float, latencies: list[float], errors: list[str],
                  interval: float | None = None, phase: float = 0.0) -> None:
    """One keep-alive connection: back to back, or one request every `interval` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    due = time.perf_counter() + phase
    try:
        while time.perf_counter() < stop:
            if interval is not None:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due = max(due + interval, time.perf_counter())  # running late: no burst to catch up
            start = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != b"200":
                errors.append(status.decode())
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], clients: int, seconds: float,
                rate: float | None = None) -> tuple[float, float, int]:
    """(requests/s, p99 ms, non-200 answers) of `clients` connections, saturated or at `rate` req/s in all."""
    interval = None if rate is None else clients / rate
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    await asyncio.gather(*(_client(port, requests, start + seconds, latencies, errors, interval,
                                   0.0 if interval is None else interval * i / clients) for i in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000 if latencies else float("nan")
    return len(latencies) / elapsed, p99, len(errors)


def _requests(paths: list[str], headers: dict) -> list[bytes]:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode() for p in paths]


def _measure(apps: dict[str, tuple[int, list[bytes]]], opts) -> dict[str, dict[str, list]]:
    """{app: {"saturated": [(rps, p99, errors) per run], "polling": [...]}}; the apps take turns,
    run by run, so a change in what else the machine does touches them alike."""
    results = {name: {"saturated": [], "polling": []} for name in apps}
    for port, requests in apps.values():
        asyncio.run(_load(port, requests, opts.clients, 1.0))  # warm-up
    for _ in range(opts.repeat):
        for kind, rate in (("saturated", None), ("polling", opts.target)):
            for name, (port, requests) in apps.items():
                results[name][kind].append(asyncio.run(_load(port, requests, opts.clients, opts.seconds, rate)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind; the median is reported")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (both apps)")
    parser.add_argument("--target", type=float, default=500.0, help="req/s of the polling run (all clients together)")
    parser.add_argument("--tasks", type=int, default=5, help="tasks in the database, polled in turn")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cinestage-api-load-") as tmp:
        token, task_ids = _seed(Path(tmp), opts.tasks)
        env = {**os.environ, "CINESTAGE_DATA_DIR": tmp, "OMP_NUM_THREADS": "1"}
        env.pop("CINESTAGE_DATABASE_URL", None)
        env.pop("CINESTAGE_STORAGE_URL", None)
        workers = ["--workers", str(opts.workers)]
        ports = _free_port(), _free_port()
        servers = [_start(["--factory", "cinestage.service.api:create_app", *workers], ports[0], env),
                   _start(["api_load:reference_app", *workers], ports[1], env, Path(__file__).resolve().parent)]
        try:
            results = _measure({"ours": (ports[0], _requests([f"/v1/tasks/{t}" for t in task_ids],
                                                              {"Authorization": f"Bearer {token}"})),
                                "reference": (ports[1], _requests(["/ping"], {}))}, opts)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
        ours, reference = results["ours"], results["reference"]
    print(f"{opts.clients} clients, {opts.seconds:g} s per run, {opts.workers} uvicorn worker(s), SQLite; "
          f"polling runs: {opts.target:g} req/s offered")
    for name, result in (("cinestage GET /v1/tasks/{task_id}", ours), ("reference GET /ping (bare FastAPI)", reference)):
        for kind, runs in result.items():
            for rate, p99, errors in runs:
                print(f"{name:36} {kind:9}: {rate:7.1f} req/s  p99 {p99:6.1f} ms  {errors} non-200")
    median = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731
    rps, p99_saturated = median(ours["saturated"], 0), median(ours["saturated"], 1)
    polling_rps, p99 = median(ours["polling"], 0), median(ours["polling"], 1)
    ref_rps = median(reference["saturated"], 0)
    print(f"medians of {opts.repeat} runs; targets: >= 500 req/s {'met' if rps >= 500 else 'NOT met'}, "
          f"p99 <= 50 ms at {opts.target:g} req/s {'met' if p99 <= 50 else 'NOT met'}")
    print(f"api_load rps {rps:.1f} p99_ms {p99:.1f} reference_rps {ref_rps:.1f} ratio {rps / ref_rps:.2f} "
          f"polling_rps {polling_rps:.1f} p99_saturated_ms {p99_saturated:.1f}")


if __name__ == "__main__":
    main()
