"""Storage: keys cannot leave the root, writes land whole, and what killed writers left behind
is swept when the API starts (never a live upload)."""

from __future__ import annotations

import os
import time

import pytest

from cinestage.service.api import create_app
from cinestage.service.storage import Storage, StorageError, TooLarge
from cinestage.settings import Settings

HOUR = 3600


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_keys_that_could_leave_the_root_are_refused(tmp_path):
    store = Storage(str(tmp_path / "files"))
    for key in ("../x", "/etc/passwd", "a/../../b", "..", "a\\b", "", "a/\x00b"):
        with pytest.raises(StorageError):
            store.path(key)


def test_an_upload_over_the_limit_leaves_nothing(tmp_path):
    store = Storage(str(tmp_path / "files"))
    with pytest.raises(TooLarge):
        store.put_stream("u/videos/v/big.mp4", [b"x" * 600] * 3, max_bytes=1000)
    assert not [f for _, _, fs in os.walk(tmp_path) for f in fs]


def test_the_api_sweeps_old_leftovers_but_not_live_writes(tmp_path):
    root = tmp_path / "files"
    store = Storage(str(root))
    store.put_stream("u/tasks/t/best.mp4", [b"whole"])
    old_partial = root / "u/tasks/t/.best.1a2b3c4d.partial.mp4"
    live_partial = root / "u/tasks/t/.programme.5e6f7a8b.partial.mp4"
    old_staging, live_staging = root / "staging/v-old", root / "staging/v-live"
    for f in (old_partial, live_partial, old_staging / "upload/clip.mp4", live_staging / "upload/clip.mp4"):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"half")
    _age(old_partial, 2 * HOUR)
    _age(old_staging, 2 * HOUR)
    create_app(Settings(data_dir=str(tmp_path)))
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == ["staging/v-live/upload/clip.mp4", "u/tasks/t/.programme.5e6f7a8b.partial.mp4", "u/tasks/t/best.mp4"]
