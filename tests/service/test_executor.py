"""Executors: the same map (results in item order, on_result as items land, retries, a failure
that names its item, stopping) over the calling process, a spawn process pool and Ray."""

from __future__ import annotations

import importlib
import sys
import textwrap
import threading

import pytest

from cinestage.errors import CinestageError, VideoError
from cinestage.service import executor as ex
from cinestage.settings import Settings

# Jobs must be importable top-level functions in the pool's children (spawned children get the
# parent's sys.path), so they live in a module written for the test session.
JOBS = textwrap.dedent('''
    import os
    from pathlib import Path

    from cinestage.errors import VideoError

    def flaky(item):
        """Fails the first time it sees an item (a marker file remembers), then doubles it."""
        marker, value = item
        if not Path(marker).exists():
            Path(marker).touch()
            raise RuntimeError(f"flaky {value}")
        return value * 2

    def broken(item):
        raise RuntimeError(f"broken {item}")

    def bad_input(item):
        raise VideoError(f"clip-{item}.mp4", "not a video")

    def crash_once(item):
        """Kills its process the first time (a native crash), then works."""
        marker, value = item
        if not Path(marker).exists():
            Path(marker).touch()
            os._exit(3)
        return value + 1

    def threads(item):
        return os.environ.get("LP_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS")
''')


@pytest.fixture(scope="module")
def worker_jobs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jobs")
    (folder / "cinestage_test_jobs.py").write_text(JOBS)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("cinestage_test_jobs")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("cinestage_test_jobs", None)


@pytest.fixture(scope="module")
def worker_pool():
    with ex.ProcessExecutor(workers=2, retries=2) as pool:
        yield pool


def items(tmp_path, n: int = 4):
    return [(str(tmp_path / f"marker-{k}"), k) for k in range(n)]


def test_serial_retries_a_flaky_item_and_keeps_item_order(worker_jobs, tmp_path):
    landed = []
    result = ex.SerialExecutor(retries=1).map(worker_jobs.flaky, items(tmp_path), on_result=lambda i, r: landed.append(r))
    assert result == [0, 2, 4, 6] and landed == [0, 2, 4, 6]


def test_an_item_that_fails_every_time_is_named_after_its_retries(worker_jobs):
    with pytest.raises(ex.ItemFailed, match=r"^7 failed after 3 attempt\(s\): RuntimeError: broken 7") as info:
        ex.SerialExecutor(retries=2).map(worker_jobs.broken, [7])
    assert info.value.item == "7" and info.value.attempts == 3 and isinstance(info.value.cause, RuntimeError)


def test_a_fatal_error_is_not_retried(worker_jobs):
    with pytest.raises(ex.ItemFailed, match="after 1 attempt") as info:
        ex.SerialExecutor(retries=5, fatal=(CinestageError,)).map(worker_jobs.bad_input, ["x"])
    assert isinstance(info.value.cause, VideoError) and info.value.cause.source == "clip-x.mp4"


def test_stop_lets_running_items_land_and_starts_no_more(worker_jobs, tmp_path):
    stop, landed = threading.Event(), []

    def on_result(item, result):
        landed.append(result)
        stop.set()

    with pytest.raises(ex.Stopped, match="3 of 4"):
        ex.SerialExecutor().map(worker_jobs.flaky, [(str(tmp_path), k) for k in range(4)], on_result, stop)
    assert landed == [0]


def test_a_set_stop_runs_nothing():
    stop = threading.Event()
    stop.set()
    with pytest.raises(ex.Stopped):
        ex.SerialExecutor().map(abs, [-1, 2], stop=stop)
    assert ex.SerialExecutor().map(abs, [], stop=stop) == []


def test_process_pool_retries_flaky_items(worker_jobs, worker_pool, tmp_path):
    landed = []
    assert worker_pool.map(worker_jobs.flaky, items(tmp_path), on_result=lambda i, r: landed.append(i[1])) == [0, 2, 4, 6]
    assert sorted(landed) == [0, 1, 2, 3]


