"""Fan-out of a task's per-camera work: the same `map` over a local process pool, a Ray
cluster, or (tests, one core) the calling process.

    executor.map(fn, items, on_result=None, stop=None) -> list of fn(item), in item order

`fn` must be a top-level function and `items` picklable (they cross into other processes, or
other machines). At most `workers` items run at once; `on_result(item, result)` is called in
the caller's thread as each item finishes (a worker uploads a camera group's files the moment
they exist). An item that raises is run again, up to `retries` more times, unless its error is
one of `fatal` (a bad input fails the same way every time); then `ItemFailed` names the item
and carries the last error as `cause`. When `stop` (a threading.Event) is set, no new item
starts; those running finish and are reported, then `Stopped` is raised.

Executors:
- `ProcessExecutor`: a `concurrent.futures` process pool with the 'spawn' start method
  (Panda3D's and torch's threads do not survive fork), `os.cpu_count()` workers by default. Each
  child limits its thread pools (llvmpipe's LP_NUM_THREADS, OpenMP/BLAS) to its share of the
  cores, so N children on N cores do not oversubscribe. A child that dies (a crash in native
  code) breaks the pool: a fresh pool runs the items again, counted as retries.
- `RayExecutor`: the same work as Ray tasks. With RAY_ADDRESS (or `address`) set it joins that
  cluster, else it starts a private local Ray with `num_cpus` CPUs (no dashboard). Ray re-runs a
  task whose worker process or node died (`max_retries`); exceptions are retried here, as above.
- `SerialExecutor`: one item after another in the calling process.

`executor_for("auto")` picks Ray when RAY_ADDRESS is set, else the process pool.

How a second machine joins (every machine needs the same Python, Ray and cinestage versions
installed - `pip install 'cinestage[ray]'` - and network access to the head's ports; a camera
group's files travel back through Ray, so the machines share no disk):

    # machine 1 (the head; it may also run the API: cinestage serve)
    ray start --head --port=6379
    # machine 2, 3, ...: join the cluster with their CPUs (and GPUs)
    ray start --address=HEAD:6379
    # on the head (or any member): a worker whose camera groups run across the cluster
    RAY_ADDRESS=HEAD:6379 cinestage worker     # "auto" picks Ray when RAY_ADDRESS is set

(`--executor ray` without RAY_ADDRESS starts a private Ray on this machine only.)

A worker on a machine without the database can instead speak HTTP to the API:
`cinestage worker --api http://HEAD:8000 --server-id ID --credential C` (`cinestage server add`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Protocol, Sequence

log = logging.getLogger(__name__)

EXECUTORS = ("process", "ray", "serial")
THREAD_VARIABLES = ("LP_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
OnResult = Callable[[Any, Any], None]


class ItemFailed(Exception):
    """An item failed on every attempt (or with a fatal error); `cause` is its last error."""

    def __init__(self, item: str, attempts: int, cause: BaseException):
        self.item, self.attempts, self.cause = item, attempts, cause
        super().__init__(f"{item} failed after {attempts} attempt(s): {type(cause).__name__}: {cause}")

    def __reduce__(self):
        return type(self), (self.item, self.attempts, self.cause)


class Stopped(Exception):
    """`map` was asked to stop: the items that were running finished, the others did not start."""


class Executor(Protocol):
    name: str
    workers: int

    def map(self, fn: Callable, items: Iterable, on_result: OnResult | None = None,
            stop: threading.Event | None = None) -> list: ...

    def close(self) -> None: ...


def label(item: object) -> str:
    text = str(item)
    return text if len(text) <= 200 else text[:197] + "..."


def thread_env(threads: int) -> dict[str, str]:
    """Environment that holds a process's native thread pools to `threads`."""
    return {name: str(max(1, threads)) for name in THREAD_VARIABLES}


class _Done:
    """A finished item of the serial executor: its result or its error."""

    def __init__(self, fn: Callable, item: object):
        self.result, self.error = None, None
        try:
            self.result = fn(item)
        except Exception as exc:  # reported through map's retry policy
            self.error = exc


class _Base:
    """The retry, ordering and stopping policy; subclasses start items and wait for them."""

    name = "base"
    workers = 1

    def __init__(self, retries: int = 2, fatal: Sequence[type[BaseException]] = ()):
        if retries < 0:
            raise ValueError(f"retries must be >= 0, not {retries}")
        self.retries, self.fatal = retries, tuple(fatal)

    def _submit(self, fn: Callable, item: object) -> object:
        raise NotImplementedError

    def _wait(self, handles: list) -> list[tuple[object, Any, BaseException | None]]:
        """At least one finished handle, each with its result or error."""
        raise NotImplementedError

    def _cancel(self, handles: list) -> None:
        pass

    def map(self, fn: Callable, items: Iterable, on_result: OnResult | None = None,
            stop: threading.Event | None = None) -> list:
        items = list(items)
        results: list = [None] * len(items)
        attempts = [0] * len(items)
        pending, running = deque(range(len(items))), {}
        try:
            while pending or running:
                while pending and len(running) < self.workers and not (stop is not None and stop.is_set()):
                    i = pending.popleft()
                    attempts[i] += 1
                    running[self._submit(fn, items[i])] = i
                if not running:
                    raise Stopped(f"stopped with {len(pending)} of {len(items)} item(s) not run")
                for handle, result, error in self._wait(list(running)):
                    i = running.pop(handle)
                    if error is None:
                        results[i] = result
                        if on_result is not None:
                            on_result(items[i], result)
                    elif attempts[i] > self.retries or isinstance(error, self.fatal):
                        raise ItemFailed(label(items[i]), attempts[i], error) from error
                    else:
                        log.warning("%s failed (attempt %d of %d), running it again: %s: %s", label(items[i]),
                                    attempts[i], self.retries + 1, type(error).__name__, error)
                        pending.appendleft(i)
        finally:
            if running:
                self._cancel(list(running))
        return results

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialExecutor(_Base):
    name = "serial"

    def _submit(self, fn: Callable, item: object) -> _Done:
        return _Done(fn, item)

    def _wait(self, handles: list[_Done]):
        return [(h, h.result, h.error) for h in handles]


