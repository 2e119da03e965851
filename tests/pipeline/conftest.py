"""Render outputs shared by the pipeline tests: `small_render`'s render, and the same output
assessed and delivered. Both are read-only: a test that writes into one copies it first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from small_render import render_small

from cinestage.edit.programme import ProgrammeOptions
from cinestage.pipeline.assess_job import AssessOptions, assess_render
from cinestage.pipeline.deliver_job import deliver


@pytest.fixture(scope="session")
def render(tmp_path_factory) -> Path:
    return render_small(tmp_path_factory.mktemp("render") / "out")


@pytest.fixture(scope="session")
def delivered(render, tmp_path_factory) -> Path:
    """Assessed with shots of 1 s at least (so that 3 s can hold a cut), then delivered:
    highlights, tags, result.json and report.html."""
    out = Path(shutil.copytree(render, tmp_path_factory.mktemp("delivered") / "out"))
    assess_render(out, AssessOptions(programme=ProgrammeOptions(min_shot=1.0)))
    deliver(out, top=2)
    return out
