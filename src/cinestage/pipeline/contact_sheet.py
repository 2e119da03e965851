"""A contact sheet: one row per camera, a few moments of the performance across."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cinestage.files import atomic_path

THUMB_WIDTH = 320
LABEL = 22


def still_frames(n_frames: int, count: int = 4) -> list[int]:
    """Evenly spread moments, away from the very first and last frame."""
    return sorted({int(round((k + 0.5) * n_frames / count)) for k in range(count)} & set(range(n_frames)))


def contact_sheet(names: list[str], stills: dict[int, list[np.ndarray]], fps: float, path: Path) -> Path:
    frames = sorted(stills)
    h, w = stills[frames[0]][0].shape[:2]
    tw, th = THUMB_WIDTH, int(round(THUMB_WIDTH * h / w))
    sheet = Image.new("RGB", (tw * len(frames), (th + LABEL) * len(names)), (18, 18, 20))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    for row, name in enumerate(names):
        y = row * (th + LABEL)
        for col, f in enumerate(frames):
            thumb = Image.fromarray(stills[f][row]).resize((tw, th), Image.LANCZOS)
            sheet.paste(thumb, (col * tw, y + LABEL))
            draw.text((col * tw + 6, y + 3), f"{name}  t={f / fps:.1f}s", fill=(235, 235, 235), font=font)
    with atomic_path(path) as tmp:
        sheet.save(tmp)
    return path
