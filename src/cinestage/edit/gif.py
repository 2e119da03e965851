"""Animated GIFs and thumbnails with Pillow, within a byte budget.

One adaptive 256-colour palette per GIF (median cut over frames spread through it), so colours
stay put from frame to frame; no dithering, because dither noise changes every frame, costs
bytes under LZW and flickers. Pillow's `optimize` drops unused palette entries and stores only
the changed rectangle of each frame. GIFs loop forever (loop=0).

When a GIF comes out over `max_bytes` it is encoded again, smaller first (bytes follow the
pixel count), then at a lower frame rate, then shorter (its middle kept), until it fits. Files
are encoded in memory and written through `cinestage.files.atomic_path`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cinestage.errors import CinestageError
from cinestage.files import atomic_path

MAX_BYTES = 2 * 1000 * 1000  # "2 MB", the decimal megabyte upload limits use
PALETTE_FRAMES = 8  # frames the palette is computed from
MAX_FPS = 50.0  # delays under 2 cs are shown as 10 cs by browsers
SHRINK_MARGIN = 0.9  # aim below the budget: size does not follow pixels exactly


@dataclass(frozen=True)
class GifOptions:
    """max_side: long side of the GIF (pixels, never enlarged); fps: its frame rate at most;
    min_side, min_fps: how far the budget may shrink them before the GIF is shortened."""

    max_bytes: int = MAX_BYTES
    max_side: int = 480
    fps: float = 10.0
    min_side: int = 160
    min_fps: float = 5.0

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.min_side < 1 or self.max_side < self.min_side:
            raise ValueError("max_bytes and min_side must be positive, max_side at least min_side")
        if not 0 < self.min_fps <= self.fps <= MAX_FPS:
            raise ValueError(f"need 0 < min_fps <= fps <= {MAX_FPS}")


@dataclass(frozen=True)
class GifInfo:
    path: Path
    bytes: int
    width: int
    height: int
    fps: float
    frames: int  # frames given to the encoder (Pillow merges identical neighbours)
    attempts: int  # encodings until it fitted the budget


def _resized(image: np.ndarray, side: int) -> Image.Image:
    h, w = image.shape[:2]
    scale = min(1.0, side / max(w, h))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    picture = Image.fromarray(image)
    return picture if size == (w, h) else picture.resize(size, Image.Resampling.LANCZOS)


def encode_gif(frames: Sequence[np.ndarray], fps: float, side: int) -> bytes:
    """One looping GIF of (H, W, 3) uint8 RGB frames shown at `fps`, long side at most `side`."""
    pictures = [_resized(f, side) for f in frames]
    sample = [pictures[i] for i in np.linspace(0, len(pictures) - 1, min(PALETTE_FRAMES, len(pictures))).astype(int)]
    strip = Image.new("RGB", (sample[0].width, sample[0].height * len(sample)))
    for i, p in enumerate(sample):
        strip.paste(p, (0, i * p.height))
    palette = strip.quantize(256, method=Image.Quantize.MEDIANCUT)
    indexed = [p.quantize(palette=palette, dither=Image.Dither.NONE) for p in pictures]
    # GIF delays are whole centiseconds: rounding each frame's start time keeps a rate like
    # 9.33 fps in real time (delays of 10 and 11 cs) instead of playing every frame at 10 cs.
    starts = np.round(np.arange(len(indexed) + 1) * 100 / fps)
    buffer = io.BytesIO()
    indexed[0].save(buffer, format="GIF", save_all=True, append_images=indexed[1:],
                    duration=[int(d) * 10 for d in np.diff(starts)], loop=0, optimize=True)
    return buffer.getvalue()


def write_gif(frames: Sequence[np.ndarray], fps: float, path: str | Path, options: GifOptions = GifOptions()) -> GifInfo:
    """Write frames (shot at `fps`) as a GIF of at most `options.max_bytes`; CinestageError
    naming the file when even `min_side`, `min_fps` and two frames do not fit."""
    path = Path(path)
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    # Thin the frames to options.fps first: a GIF's delays are whole centiseconds anyway.
    step = max(1, math.ceil(fps / options.fps - 1e-9))
    side = min(options.max_side, max(frames[0].shape[:2]))
    keep = len(frames)
    for attempt in range(1, 100):
        middle = (len(frames) - keep) // 2
        chosen = list(frames[middle:middle + keep:step])
        data = encode_gif(chosen, fps / step, side)
        if len(data) <= options.max_bytes:
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
            with Image.open(path) as gif:
                width, height = gif.size
            return GifInfo(path, len(data), width, height, fps / step, len(chosen), attempt)
        ratio = options.max_bytes / len(data) * SHRINK_MARGIN
        if side > options.min_side:
            side = max(options.min_side, math.floor(side * math.sqrt(ratio)))
        elif fps / (step * 2) >= options.min_fps - 1e-9:
            step *= 2
        elif len(chosen) > 2:
            keep = max(2 * step, math.floor(keep * ratio))
        else:
            break
    raise CinestageError(str(path), f"cannot fit a GIF into {options.max_bytes} bytes, even {len(chosen)} frames "
                                    f"at {side} pixels make {len(data)} bytes; allow more bytes")


def write_image(image: np.ndarray, path: str | Path, max_side: int = 640) -> Path:
    """A still (JPEG or PNG by the suffix) of an (H, W, 3) uint8 RGB frame, long side at most `max_side`."""
    path = Path(path)
    picture = _resized(image, max_side)
    options = {"quality": 90} if path.suffix.lower() in (".jpg", ".jpeg") else {"optimize": True}
    with atomic_path(path) as tmp:
        picture.save(tmp, **options)
    return path
