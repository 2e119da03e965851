"""report.html: result.json (see `report`) as one page a person reads in any browser, offline.

Self-contained on purpose: the page is mailed and archived on its own, so every image is a
data URI, the style sheet is inline, there are no scripts and nothing is fetched. Links to the
output's own files are relative, so they work while the page sits in its folder. Every section
has an id (SECTIONS) and says what is missing, and why, instead of disappearing.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from cinestage.edit.highlights import FALLBACK
from cinestage.pipeline import report_plots as plots

SECTIONS = {
    "contact-sheet": "Contact sheet",
    "chosen-camera": "Chosen camera",
    "scores": "Scores",
    "composition": "Composition patterns",
    "programme": "Programme",
    "tracks": "Camera tracks from above",
    "highlights": "Highlights",
    "tags": "Tags",
    "styles": "Reference styles",
    "files": "Files",
}
TAG_COLUMNS = {"shot_size": "shot size", "camera_movement": "movement", "people": "people", "framing": "framing",
               "content": "content"}

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f4f6; color: #1c1c1e;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 12px 16px 40px; }
header h1 { font-size: 1.6em; margin: .5em 0 .1em; }
header p { margin: .2em 0; color: #555; }
nav { margin: .8em 0; display: flex; flex-wrap: wrap; gap: .3em 1em; font-size: .95em; }
a { color: #0b5cad; }
section { background: #fff; border: 1px solid #e2e2e7; border-radius: 8px; padding: 10px 18px 16px; margin: 16px 0; }
h2 { font-size: 1.3em; margin: .3em 0 .6em; padding-bottom: .2em; border-bottom: 1px solid #ececf0; }
h3 { font-size: 1.05em; margin: 1em 0 .4em; }
img { max-width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .88em; margin: .4em 0; }
th, td { border: 1px solid #dcdce2; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f7f7f9; font-weight: 600; }
th small { display: block; font-weight: 400; color: #666; }
td.name, td span[title] { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best { background: #d9f2df; font-weight: 700; }
tr.fused td { border-bottom: 2px solid #b9b9c3; font-weight: 600; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: .4em; }
.missing { background: #fff6e0; border-left: 4px solid #e0a100; padding: 8px 12px; margin: .5em 0; }
.note { color: #555; font-size: .9em; }
.big { font-size: 1.25em; font-weight: 700; }
.gifs { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
figure { margin: 0; }
figcaption { font-size: .88em; color: #444; margin-top: .3em; }
ul.files { columns: 2 18em; font-size: .88em; }
/* On a phone a figure keeps a legible size and scrolls sideways instead of shrinking. */
.plot img { margin: 0 auto; }
@media (max-width: 700px) { .plot { overflow-x: auto; } .plot img { max-width: none; width: 720px; } }
"""