def test_process_pool_names_the_failing_item_with_the_childs_error(worker_jobs, worker_pool):
    with pytest.raises(ex.ItemFailed, match="^5 failed after 3 attempt") as info:
        worker_pool.map(worker_jobs.broken, [5])
    assert str(info.value.cause) == "broken 5"
    # A cinestage error crosses the process boundary as itself.
    with pytest.raises(ex.ItemFailed) as info:
        ex.ProcessExecutor(workers=1, retries=0).map(worker_jobs.bad_input, ["y"])
    assert isinstance(info.value.cause, VideoError) and info.value.cause.problem == "not a video"


def test_map_each_runs_every_item_once_in_order_and_raises_its_own_error(worker_jobs, tmp_path):
    landed = []
    assert ex.map_each(abs, [-3, 1, -2], on_result=lambda i, r: landed.append(r)) == [3, 1, 2] and landed == [3, 1, 2]
    assert ex.map_each(abs, [-3, 1, -2], workers=2) == [3, 1, 2]
    # Not run again: the flaky job fails on its first sight of each item, and that failure is final.
    for workers in (1, 2):
        with pytest.raises(RuntimeError, match="^flaky 0$"):
            ex.map_each(worker_jobs.flaky, [(str(tmp_path / f"once-{workers}"), 0)], workers=workers)
    with pytest.raises(VideoError, match="clip-z.mp4"):
        ex.map_each(worker_jobs.bad_input, ["z"], workers=2)


def test_process_pool_survives_a_child_that_dies(worker_jobs, tmp_path):
    with ex.ProcessExecutor(workers=1, retries=1) as pool:
        assert pool.map(worker_jobs.crash_once, [(str(tmp_path / "m"), 1)]) == [2]
        assert pool.map(worker_jobs.crash_once, [(str(tmp_path / "m"), 5)]) == [6]


def test_pool_children_hold_their_thread_pools_to_their_share(worker_jobs, worker_pool):
    expected = str(max(1, (__import__("os").cpu_count() or 1) // 2))
    assert set(worker_pool.map(worker_jobs.threads, [0, 1])) == {(expected, expected)}


def test_executor_for_picks_by_name_or_settings(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert isinstance(ex.executor_for("auto"), ex.ProcessExecutor)
    assert isinstance(ex.executor_for(None, workers=3), ex.ProcessExecutor) and ex.executor_for(None, 3).workers == 3
    assert isinstance(ex.executor_for(Settings(executor="serial")), ex.SerialExecutor)
    with pytest.raises(CinestageError, match="executor: must be one of"):
        ex.executor_for("threads")


@pytest.fixture(scope="module")
def worker_ray():
    pytest.importorskip("ray", reason="ray is not installed")
    try:
        executor = ex.RayExecutor(num_cpus=2, retries=1)
    except Exception as exc:  # no room for a local Ray here (shared memory, ports): say why
        pytest.skip(f"a local Ray could not start: {type(exc).__name__}: {exc}")
    try:
        yield executor
    finally:
        executor.close()


def test_ray_runs_a_map_and_names_a_failing_item(worker_ray):
    import math

    landed = []
    assert worker_ray.map(abs, [-3, 4, -5], on_result=lambda i, r: landed.append(r)) == [3, 4, 5]
    assert sorted(landed) == [3, 4, 5] and worker_ray.workers >= 1
    with pytest.raises(ex.ItemFailed, match=r"^-1 failed after 2 attempt\(s\): ValueError") as info:
        worker_ray.map(math.sqrt, [4.0, -1])
    assert isinstance(info.value.cause, ValueError)


def test_ray_runs_the_real_camera_group_job(worker_ray, tmp_path):
    from cinestage.pipeline import task_job

    plan = task_job.plan(task_job.TaskSpec("demo", duration=2.0, presets=("wide", "orbit"), width=128, height=72))
    groups = task_job.camera_groups(plan, plan.names, 1)
    results = worker_ray.map(task_job.render_group_job, groups)
    for group, files in zip(groups, results):
        assert list(files) == task_job.camera_paths(group.names[0])
        task_job.write_files(files, tmp_path)
    present = [p.relative_to(tmp_path).as_posix() for p in (tmp_path / "cameras").iterdir()]
    assert task_job.finished_cameras(plan.names, present) == list(plan.names)
