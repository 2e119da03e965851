"""What a user takes away from an assessed render output, after `assess_render`:

    DIR/highlights/   highlight-<k>.gif, thumbnail.jpg, highlights.json of the programme
                      (of best.mp4 when there is no programme)
    DIR/tags.json     every camera's cinematographic tags
    DIR/result.json, DIR/report.html   everything above and before it (see `report`)

and manifest.json lists them. Each file is written under a temporary name and renamed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cinestage.edit.cine_tags import tag_render, tags_path
from cinestage.errors import CinestageError
from cinestage.pipeline.assess_job import FILES as ASSESS_FILES
from cinestage.pipeline.highlights_job import make_highlights
from cinestage.pipeline.output import add_to_manifest, read_manifest
from cinestage.pipeline.report import HIGHLIGHTS_DIR, write_report

STEPS = 3  # highlights, tags, report


@dataclass(frozen=True)
class Deliverables:
    highlights: Path  # the folder
    gifs: tuple[Path, ...]
    tags: Path
    result: Path
    report: Path


def deliver(out_dir: str | os.PathLike, top: int = 3, progress: Callable[[int, int], None] | None = None) -> Deliverables:
    """`top` highlights, the tags and the report of an assessed render output; progress(done,
    total) counts those three steps. A CinestageError when out_dir is not a cinestage output
    or has not been assessed (no programme.mp4 or best.mp4 to cut highlights from)."""
    out_dir = Path(out_dir)
    read_manifest(out_dir)
    video = next((out_dir / ASSESS_FILES[k] for k in ("programme", "best") if (out_dir / ASSESS_FILES[k]).is_file()),
                 None)
    if video is None:
        raise CinestageError(str(out_dir), "has no programme.mp4 or best.mp4 to take highlights from: assess it "
                                           "first (`cinestage assess DIR`)")
    highlights = make_highlights(video, out_dir / HIGHLIGHTS_DIR, top)
    gifs = tuple(g.path for g in highlights.gifs)
    add_to_manifest(out_dir, [*gifs, highlights.thumbnail, highlights.document])
    _step(progress, 1)
    tags = tag_render(out_dir).save(tags_path(out_dir))
    add_to_manifest(out_dir, [tags])
    _step(progress, 2)
    paths = write_report(out_dir)
    _step(progress, 3)
    return Deliverables(out_dir / HIGHLIGHTS_DIR, gifs, tags, paths.result, paths.report)


def _step(progress: Callable[[int, int], None] | None, done: int) -> None:
    if progress:
        progress(done, STEPS)
