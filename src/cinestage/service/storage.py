"""Where uploads and results live: a local folder by default, any fsspec URL (s3://, gcs://,
memory://, ...) by setting, like the paper's object store.

Keys are relative POSIX paths that cinestage builds itself (`<openid>/videos/<vid>/<name>`,
`<openid>/tasks/<task_id>/<file>`); a key that could leave the root is refused. Every write
goes to a temporary key first and is moved onto its name when complete, so a name always
holds a whole file, even when the upload is cut off or the writer is killed.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Iterator

import fsspec

from cinestage.errors import CinestageError

CHUNK = 1 << 20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class StorageError(CinestageError):
    """A file that cannot be stored or found."""


class TooLarge(StorageError):
    """An upload over the size limit (nothing of it is kept)."""


def safe_name(filename: str, default: str = "upload") -> str:
    """A file name reduced to letters, digits, '.', '_' and '-': no folders, no leading dots."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = _SAFE_NAME.sub("_", name).lstrip("._")[:120]
    return name or default


def _modified(fs, path: str) -> float:
    try:
        return fs.modified(path).timestamp()
    except (NotImplementedError, OSError, AttributeError):
        return float("inf")


def check_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if (not parts or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key
            or any(ord(c) < 32 for c in key)):
        raise StorageError(key, "not a storage key (relative path without '..')")
    return "/".join(parts)


class Storage:
    def __init__(self, url: str):
        self.url = url
        if "://" in url and not url.startswith("file://"):
            self.fs, self.root = fsspec.core.url_to_fs(url)
        else:
            local = Path(url.removeprefix("file://")).expanduser().resolve()
            local.mkdir(parents=True, exist_ok=True)
            self.fs, self.root = fsspec.filesystem("file"), str(local)
        self.root = self.root.rstrip("/")

    def path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)}"

    def local_path(self, key: str) -> Path | None:
        """The file on this machine's disk, when storage is local (served without copying)."""
        return Path(self.path(key)) if self.fs.protocol in ("file", ("file", "local")) else None

    def _tmp(self, key: str) -> str:
        parent, _, name = self.path(key).rpartition("/")
        return f"{parent}/.{name}.{uuid.uuid4().hex[:8]}.partial"

    def put_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int | None = None) -> int:
        """Write the chunks under `key`; TooLarge (and nothing kept) past `max_bytes`."""
        target, tmp = self.path(key), self._tmp(key)
        self.fs.makedirs(target.rpartition("/")[0], exist_ok=True)
        size = 0
        try:
            with self.fs.open(tmp, "wb") as f:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(key.rpartition("/")[2], f"larger than the limit of {max_bytes} bytes")
                    f.write(chunk)
            self.fs.mv(tmp, target)
        except BaseException:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
            raise
        return size

    def put_file(self, key: str, source: Path) -> int:
        with open(source, "rb") as f:
            return self.put_stream(key, iter(lambda: f.read(CHUNK), b""))

    def move(self, src: str, dst: str) -> None:
        """Put a finished file under another key (a rename on a local disk)."""
        target = self.path(dst)
        self.fs.makedirs(target.rpartition("/")[0], exist_ok=True)
        self.fs.mv(self.path(src), target)

    def open(self, key: str) -> BinaryIO:
        try:
            return self.fs.open(self.path(key), "rb")
        except FileNotFoundError:
            raise StorageError(key, "no such file") from None

    def chunks(self, key: str) -> Iterator[bytes]:
        with self.open(key) as f:
            yield from iter(lambda: f.read(CHUNK), b"")

    def get_file(self, key: str, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            with self.open(key) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def exists(self, key: str) -> bool:
        return self.fs.exists(self.path(key))

    def size(self, key: str) -> int:
        return int(self.fs.size(self.path(key)))

    def keys(self, prefix: str) -> list[str]:
        """Every finished file under `prefix` (temporary parts excluded), as keys."""
        base = self.path(prefix)
        if not self.fs.exists(base):
            return []
        found = self.fs.find(base)
        return sorted(f[len(self.root) + 1:] for f in found if not PurePosixPath(f).name.startswith("."))

    def sweep(self, older_than_s: float = 3600.0) -> list[str]:
        """Remove what writers killed mid-write left behind (hidden `.NAME.*.partial*` files,
        and upload staging folders) once older than `older_than_s`, so no live upload is
        touched. Returns the paths removed. Backends that keep no times are left alone."""
        cutoff = time.time() - older_than_s
        stale = []
        for path in self.fs.find(self.root, withdirs=True):
            name = PurePosixPath(path).name
            leftover = (name.startswith(".") and ".partial" in name) or \
                PurePosixPath(path).parent == PurePosixPath(self.root, "staging")
            if leftover and _modified(self.fs, path) < cutoff:
                self.fs.rm(path, recursive=True)
                stale.append(path)
        return stale

    def delete(self, prefix: str) -> None:
        base = self.path(prefix)
        if self.fs.exists(base):
            self.fs.rm(base, recursive=True)