def render_html(doc: dict, out_dir: Path) -> str:
    """The page of one output folder (its result.json document `doc`; images read from out_dir)."""
    names = [c["name"] for c in doc["cameras"]]
    page = _Page(doc, Path(out_dir), plots.camera_colours(names))
    sections = [page.contact_sheet(), page.chosen(), page.scores(), page.composition(), page.programme(),
                page.tracks(), page.highlights(), page.tags()]
    if doc.get("styles"):
        sections.append(page.styles())
    sections.append(page.files())
    perf = doc["performance"]
    video = doc.get("video") or {}
    title = f"cinestage report: {perf['name']}"
    summary = (f"{len(names)} cameras, {perf['duration']:g} s at {perf['fps']:g} fps "
               f"({perf['n_frames']} frames), {video.get('width', '?')}x{video.get('height', '?')}, "
               f"actors {', '.join(perf.get('actors', []))}; rendered with {doc.get('renderer') or '?'}, "
               f"cinestage {doc['cinestage']}")
    nav = "".join(f'<a href="#{sid}">{SECTIONS[sid]}</a>' for sid, _ in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_e(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n<header><h1>{_e(title)}</h1><p>{_e(summary)}</p>"
            f"<p>Folder <code>{_e(doc['folder'])}</code>; all of this as data: "
            f'<a href="result.json">result.json</a></p></header>\n<nav>{nav}</nav>\n'
            + "\n".join(body for _, body in sections) + "\n</main>\n</body>\n</html>\n")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _section(sid: str, *parts: str) -> tuple[str, str]:
    return sid, f'<section id="{sid}">\n<h2>{SECTIONS[sid]}</h2>\n' + "\n".join(parts) + "\n</section>"


def _missing(text: str) -> str:
    return f'<p class="missing">{_e(text)}</p>'


def _img(data: bytes, alt: str, kind: str = "png") -> str:
    return f'<img src="data:image/{kind};base64,{base64.b64encode(data).decode("ascii")}" alt="{_e(alt)}">'


def _plot(data: bytes, alt: str) -> str:
    return f'<div class="plot">{_img(data, alt)}</div>'


def _table(header: Iterable[str], rows: Iterable[Iterable[str]], row_class: Sequence[str] = ()) -> str:
    """Cells are HTML already (callers escape)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join((f'<tr class="{row_class[i]}">' if i < len(row_class) and row_class[i] else "<tr>")
                   + "".join(row) + "</tr>" for i, row in enumerate(rows))
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _number(x) -> float:
    """A Measure's JSON number: null is NaN, the infinities are strings."""
    return math.nan if x is None else float(x)


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if abs(x) >= 10:
        return f"{x:.3g}"
    return f"{x:.2g}" if 0 < abs(x) < 0.001 else f"{x:.3f}"


def _bound(x: float) -> str:
    return "∞" if x == math.inf else "−∞" if x == -math.inf else f"{x:g}"


def _reading(measure: dict) -> str:
    """How to read a measure: its range and which way is better."""
    low, high = (_number(v) for v in measure["range"])
    return f"{_bound(low)}–{_bound(high)}, {measure['better']} better"


class _Page:
    def __init__(self, doc: dict, out_dir: Path, colours: Mapping[str, str]):
        self.doc, self.out_dir, self.colours = doc, out_dir, colours
        self.missing = doc.get("missing", {})
        self.fps = float(doc["performance"]["fps"])

    def _name(self, camera: str) -> str:
        return f'<span class="swatch" style="background:{self.colours[camera]}"></span>{_e(camera)}'

    def _file(self, relative: str | None) -> bytes | None:
        path = self.out_dir / relative if relative else None
        return path.read_bytes() if path is not None and path.is_file() else None

    def contact_sheet(self) -> tuple[str, str]:
        sheet = self._file(self.doc.get("contact_sheet"))
        if sheet is None:
            return _section("contact-sheet", _missing("contact_sheet.png not found in the output folder"))
        return _section("contact-sheet", '<p class="note">One row per camera, four moments of the performance.</p>',
                        _img(sheet, "contact sheet: one row per camera"))

    def chosen(self) -> tuple[str, str]:
        chosen = self.doc.get("chosen")
        if chosen is None:
            return _section("chosen-camera", _missing(self.missing.get("scores", "no camera was chosen")))
        camera, fused = chosen["camera"], chosen.get("fused")
        score = "" if fused is None else (f'<p>Fused score <span class="big">{_fmt(_number(fused["value"]))}</span> '
                                          f'<span class="note">({_e(_reading(fused))}; {_e(fused.get("unit", ""))})'
                                          "</span></p>")
        parts = [f'<p class="big">{self._name(camera)}</p>', f"<p>{_e(chosen['reason'])}</p>", score,
                 f'<p><a href="{_e(chosen.get("video", "best.mp4"))}">{_e(chosen.get("video", "best.mp4"))}</a> is '
                 "its video.</p>"]
        row = self._sheet_row(camera)
        if row is not None:
            parts.append(_img(row, f"stills of {camera}"))
        return _section("chosen-camera", *parts)

    def _sheet_row(self, camera: str) -> bytes | None:
        """The chosen camera's row of the contact sheet (rows are equally tall, in camera order)."""
        sheet = self._file(self.doc.get("contact_sheet"))
        names = [c["name"] for c in self.doc["cameras"]]
        if sheet is None or camera not in names:
            return None
        image = Image.open(io.BytesIO(sheet))
        height = image.height // len(names)
        row = names.index(camera)
        buffer = io.BytesIO()
        image.crop((0, row * height, image.width, (row + 1) * height)).save(buffer, format="PNG")
        return buffer.getvalue()

    def scores(self) -> tuple[str, str]:
        scored = [c for c in self.doc["cameras"] if c.get("score")]
        if not scored:
            return _section("scores", _missing(self.missing.get("scores", "no camera has scores")))
        columns: dict[str, dict] = {}
        weights: dict[str, float | None] = {"fused": None}
        for c in scored:
            columns.setdefault("fused", c["score"]["fused"])
            for part in c["score"]["components"]:
                columns.setdefault(part["name"], part["measure"])
                weights.setdefault(part["name"], part.get("weight"))
        values = {name: [_number(self._measure(c, name)["value"]) if self._measure(c, name) else math.nan
                         for c in scored] for name in columns}
        # A measure of weight 0 is shown for information: no value of it is better for the choice.
        best = {name: self._best(v, columns[name]["better"]) if weights.get(name) != 0 else set()
                for name, v in values.items()}
        chosen = (self.doc.get("chosen") or {}).get("camera")
        # Measures down, cameras across: a page holds a handful of cameras but twenty measures.
        header = ["measure", "range, better", "weight"] + [
            f"<strong>{self._name(c['name'])}</strong>" if c["name"] == chosen else self._name(c["name"]) for c in scored]
        rows = [[f'<td class="name"><span title="{_e(m.get("unit", ""))}">{_e(plots.label(name))}</span></td>',
                 f'<td class="name">{_e(_reading(m))}</td>', f'<td class="num">{_e(self._weight(weights[name]))}</td>']
                + [f'<td class="num{" best" if i in best[name] else ""}">{_fmt(v)}</td>' for i, v in enumerate(values[name])]
                for name, m in columns.items()]
        skipped = sorted({k for c in scored for k in c["score"].get("skipped", {})})
        notes = (self.doc.get("assessment") or {}).get("notes", [])
        parts = [_table(header, rows, ["fused"]),
                 '<p class="note">Each measure\'s best camera (by the measure\'s direction) is highlighted; hover a '
                 "measure for its unit. The fused score is the weighted mean goodness of a camera's measures; a "
                 "measure of weight 0 is shown but does not count.</p>"]
        if skipped:
            parts.append(f'<p class="note">Not measured: {_e(", ".join(skipped))}.</p>')
        parts += [f'<p class="note">Note: {_e(n)}</p>' for n in notes]
        curves, titles = self._curves(scored, columns)
        if curves:
            parts += ["<h3>Per-frame curves</h3>",
                      _plot(plots.score_curves(curves, titles, self.fps, self.colours), "per-frame score curves")]
        else:
            parts.append(_missing("no measure has a per-frame curve"))
        return _section("scores", *parts)

    @staticmethod
    def _weight(weight: float | None) -> str:
        return "–" if weight is None else f"{weight:g}"

    @staticmethod
    def _measure(camera: dict, name: str) -> dict | None:
        score = camera["score"]
        if name == "fused":
            return score["fused"]
        return next((p["measure"] for p in score["components"] if p["name"] == name), None)

    @staticmethod
    def _best(values: list[float], better: str) -> set[int]:
        """The rows holding the best value, none when every row holds the same."""
        finite = [v for v in values if np.isfinite(v)]
        if len(set(finite)) < 2:
            return set()
        target = max(finite) if better == "higher" else min(finite)
        return {i for i, v in enumerate(values) if v == target}

    def _curves(self, scored: list[dict], columns: Mapping[str, dict]):
        curves, titles = {}, {}
        for name, measure in columns.items():
            per_camera = {}
            for c in scored:
                m = self._measure(c, name)
                if m and m.get("curve") is not None:
                    per_camera[c["name"]] = np.array([_number(v) for v in m["curve"]])
            if per_camera and any(np.isfinite(v).any() for v in per_camera.values()):
                curves[name] = per_camera
                titles[name] = f"{plots.label(name)} [{_reading(measure)}]"
        return curves, titles

    def composition(self) -> tuple[str, str]:
        found = {c["name"]: c["composition"] for c in self.doc["cameras"] if c.get("composition")}
        if not found:
            return _section("composition", _missing("no camera's video could be read for composition patterns"))
        patterns = self.doc["composition"]["patterns"]
        sources = {comp["source"] for comp in found.values()}
        described = " ".join(f"{self.doc['composition']['sources'][s]}." for s in sorted(sources))
        distributions = {name: np.array([comp["probabilities"][p] for p in patterns]) for name, comp in found.items()}
        dominant = "; ".join(f"{name}: {plots.label(comp['dominant'])}" for name, comp in found.items())
        parts = [f'<p class="note">Over {self.doc["composition"]["frames"]} frames per camera. {_e(described)}</p>',
                 _plot(plots.pattern_bars(distributions, patterns, self.colours, "probability"),
                      "composition-pattern distribution per camera"),
                 f"<p>Dominant pattern: {_e(dominant)}.</p>"]
        parts += [_missing(f"{key.split(':', 1)[1]}: {why}") for key, why in self.missing.items()
                  if key.startswith("composition:")]
        return _section("composition", *parts)

    def programme(self) -> tuple[str, str]:
        programme = self.doc.get("programme")
        if not programme:
            return _section("programme", _missing(self.missing.get("scores", "no programme was cut")))
        shots = programme["shots"]
        names = [c["name"] for c in self.doc["cameras"]]
        duration = programme["n_frames"] / programme["fps"]
        counts = programme.get("counts", {})
        rows = [[f'<td class="num">{i}</td>', f'<td class="name">{self._name(s["camera"])}</td>',
                 f'<td class="num">{s["start_time"]:.2f}</td>', f'<td class="num">{s["end_time"]:.2f}</td>',
                 f'<td class="num">{s["end_time"] - s["start_time"]:.2f}</td>',
                 f'<td class="num">{_fmt(_number(s["quality"]["value"]))}</td>']
                for i, s in enumerate(shots, 1)]
        quality = _reading(shots[0]["quality"]) if shots else ""
        files = ", ".join(f'<a href="{_e(programme[k])}">{_e(programme[k])}</a>' for k in ("video", "edl", "edl_json")
                          if programme.get(k))
        return _section("programme",
                        f"<p>{len(shots)} shot(s), {counts.get('cuts', 0)} cut(s), {counts.get('jump_cuts', 0)} jump "
                        f"cut(s), {counts.get('line_crossings', 0)} line crossing(s) over {duration:.2f} s. "
                        f"Files: {files}.</p>",
                        _plot(plots.timeline(shots, names, duration, self.colours), "edit timeline"),
                        _table(["#", "camera", "start (s)", "end (s)", "length (s)",
                                f"quality<small>{_e(quality)}</small>"], rows))

    def tracks(self) -> tuple[str, str]:
        tracks = {c["name"]: c["track"] for c in self.doc["cameras"] if c.get("track")}
        if not tracks:
            return _section("tracks", _missing("no camera track could be read"))
        venue = self.doc["performance"].get("venue")
        actors = self.doc.get("actors") or []
        parts = [_plot(plots.tracks_from_above(tracks, actors, venue, self.colours, self.fps),
                      "camera tracks and actors' paths seen from above")]
        if not venue:
            parts.append(_missing("the stage outline is not drawn: this output's manifest does not record the venue "
                                  "(rendered by an older cinestage)"))
        if not actors:
            parts.append(_missing(self.missing.get("actors", "the actors' paths are not available")))
        parts += [_missing(why) for key, why in self.missing.items() if key.startswith("track:")]
        return _section("tracks", *parts)

    def highlights(self) -> tuple[str, str]:
        doc = self.doc.get("highlights")
        if not doc:
            return _section("highlights", _missing(self.missing.get("highlights", "no highlights")))
        ranker = doc.get("ranker", "?")
        unit = (doc.get("score") or {}).get("unit", "")
        described = (f"Ranked by the unsupervised fallback (no trained ranker): {unit.removeprefix(FALLBACK + ': ')}"
                     if ranker == FALLBACK
                     else f"Ranked by a trained Video2GIF ranker: {ranker}")
        reading = _reading({"range": doc["score"]["range"], "better": doc["score"]["better"]}) if "score" in doc else ""
        scores = {s["index"]: s["score"]["value"] for s in doc.get("segments", [])}
        figures = []
        for h in doc.get("highlights", []):
            gif = self._file(h["file"])
            caption = (f"#{h['rank']}: {h['start_s']:.2f}–{h['end_s']:.2f} s, score "
                       f"{_fmt(_number(scores.get(h['segment'])))} ({reading}); {h['bytes'] / 1e6:.2f} MB")
            figures.append(f"<figure>{_img(gif, caption, 'gif') if gif else _missing(h['file'] + ' not found')}"
                           f"<figcaption>{_e(caption)}</figcaption></figure>")
        parts = [f"<p>{_e(described)}. Source: <code>{_e(doc.get('video', ''))}</code>.</p>",
                 f'<div class="gifs">{"".join(figures)}</div>' if figures else _missing("no highlight GIFs")]
        parts += [f'<p class="note">Note: {_e(n)}</p>' for n in doc.get("notes", [])]
        return _section("highlights", *parts)

    def tags(self) -> tuple[str, str]:
        tagged = [c for c in self.doc["cameras"] if c.get("tags") is not None]
        if not tagged:
            return _section("tags", _missing(self.missing.get("tags", "no tags")))
        kinds = [k for k in TAG_COLUMNS if k != "content" or any(t["kind"] == k for c in tagged for t in c["tags"])]

        def cell(tags: list[dict], kind: str) -> str:
            found = [t for t in tags if t["kind"] == kind]
            text = "<br>".join(f'<span title="{_e(t["evidence"])}">{_e(t["value"])} ({t["confidence"]:.2f})</span>'
                               for t in found)
            return f"<td>{text or '–'}</td>"

        rows = [[f'<td class="name">{self._name(c["name"])}</td>'] + [cell(c["tags"], k) for k in kinds] for c in tagged]
        return _section("tags", _table(["camera"] + [TAG_COLUMNS[k] for k in kinds], rows),
                        '<p class="note">Confidence in brackets (0–1, higher surer); hover a tag for its evidence.</p>')

    def styles(self) -> tuple[str, str]:
        doc = self.doc["styles"]
        rows = [[f"<td>learned-shot{st['shot']}</td>", f"<td>{_e(st.get('nearest', ''))}</td>",
                 f"<td>{_e(' '.join(f'{c:.2f}' for c in st.get('code', [])))}</td>"] for st in doc.get("styles", [])]
        parts = [f"<p>Reference <code>{_e(doc.get('reference', ''))}</code>, gating network "
                 f"{_e(doc.get('gating', ''))}.</p>"]
        parts.append(_table(["camera", "nearest canonical behaviour", "style code"], rows) if rows
                     else _missing(doc.get("problem") or "no styles"))
        return _section("styles", *parts)

    def files(self) -> tuple[str, str]:
        items = "".join(f'<li><a href="{_e(f)}">{_e(f)}</a></li>' for f in self.doc["files"])
        return _section("files", f'<details><summary>{len(self.doc["files"])} files in this output, linked from '
                                 f'where this page lies</summary><ul class="files">{items}</ul></details>')
