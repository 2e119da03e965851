"""deliver and the report on a real render (conftest's `delivered`): result.json holds every part
as data, report.html is one self-contained page with every section, and a folder missing parts
still gets a report that says what is missing and why."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from small_render import CAMERAS, FRAMES

from cinestage.assess.aesthetics import PATTERNS
from cinestage.assess.composition import SALIENCY_FIT
from cinestage.edit.highlights import FALLBACK
from cinestage.errors import CinestageError
from cinestage.pipeline.deliver_job import deliver
from cinestage.pipeline.report import FORMAT, REPORT, RESULT, write_report
from cinestage.pipeline.report_html import SECTIONS

PLOTTED = ("scores", "composition", "programme", "tracks")  # sections with a matplotlib figure
ALWAYS = tuple(s for s in SECTIONS if s != "styles")  # styles: only in a `shoot` output


class _Page(HTMLParser):
    """Sections (id -> their <h2> and inner text), and every src/href with the section it is in."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.links: list[tuple[str | None, str, str]] = []  # (section, tag, url)
        self.tags: set[str] = set()
        self._section: str | None = None
        self._in_h2 = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self._section = attrs["id"]
            self.sections[self._section] = {"h2": "", "text": "", "missing": 0}
        if tag == "h2":
            self._in_h2 = True
        if self._section and "missing" in (attrs.get("class") or "").split():
            self.sections[self._section]["missing"] += 1
        for key in ("src", "href"):
            if key in attrs:
                self.links.append((self._section, tag, attrs[key]))

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._section:
            self.sections[self._section]["h2" if self._in_h2 else "text"] += data

    def images(self, section: str, kind: str) -> list[str]:
        return [url for s, tag, url in self.links if s == section and tag == "img"
                and url.startswith(f"data:image/{kind};base64,")]


def _result(out: Path) -> dict:
    return json.loads((out / RESULT).read_text())


def _copy(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "out"))


