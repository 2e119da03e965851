"""The fan-out of a task's per-camera work: one process versus the local process pool.

The work is what `cinestage worker` fans out for a demo task: the duet through four cameras
(wide, two-shot, orbit, dolly), each camera group rendered in one engine pass and every camera
measured (shot rules and image quality, cached as <name>.scores.json), split into as many
camera groups as the pool has workers (`task_job.camera_groups`, `task_job.render_group_job`).

- serial:   the groups one after another in ONE worker process that may use every core for its
            own threads (llvmpipe's render threads, OpenMP): what one process gets (the reference);
- serial-1: the same, the process held to one thread per pool (as each pool child is): the
            pool's parallel efficiency, for information;
- pool:     the same groups through `ProcessExecutor(workers=2)`, each child held to its share of
            the cores (LP_NUM_THREADS=1, OMP_NUM_THREADS=1) so the two do not oversubscribe.

Each runs in a warm pool (a worker keeps its pool between tasks; one untimed run first), the
median of --runs timed runs. Also printed: the CPU seconds its processes used per timed run and
how many cores that kept busy, and the machine's load average (other jobs may share the cores:
a pool cannot gain on cores it does not get). Last line:
`fan_out serial_s S pool_s P ratio S/P` (target >= 1.7 on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cinestage.pipeline import task_job  # noqa: E402
from cinestage.service.executor import ProcessExecutor  # noqa: E402

CAMERAS = ("wide", "two-shot", "orbit", "dolly")


def cpu_seconds(pool: ProcessExecutor) -> float:
    """User + system CPU seconds the pool's live processes have used (Linux /proc)."""
    total = 0
    for pid in list(pool._pool._processes):  # noqa: SLF001 (a benchmark reading its own pool)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def timed(workers: int, threads: int | None, groups, runs: int) -> tuple[list[float], float, dict]:
    """Wall seconds of each timed run, and the CPU seconds per timed run."""
    with ProcessExecutor(workers=workers, threads=threads) as pool:
        pool.map(task_job.render_group_job, groups)  # warm: children started, modules imported
        times, before = [], cpu_seconds(pool)
        for _ in range(runs):
            started = time.perf_counter()
            results = pool.map(task_job.render_group_job, groups)
            times.append(time.perf_counter() - started)
            files = sorted(p for result in results for p in result)
            assert files == sorted(p for n in CAMERAS for p in task_job.camera_paths(n))
        return times, (cpu_seconds(pool) - before) / runs, pool.env


def line(label: str, times: list[float], cpu: float, how: str) -> str:
    median = statistics.median(times)
    return (f"{label:9s} median {median:5.1f} s of {[round(t, 1) for t in times]}: {how}; "
            f"{cpu:.1f} CPU s per run ({cpu / median:.2f} cores busy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--height", type=int, default=216)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    spec = task_job.TaskSpec("demo", duration=args.duration, presets=CAMERAS, width=args.width, height=args.height)
    plan = task_job.plan(spec)
    groups = task_job.camera_groups(plan, plan.names, -(-len(plan.names) // args.workers))
    cores = os.cpu_count() or 1
    print(f"{len(CAMERAS)} cameras x {plan.performance.n_frames} frames at {args.width}x{args.height}, "
          f"groups {[g.names for g in groups]}, {cores} cores, load average {os.getloadavg()[0]:.2f}")
    serial, serial_cpu, _ = timed(1, cores, groups, args.runs)
    print(line("serial", serial, serial_cpu, f"1 process, {cores} render threads"))
    fanned, pool_cpu, env = timed(args.workers, None, groups, args.runs)
    threads = int(env["LP_NUM_THREADS"])
    print(line("pool", fanned, pool_cpu, f"{args.workers} processes, {threads} render thread(s) each"))
    single, single_cpu, _ = timed(1, threads, groups, args.runs)
    print(line("serial-1", single, single_cpu, f"1 process, {threads} render thread(s)"))
    s, p = statistics.median(serial), statistics.median(fanned)
    print(f"load average after {os.getloadavg()[0]:.2f}; pool vs serial-1: {statistics.median(single) / p:.2f}x")
    print(f"fan_out serial_s {s:.1f} pool_s {p:.1f} ratio {s / p:.2f}")


if __name__ == "__main__":
    main()
