"""Output directories that are either complete or absent: built beside the target, then renamed."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

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


def read_manifest(out_dir: Path) -> dict:
    """The manifest of a cinestage output folder; a CinestageError naming the folder when it is
    not one (no folder, no manifest, or a manifest that lists no cameras)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise CinestageError(str(out_dir), "no such folder" if not out_dir.exists() else "is not a folder")
    path = out_dir / MANIFEST
    if not path.is_file():
        raise CinestageError(str(out_dir), f"not a cinestage output (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except OSError as exc:
        raise CinestageError(str(path), f"cannot read the manifest: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CinestageError(str(path), f"not a cinestage manifest ({exc})") from None
    if not (isinstance(manifest, dict) and isinstance(manifest.get("performance"), dict)
            and isinstance(manifest.get("cameras"), list) and manifest["cameras"]):
        raise CinestageError(str(path), "not a cinestage render manifest (no performance or no cameras)")
    return manifest


def add_to_manifest(out_dir: Path, files: Iterable[str | Path], **fields) -> dict:
    """`files` (inside out_dir; absolute or relative to it) join the manifest's `files`, and
    `fields` are set on it; the manifest is read again here, so a caller never overwrites what
    another step added since."""
    out_dir = Path(out_dir)
    root = out_dir.resolve()
    names = set()
    for f in files:
        path = (out_dir / f).resolve()
        if path.is_relative_to(root):
            names.add(path.relative_to(root).as_posix())
    manifest = json.loads((out_dir / MANIFEST).read_text())
    updated = {**manifest, **fields, "files": sorted(set(manifest.get("files", [])) | names)}
    save_json(out_dir / MANIFEST, updated)
    return updated
