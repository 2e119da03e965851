"""`cinestage serve` stopped with SIGTERM (systemd, docker stop) stops the workers it started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from service_support import free_port


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_sigterm_stops_the_server_and_its_local_worker(tmp_path):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    serve = subprocess.Popen([sys.executable, "-m", "cinestage", "serve", "--port", str(port), "--data-dir",
                              str(tmp_path / "data")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        for _ in range(120):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        workers = _children(serve.pid)
        assert len(workers) == 1  # --local-workers defaults to 1
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=90) == 0
        deadline = time.monotonic() + 60
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        # Before the fix, uvicorn's re-raised SIGTERM ended serve before it stopped the worker.
        assert not any(_alive(w) for w in workers)
    finally:
        serve.kill()
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
