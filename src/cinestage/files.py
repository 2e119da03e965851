"""Writing files so that a finished name always means a finished file, and reading the torch
checkpoints cinestage writes with one clear error for every way they can be wrong."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cinestage.errors import ModelError


def temporary_sibling(path: str | os.PathLike) -> Path:
    """A hidden name beside `path`, unique per call, with the same suffix (writers that pick a
    format by extension still do): where a file is written before it is renamed onto `path`."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary sibling of `path` to write to, renamed onto `path` when the block ends,
    removed if it raises. Unique per call, so two workers writing the same file never interleave."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def save_torch(obj, path: str | os.PathLike) -> Path:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_torch(path: str | os.PathLike, format: str, missing: str) -> dict:
    """A checkpoint dict written with `"format": format`; ModelError naming the file when it is
    missing (with the `missing` hint), unreadable, or another kind of file."""
    import torch

    source = str(path)
    if not Path(path).is_file():
        raise ModelError(source, missing)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (torch raises many unrelated types for a damaged file)
        raise ModelError(source, f"not a readable torch file ({type(exc).__name__})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != format:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ModelError(source, f"not a {format} checkpoint (format {found!r})")
    return checkpoint


def load_packaged(path_or_name: str | os.PathLike, package: str, name: str, format: str, what: str,
                  command: str) -> tuple[dict, Path]:
    """A checkpoint dict and its path: the one shipped in `package`'s checkpoints folder as
    `name` ("default"), or a file `command` wrote. ModelError names a missing file with the fix."""
    from importlib import resources

    default = str(path_or_name) == "default"
    path = Path(str(resources.files(package) / "checkpoints" / name)) if default else Path(path_or_name)
    hint = "reinstall cinestage" if default else f"train one with `{command}`"
    return load_torch(path, format, f"{what} not found; {hint}"), path


def digest(path: str | os.PathLike) -> str:
    """A short content hash that names which checkpoint produced a result."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