def test_result_json_holds_every_part_as_data(delivered):
    doc = _result(delivered)
    scores = json.loads((delivered / "scores.json").read_text())
    assert doc["format"] == FORMAT == "cinestage.result/1"
    assert [c["name"] for c in doc["cameras"]] == list(CAMERAS)
    assert doc["chosen"]["camera"] == scores["best"]["camera"] and doc["chosen"]["reason"] == scores["best"]["reason"]
    assert doc["chosen"]["fused"]["value"] == max(c["fused"]["value"] for c in scores["cameras"])
    for camera in doc["cameras"]:
        score = camera["score"]
        assert len(score["fused"]["curve"]) == FRAMES and score["fused"]["better"] == "higher"
        assert all(len(p["measure"]["curve"]) == FRAMES for p in score["components"] if "curve" in p["measure"])
        composition = camera["composition"]
        assert list(composition["probabilities"]) == list(PATTERNS) and composition["source"] == SALIENCY_FIT
        assert sum(composition["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        assert {t["kind"] for t in camera["tags"]} >= {"shot_size", "camera_movement", "people", "framing"}
        track = camera["track"]
        assert track["n_frames"] == FRAMES
        assert len(track["position"]) == len(track["forward"]) == len(range(0, FRAMES, track["sample_every"]))
        np.testing.assert_allclose(np.linalg.norm(track["forward"], axis=1), 1.0, atol=1e-3)
    shots = doc["programme"]["shots"]
    assert shots[0]["start_frame"] == 0 and shots[-1]["end_frame"] == FRAMES
    assert all(a["end_frame"] == b["start_frame"] for a, b in zip(shots, shots[1:])), "shots leave a gap"
    assert [a["name"] for a in doc["actors"]] == ["A", "B"]
    for actor in doc["actors"]:
        ground = np.array(actor["ground"])
        assert actor["n_frames"] == FRAMES and ground.shape == (len(actor["frames"]), 2)
        assert np.abs(ground).max() < 5, "the duet stays near the middle of the stage"
    assert doc["performance"]["venue"]["stage_width"] > 0


def test_result_json_names_the_highlights_the_tags_and_every_file(delivered):
    doc = _result(delivered)
    highlights = doc["highlights"]
    assert highlights["ranker"] == FALLBACK and highlights["video"] == "programme.mp4"
    assert [h["file"] for h in highlights["highlights"]] == ["highlights/highlight-1.gif", "highlights/highlight-2.gif"]
    assert doc["tags"]["format"] == "cinestage.tags/1" and doc["styles"] is None
    assert set(doc["missing"]) == {"styles"}, doc["missing"]
    files = set(doc["files"])
    assert {RESULT, REPORT, "manifest.json", "tags.json", "cameras/wide.mp4", "highlights/highlights.json",
            "highlights/thumbnail.jpg", *(h["file"] for h in highlights["highlights"])} <= files
    assert all((delivered / f).is_file() for f in files)
    manifest = json.loads((delivered / "manifest.json").read_text())
    listed = files - {"manifest.json"} - {f for c in manifest["cameras"] for f in c["files"].values()}
    assert listed - {"contact_sheet.png"} <= set(manifest["files"])
    assert not list(delivered.rglob(".*")), "a temporary file was left behind"


def test_report_html_is_one_self_contained_page_with_every_section(delivered):
    text = (delivered / REPORT).read_text()
    page = _Page(text)
    assert list(page.sections) == list(ALWAYS)
    for sid in ALWAYS:
        assert page.sections[sid]["h2"] == SECTIONS[sid]
        assert page.sections[sid]["missing"] == 0, (sid, page.sections[sid]["text"])
    for _, tag, url in page.links:
        assert not url.startswith(("http://", "https://", "//")), (tag, url[:80])
    assert not page.tags & {"script", "link", "iframe"}
    for sid in PLOTTED + ("contact-sheet", "chosen-camera"):
        assert page.images(sid, "png"), f"{sid} has no inlined PNG"
    assert len(page.images("highlights", "gif")) == 2
    assert FALLBACK in page.sections["highlights"]["text"]
    chosen = _result(delivered)["chosen"]["camera"]
    assert chosen in page.sections["chosen-camera"]["text"]
    assert all(name in page.sections["tags"]["text"] for name in CAMERAS)


def test_a_folder_missing_highlights_gets_a_report_that_says_so(delivered, tmp_path):
    out = _copy(delivered, tmp_path)
    shutil.rmtree(out / "highlights")
    (out / "tags.json").write_text("{ not json")
    write_report(out)
    page = _Page((out / REPORT).read_text())
    assert list(page.sections) == list(ALWAYS)
    assert page.sections["highlights"]["missing"] == 1
    assert "highlights.json not found" in page.sections["highlights"]["text"]
    assert "cinestage highlights" in page.sections["highlights"]["text"], "the page says how to make them"
    assert "tags.json could not be read" in page.sections["tags"]["text"]
    assert page.sections["scores"]["missing"] == 0 and page.images("scores", "png")
    doc = _result(out)
    assert doc["highlights"] is None and set(doc["missing"]) == {"highlights", "tags", "styles"}


def test_an_output_never_assessed_still_gets_a_report(render, tmp_path):
    out = _copy(render, tmp_path)
    write_report(out)
    page = _Page((out / REPORT).read_text())
    assert list(page.sections) == list(ALWAYS)
    for sid in ("chosen-camera", "scores", "programme", "highlights", "tags"):
        assert page.sections[sid]["missing"] == 1, sid
    assert "cinestage assess" in page.sections["scores"]["text"]
    for sid in ("contact-sheet", "composition", "tracks"):
        assert page.sections[sid]["missing"] == 0 and page.images(sid, "png"), sid
    doc = _result(out)
    assert doc["chosen"] is None and doc["programme"] is None
    assert all(c["score"] is None and c["track"]["n_frames"] == FRAMES for c in doc["cameras"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert {RESULT, REPORT} <= set(manifest["files"])


def test_deliver_needs_an_assessed_output(render, tmp_path):
    with pytest.raises(CinestageError, match="assess it first"):
        deliver(_copy(render, tmp_path))


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "absent", "no such folder"),
    (lambda d: d, "not a cinestage output"),
    (lambda d: (d / "manifest.json").write_text("[]") and d, "not a cinestage render manifest"),
    (lambda d: (d / "manifest.json").write_text("{") and d, "not a cinestage manifest"),
])
def test_a_folder_that_is_no_output_is_a_cinestage_error(tmp_path, make, words):
    folder = make(tmp_path)
    with pytest.raises(CinestageError, match=words):
        write_report(folder)
    with pytest.raises(CinestageError, match=words):
        deliver(folder)
    assert not (tmp_path / REPORT).exists() and not (tmp_path / RESULT).exists()