def _child_init(env: dict[str, str]) -> None:
    os.environ.update(env)


class ProcessExecutor(_Base):
    name = "process"

    def __init__(self, workers: int | None = None, retries: int = 2, fatal: Sequence[type[BaseException]] = (),
                 context: str = "spawn", threads: int | None = None):
        super().__init__(retries, fatal)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.context = multiprocessing.get_context(context)
        self.env = thread_env(threads or max(1, (os.cpu_count() or 1) // self.workers))
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=_child_init, initargs=(self.env,))

    def _submit(self, fn: Callable, item: object) -> Future:
        if self._pool is None:
            self._pool = self._new_pool()
        try:
            return self._pool.submit(fn, item)
        except BrokenProcessPool:
            log.warning("a worker process died; starting a fresh pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(fn, item)

    def _wait(self, handles: list[Future]):
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        return [(f, None if f.exception() else f.result(), f.exception()) for f in done]

    def _cancel(self, handles: list[Future]) -> None:
        for f in handles:
            f.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _apply(fn: Callable, item: object):
    """A Ray task: any callable (functions, builtins) applied to one item."""
    return fn(item)


class RayExecutor(_Base):
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, retries: int = 2,
                 fatal: Sequence[type[BaseException]] = (), threads: int = 1):
        super().__init__(retries, fatal)
        try:
            import ray
        except ModuleNotFoundError:
            from cinestage.errors import CinestageError

            raise CinestageError("executor ray", "Ray is not installed: pip install 'cinestage[ray]'") from None
        self.ray = ray
        address = address or os.environ.get("RAY_ADDRESS") or None
        self._started = not ray.is_initialized()
        if self._started:
            local = {} if address else {"num_cpus": num_cpus or os.cpu_count() or 1}
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": thread_env(threads)}, **local)
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # Ray re-runs a task whose process or node died; exceptions go through map's policy.
        self._apply = ray.remote(max_retries=self.retries, retry_exceptions=False)(_apply)

    def _submit(self, fn: Callable, item: object):
        return self._apply.remote(fn, item)

    def _wait(self, handles: list):
        ready, _ = self.ray.wait(handles, num_returns=1)
        finished = []
        for ref in ready:
            try:
                finished.append((ref, self.ray.get(ref), None))
            except Exception as exc:  # a RayTaskError carries the task's own exception as `cause`
                cause = getattr(exc, "cause", None)
                finished.append((ref, None, cause if isinstance(cause, BaseException) else exc))
        return finished

    def _cancel(self, handles: list) -> None:
        for ref in handles:
            try:
                self.ray.cancel(ref)
            except Exception as exc:  # already finished or gone: nothing to cancel
                log.debug("ray.cancel: %s", exc)

    def close(self) -> None:
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()


def executor_for(choice: object = None, workers: int | None = None, retries: int = 2,
                 fatal: Sequence[type[BaseException]] = ()) -> _Base:
    """An executor by name ("process", "ray", "serial", "auto") or from a Settings' `executor`;
    "auto" (the default) is Ray when RAY_ADDRESS is set, else the process pool."""
    name = getattr(choice, "executor", choice) or "auto"
    if name == "auto":
        name = "ray" if os.environ.get("RAY_ADDRESS") else "process"
    if name == "process":
        return ProcessExecutor(workers, retries, fatal)
    if name == "ray":
        return RayExecutor(num_cpus=workers, retries=retries, fatal=fatal)
    if name == "serial":
        return SerialExecutor(retries, fatal)
    from cinestage.errors import CinestageError

    raise CinestageError("executor", f"must be one of auto, {', '.join(EXECUTORS)}, not {name!r}")


def map_each(fn: Callable, items: Iterable, workers: int = 1, on_result: OnResult | None = None) -> list:
    """fn over items once each, in order: in this process for workers == 1, else in worker
    processes (0: one per core). An item that fails raises its own error, as one process would
    (an evaluation over seeded references has nothing to gain from running one again)."""
    try:
        with SerialExecutor(retries=0) if workers == 1 else ProcessExecutor(workers, retries=0) as executor:
            return executor.map(fn, items, on_result=on_result)
    except ItemFailed as failed:
        raise failed.cause from None
