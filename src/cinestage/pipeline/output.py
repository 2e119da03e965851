"""Output directories that are either complete or absent: built beside the target, then renamed."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from cinestage.errors import CinestageError
from cinestage.files import write_text

MANIFEST = "manifest.json"


@contextmanager
def staged_directory(out: Path):
    """Yields a fresh sibling directory; on success it replaces out, on failure it is removed.

    An existing out is replaced only when it is a previous cinestage output (it has a manifest)
    or empty: a user's unrelated folder is never deleted.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).is_file())):
        raise CinestageError(str(out), "exists and is not a cinestage output; choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CinestageError(str(out), f"cannot create the output folder: {exc.strerror}") from None
    stage = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_json(path: Path, data: dict, indent: int | None = 1) -> Path:
    """Written under a temporary name, then renamed: a reader never sees half a file."""
    return write_text(path, json.dumps(data, indent=indent, separators=None if indent else (",", ":")))
