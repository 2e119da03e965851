"""The `cinestage` command. User mistakes end with one line and exit code 2, never a traceback."""

from __future__ import annotations

import math
import sys
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cinestage.errors import CinestageError
from cinestage.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False, help="Automatic virtual cinematography for staged performances.")
# Soft wrap: a line piped to a file or a log stays one line (rich wraps at 80 columns off a terminal).
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _fail(exc: CinestageError) -> None:
    err.print(f"cinestage: error: {exc}", markup=False, highlight=False)
    raise typer.Exit(2)


def _advance(bar: Progress, task) -> Callable[[int, int], None]:
    """The (done, total) progress callback every job takes, moving one bar."""
    return lambda done, total: bar.update(task, completed=done, total=total)


def _progress(unit: str = "frames"):
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn(f"{{task.completed}}/{{task.total}} {unit}"),
                    TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)


def _options(width: int | None, height: int | None, display: str | None):
    from cinestage.render.renderer import RenderOptions

    s = Settings()
    return RenderOptions(width=width or s.width, height=height or s.height, crf=s.crf, preset=s.preset,
                         display=display or s.display)


def _run(performance, specs, out_dir: Path, opts) -> None:
    from cinestage.pipeline.render_job import render_performance, shoot_tracks

    tracks = shoot_tracks(performance, specs, opts)
    with _progress() as bar:
        task = bar.add_task(f"rendering {len(tracks)} cameras", total=performance.n_frames)
        result = render_performance(performance, tracks, out_dir, opts, _advance(bar, task))
    m = result.manifest
    out.print(f"rendered {len(tracks)} cameras x {performance.n_frames} frames "
              f"({m['camera_frames_per_second']} camera-frames/s on {m['renderer']})")
    out.print(f"outputs in {out_dir}/: cameras/<name>.mp4, .track.{{json,csv,gltf}}, .meta.json, "
              f"contact_sheet.png, manifest.json")


@app.command()
def render(
    performance: Path = typer.Argument(..., help="PERFORMANCE.yaml"),
    cameras: Path = typer.Option(..., "--cameras", "-c", help="CAMERAS.yaml"),
    out_dir: Path = typer.Option(..., "--out", "-o", help="output folder"),
    width: Optional[int] = typer.Option(None, help="video width (default 640, or CINESTAGE_WIDTH)"),
    height: Optional[int] = typer.Option(None, help="video height (default 360, or CINESTAGE_HEIGHT)"),
    display: Optional[str] = typer.Option(None, help="auto, egl or software"),
) -> None:
    """Render a performance through every camera of CAMERAS.yaml."""
    from cinestage.camera.spec import load_cameras
    from cinestage.stage.performance_file import load_performance

    try:
        opts = _options(width, height, display)
        specs = load_cameras(cameras)
        perf = load_performance(performance)
        _run(perf, specs, out_dir, opts)
    except CinestageError as exc:
        _fail(exc)


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("out/demo"), "--out", "-o", help="output folder"),
    duration: float = typer.Option(10.0, min=4.0, max=120.0, help="seconds of the built-in duet"),
    fps: float = typer.Option(25.0, min=5.0, max=60.0),
    width: Optional[int] = typer.Option(None),
    height: Optional[int] = typer.Option(None),
    display: Optional[str] = typer.Option(None, help="auto, egl or software"),
    no_assess: bool = typer.Option(False, "--no-assess", help="render only: no scores, programme, highlights, tags or report"),
) -> None:
    """Shoot the built-in duet with six cameras (no files needed), score them, pick the best, cut
    a programme, and deliver highlights, tags and a report (report.html, result.json)."""
    from cinestage.camera.spec import load_cameras
    from cinestage.pipeline.assess_job import AssessOptions
    from cinestage.stage.performance_file import demo_performance

    try:
        opts = _options(width, height, display)
        with resources.as_file(resources.files("cinestage.camera") / "demo_cameras.yaml") as path:
            specs = load_cameras(path)
        _run(demo_performance(duration, fps), specs, out_dir, opts)
        if not no_assess:
            _assess_render(out_dir, AssessOptions())
            _deliver(out_dir)
    except CinestageError as exc:
        _fail(exc)


@app.command()
def style(
    clip: Path = typer.Argument(..., help="a reference video"),
    gating: str = typer.Option("lstm-sa3", help="which trained gating network reads it"),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="save the style of the longest shot (JSON)"),
) -> None:
    """The camera style of every shot of a clip: its code and the nearest canonical behaviour."""
    from cinestage.behavior.style import StyleModel, clip_styles, longest

    try:
        model = StyleModel(gating)
        styles = clip_styles(clip, model)
        if not styles:
            raise CinestageError(str(clip), "no main pair in any shot, so no camera style")
    except CinestageError as exc:
        _fail(exc)
    for st in styles:
        code = " ".join(f"{c:.2f}" for c in st.code)
        out.print(f"shot {st.shot}: nearest {st.nearest}  code [{code}]", markup=False)
    if out_path is not None:
        best = longest(styles)
        best.save(out_path)
        out.print(f"saved the style of shot {best.shot} to {out_path}")


@app.command()
def shoot(
    reference: Path = typer.Option(..., "--reference", "-r", help="reference clip whose camera style to learn"),
    performance: Path = typer.Option(..., "--performance", "-p", help="PERFORMANCE.yaml"),
    out_dir: Path = typer.Option(..., "--out", "-o", help="output folder"),
    cameras: Optional[Path] = typer.Option(None, "--cameras", "-c", help="preset rigs (default: the demo's six)"),
    gating: str = typer.Option("lstm-sa3"),
    width: Optional[int] = typer.Option(None),
    height: Optional[int] = typer.Option(None),
    display: Optional[str] = typer.Option(None, help="auto, egl or software"),
    no_assess: bool = typer.Option(False, "--no-assess", help="render only: no scores, programme, highlights, tags or report"),
) -> None:
    """Analyse a reference clip, learn its camera style per shot, shoot a performance with those
    learned cameras next to the preset rigs, score them, pick the best, cut a programme, and
    deliver highlights, tags and a report (report.html, result.json)."""
    from cinestage.camera.spec import load_cameras
    from cinestage.pipeline.assess_job import AssessOptions
    from cinestage.pipeline.shoot_job import shoot as run_shoot
    from cinestage.stage.performance_file import load_performance

    try:
        opts = _options(width, height, display)
        perf = load_performance(performance)
        if cameras is None:
            with resources.as_file(resources.files("cinestage.camera") / "demo_cameras.yaml") as path:
                specs = load_cameras(path)
        else:
            specs = load_cameras(cameras)
        with _progress() as bar:
            task = bar.add_task("shooting", total=perf.n_frames)
            result = run_shoot(reference, perf, specs, out_dir, opts, gating, _advance(bar, task))
    except CinestageError as exc:
        _fail(exc)
    if result.problem:
        out.print(result.problem, markup=False)
    for st in result.styles:
        out.print(f"learned-shot{st.shot}: reference shot {st.shot}, nearest {st.nearest}", markup=False)
    out.print(f"rendered {len(result.render.cameras)} cameras; outputs in {out_dir}/: cameras/<name>.mp4, "
              f"styles.json, contact_sheet.png, manifest.json")
    if not no_assess:
        try:
            _assess_render(out_dir, AssessOptions())
            _deliver(out_dir)
        except CinestageError as exc:
            _fail(exc)


def _assess_render(out_dir: Path, options, out_csv: Path | None = None) -> None:
    """Score a render output, print the table, the choice and where the files are."""
    from cinestage.pipeline.assess_job import assess_render

    with _progress("steps") as bar:
        task = bar.add_task("assessing cameras, cutting the programme", total=None)
        result = assess_render(out_dir, options, _advance(bar, task), out_csv)
    _print_scores("camera", [(s.camera, s.value, "best" if s.camera == result.best else "") for s in result.cameras])
    p, counts = result.programme, result.programme.counts
    out.print(f"chosen camera: {result.best} ({result.reason})", markup=False, soft_wrap=True)
    out.print(f"programme: {result.paths['programme']} ({len(p.shots)} shot(s), {counts['cuts']} cut(s)), "
              f"EDL {result.paths['edl']}, {result.paths['edl_json']}", markup=False, soft_wrap=True)
    out.print(f"scores: {result.paths['scores_json']}, {result.paths['scores_csv']}; "
              f"best camera's video: {result.paths['best']}", markup=False, soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", markup=False, soft_wrap=True)


def _deliver(out_dir: Path) -> None:
    """Highlights, tags and the report of an assessed render output; where they are."""
    from cinestage.pipeline.deliver_job import deliver

    with _progress("steps") as bar:
        task = bar.add_task("highlights, tags, report", total=None)
        result = deliver(out_dir, progress=_advance(bar, task))
    out.print(f"highlights: {len(result.gifs)} GIF(s) in {result.highlights}/; tags: {result.tags}", markup=False,
              soft_wrap=True)
    out.print(f"report: {result.report}; all of it as data: {result.result}", markup=False, soft_wrap=True)


@app.command()
def report(out_dir: Path = typer.Argument(..., help="a cinestage output folder (from demo, shoot or render)")) -> None:
    """(Re)build DIR/report.html and DIR/result.json from what an output folder holds; parts not
    made yet (scores, highlights, tags) are named in the report with how to make them."""
    from cinestage.pipeline.output import read_manifest

    try:
        read_manifest(out_dir)  # a folder that is no output fails at once, before torch loads
        from cinestage.pipeline.report import write_report

        paths = write_report(out_dir)
    except CinestageError as exc:
        _fail(exc)
    out.print(f"report: {paths.report}; all of it as data: {paths.result}", markup=False, soft_wrap=True)


def _print_scores(label: str, rows: list[tuple[str, float, str]]) -> None:
    """rows: name, fused score (NaN: not scored), a remark."""
    from cinestage.edit.selection import fused_measure
    from cinestage.pipeline.assess_job import column

    width = max(len(label), *(len(name) for name, _, _ in rows))
    out.print(f"{label:{width}}  {column(fused_measure(float('nan')))}", markup=False, soft_wrap=True)
    for name, value, remark in rows:
        score = "-" if math.isnan(value) else f"{value:.3f}"
        out.print(f"{name:{width}}  {score:>5}  {remark}".rstrip(), markup=False, soft_wrap=True)


@app.command()
def assess(
    folder: Path = typer.Argument(..., help="a render output (cinestage manifest.json) or any folder of videos"),
    out_csv: Optional[Path] = typer.Option(None, "--out-csv", help="where the scores CSV goes (default DIR/scores.csv)"),
    every: int = typer.Option(5, min=1, help="image quality scores every N-th frame"),
    aesthetic_head: Optional[Path] = typer.Option(None, help="a trained aesthetic head checkpoint"),
    vsfa_weights: Optional[Path] = typer.Option(None, "--vsfa", help="VSFA.pt (needs the ImageNet ResNet-50 weights)"),
    min_shot: float = typer.Option(2.0, min=0.0, help="seconds every shot of the programme lasts at least"),
    max_shot: float = typer.Option(8.0, min=0.0, help="seconds a shot may last before every further second costs "
                                                      "(a soft limit for variety; 0: no limit)"),
    weight: list[str] = typer.Option([], "--weight", help="NAME=VALUE: a measure's weight in the fused score "
                                                          "(repeatable; e.g. --weight thirds=0 --weight niqe=1)"),
) -> None:
    """Score every camera of a render output, pick the best and cut a programme; or score every
    video of a folder into one CSV. Every score says its range and which way is better."""
    from cinestage.edit.programme import ProgrammeOptions
    from cinestage.edit.selection import FusionWeights
    from cinestage.pipeline.assess_job import FILES, AssessOptions, assess_videos
    from cinestage.pipeline.output import MANIFEST

    try:
        programme = ProgrammeOptions(min_shot=min_shot, max_shot=max_shot or None)
        options = AssessOptions(every=every, programme=programme, weights=FusionWeights(_weights(weight)),
                                aesthetic_head=aesthetic_head, vsfa=vsfa_weights)
        if (folder / MANIFEST).is_file():
            _assess_render(folder, options, out_csv)
            return
        with _progress("videos") as bar:
            task = bar.add_task("assessing videos", total=None)
            csv_path = out_csv or folder / FILES["scores_csv"]
            results = assess_videos(folder, options, csv_path, _advance(bar, task))
    except CinestageError as exc:
        _fail(exc)
    _print_scores("video", [(r.video.name, r.score.value if r.score else float("nan"), f"error: {r.error}" if r.error else "")
                            for r in results])
    out.print(f"scores: {csv_path}, {csv_path.with_suffix('.json')}", markup=False, soft_wrap=True)
    failed = sum(r.error is not None for r in results)
    if failed:
        out.print(f"{failed} of {len(results)} videos could not be scored (see the error column)", markup=False, soft_wrap=True)


def _weights(values: list[str]) -> dict[str, str]:
    """--weight NAME=VALUE flags as a dict (FusionWeights checks names and numbers)."""
    weights = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not name.strip():
            raise CinestageError("--weight", f"{value!r} is not NAME=VALUE (e.g. thirds=0.5)")
        weights[name.strip()] = number.strip()
    return weights


def _pairs(values: list[str]) -> tuple[tuple[int, int], ...]:
    pairs = []
    for v in values:
        try:
            a, b = (int(x) for x in v.split(","))
        except ValueError:
            raise CinestageError("--pair", f"{v!r} is not two track ids like 3,5") from None
        pairs.append((a, b))
    return tuple(pairs)


@app.command()
def analyze(
    clip: Path = typer.Argument(..., help="a video file (any container/codec PyAV reads)"),
    out_dir: Path = typer.Option(..., "--out", "-o", help="output folder"),
    pair: list[str] = typer.Option([], "--pair", help="main pair by track ids, e.g. 3,5 (repeat for other shots)"),
    input_size: Optional[int] = typer.Option(None, min=128, max=1024, help="pose network input (default: per shot)"),
    shots: str = typer.Option("adaptive", help="shot detector: adaptive (robust to camera motion), content or both"),
    min_shot: int = typer.Option(15, min=1, help="shots shorter than this many frames are merged (or dropped)"),
    drop_short: bool = typer.Option(False, help="drop short shots instead of merging them"),
    overlay: bool = typer.Option(True, help="write overlay.mp4"),
) -> None:
    """Shots, people, the main pair and per-frame camera/character features of a real clip."""
    from cinestage.film.analysis import AnalysisOptions
    from cinestage.pipeline.analyze_job import analyze_clip

    try:
        if shots not in ("content", "adaptive", "both"):
            raise CinestageError("--shots", f"{shots!r} is not one of content, adaptive, both")
        opts = AnalysisOptions(input_size=input_size, shot_method=shots, min_shot_frames=min_shot,
                               short_shots="drop" if drop_short else "merge", pairs=_pairs(pair))
        with _progress() as bar:
            task = bar.add_task(f"analysing {clip.name}", total=None)
            result = analyze_clip(clip, out_dir, opts, _advance(bar, task), overlay)
    except CinestageError as exc:
        _fail(exc)
    n = len(result.times)
    out.print(f"{clip.name}: {n} frames, {len(result.shots)} shots, {len(result.tracks)} tracks "
              f"({n / max(result.seconds, 1e-9):.1f} frames/s)")
    for s in result.shots:
        if s.pair is None:
            out.print(f"  {s.problem}", markup=False)
        else:
            cover = len(s.pair.frames) / max(s.shot.frames, 1)
            out.print(f"  shot {s.shot.index}: main pair A=#{s.pair.a} B=#{s.pair.b} in {cover:.0%} of its frames")
    out.print(f"outputs in {out_dir}/: analysis.json, features.png{', overlay.mp4' if overlay else ''}")


train_app = typer.Typer(no_args_is_help=True, help="Train cinestage's networks (reproducibly).")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate trained networks; prints the figures their papers report.")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


@train_app.command("feature-net")
def train_feature_net(
    out_path: Path = typer.Option(Path("feature_net.pt"), "--out", "-o", help="checkpoint to write"),
    shots: int = typer.Option(600, min=10, help="projected synthetic training shots"),
    rendered: int = typer.Option(72, min=0, help="rendered duets (x 4 cameras) read back by the pose estimator"),
    epochs: int = typer.Option(40, min=1),
    seed: int = typer.Option(0, min=0),
) -> None:
    """Train the feature-estimation network on synthetic shots (2D joints -> theta, phi, character)."""
    from cinestage.pipeline.feature_training import TrainingConfig, train

    try:
        estimator = train(TrainingConfig(shots=shots, rendered=rendered, epochs=epochs, seed=seed), log=lambda m: err.print(m, markup=False))
        estimator.save(out_path)
    except CinestageError as exc:
        _fail(exc)
    out.print(f"wrote {out_path} ({estimator.info['windows']} windows, {estimator.info['seconds']} s)")


@train_app.command("behavior")
def train_behavior(
    gating: str = typer.Option("lstm-sa3", help="gating variant, or 'all' for the seven of the ablation"),
    out_dir: Path = typer.Option(Path("behavior-checkpoints"), "--out", "-o", help="folder for <variant>.pt"),
    steps: int = typer.Option(2500, min=1),
    per_category: int = typer.Option(10, min=1, help="synthetic shots per behaviour x shot category"),
    seed: int = typer.Option(0, min=0),
) -> None:
    """Train the camera-behaviour model (gating network + mixture of experts) on synthetic shots."""
    from cinestage.behavior.dataset import generate
    from cinestage.behavior.gating import GATING_VARIANTS
    from cinestage.behavior.training import BehaviourConfig, save, train

    variants = GATING_VARIANTS if gating == "all" else (gating,)
    if any(v not in GATING_VARIANTS for v in variants):
        _fail(CinestageError("--gating", f"{gating!r} is not 'all' or one of {', '.join(GATING_VARIANTS)}"))
    log = lambda m: err.print(m, markup=False)  # noqa: E731
    data = generate(per_category, seed=seed)
    for v in variants:
        model, norm, info = train(BehaviourConfig(gating=v, steps=steps, per_category=per_category, seed=seed), data, log)
        save(model, norm, info, out_dir / f"{v}.pt")
        out.print(f"wrote {out_dir / f'{v}.pt'} ({info['seconds']} s)")


@train_app.command("recogniser")
def train_recogniser(
    out_path: Path = typer.Option(Path("recogniser.pt"), "--out", "-o", help="checkpoint to write"),
    steps: int = typer.Option(3000, min=1),
    per_category: int = typer.Option(60, min=1, help="synthetic shots per behaviour x shot category"),
    rendered: int = typer.Option(120, min=0, help="references rendered and read back by the film analysis"),
    feature_net: str = typer.Option("default", help="feature network reading them back: 'default' (shipped) or a path"),
    estimated: float = typer.Option(0.5, min=0.0, max=1.0, help="share of synthetic crops with simulated estimation errors"),
    transplanted: float = typer.Option(0.0, min=0.0, max=1.0, help="share of synthetic crops carrying a read-back "
                                                                   "reference's real errors"),
    seed: int = typer.Option(0, min=0),
    workers: int = typer.Option(0, min=0, help="processes rendering and reading back references (0: one per CPU core)"),
) -> None:
    """Train the behaviour recogniser (which canonical behaviour shot a reference) on synthetic
    shots and on references rendered and read back like real clips."""
    from cinestage.behavior.recognition import RecogniserConfig, train_recogniser as train
    from cinestage.film.feature_net import from_pretrained
    from cinestage.pipeline.readback_references import readback_references

    if estimated + transplanted > 1.0:
        _fail(CinestageError("--transplanted", f"{estimated} estimated + {transplanted} transplanted is more than "
                                               "all the synthetic crops (at most 1)"))
    log = lambda m: err.print(m, markup=False)  # noqa: E731
    try:
        features = from_pretrained(feature_net)
        readbacks = readback_references(rendered, features, progress=lambda i, n: log(f"read back {i}/{n}"),
                                        workers=workers) if rendered else []
        config = RecogniserConfig(per_category=per_category, steps=steps, estimated=estimated, transplanted=transplanted,
                                  seed=seed)
        recogniser = train(config, log=log, readbacks=readbacks)
        recogniser.save(out_path)
    except CinestageError as exc:
        _fail(exc)
    out.print(f"wrote {out_path} ({recogniser.info['sequences']} sequences, {len(readbacks)} read back, "
              f"{recogniser.info['seconds']} s)")


@eval_app.command("behavior")
def eval_behavior(
    checkpoints: Optional[Path] = typer.Option(None, help="folder of <variant>.pt (default: the shipped ones)"),
    roundtrip: bool = typer.Option(False, help="also render a reference of each of the 24 categories, read it back, "
                                              "recognise and re-apply its style (lstm-sa3; a few minutes)"),
    per_category: int = typer.Option(1, min=1, help="round-trip references of each of the 24 categories"),
    workers: int = typer.Option(0, min=0, help="processes running round-trip references (0: one per CPU core)"),
) -> None:
    """The ablation table (paper's Table 4 form): trajectory MSE on held-out behaviours and
    motions per gating variant, and behaviour recognition from the style code."""
    from cinestage.behavior.training import ablation
    from cinestage.pipeline.behaviour_roundtrip import roundtrip as run_roundtrip, summary as roundtrip_summary

    try:
        rows = ablation(checkpoints)
        trip = run_roundtrip(per_category=per_category, log=lambda m: err.print(m, markup=False), folder=checkpoints,
                            workers=workers) if roundtrip else None
    except CinestageError as exc:
        _fail(exc)
    out.print(f"{'gating':16} {'MSE held-out behaviours':>24} {'MSE held-out motions':>21} {'behaviour acc.':>15} {'category acc.':>14}")
    for r in rows:
        out.print(f"{r['gating']:16} {r['behaviours']['mse']:24.4f} {r['motions']['mse']:21.4f} "
                  f"{r['motions']['behaviour_accuracy']:15.1%} {r['motions']['category_accuracy']:14.1%}")
    out.print("(MSE in standardised camera-feature units over the 30 predicted frames; accuracies on held-out "
              "motions: the behaviour a linear probe reads from the style code, the shot size nearest its layout; "
              "a clip's behaviour is named by the recogniser, `cinestage eval recogniser`)")
    if trip:
        out.print("\n" + "\n".join(roundtrip_summary(trip)))


@eval_app.command("recogniser")
def eval_recogniser(
    checkpoint: str = typer.Option("default", help="'default' (shipped) or a checkpoint path"),
    per_category: int = typer.Option(5, min=1, help="held-out synthetic shots per behaviour x shot category"),
    rendered: int = typer.Option(0, min=0, help="also render this many held-out references and read them back "
                                               "like real clips (about 15 s each)"),
    feature_net: str = typer.Option("default", help="feature network reading them back: 'default' (shipped) or a path"),
    workers: int = typer.Option(0, min=0, help="processes rendering and reading back references (0: one per CPU core)"),
) -> None:
    """Behaviour recognition on held-out duets and cameras: accuracy and confusion, on exact
    features, with the film analysis's estimation errors and, with --rendered, on references the
    film analysis read back."""
    from cinestage.behavior.recognition import evaluate_recogniser, from_pretrained, held_out_references
    from cinestage.behavior.synthetic import BEHAVIOURS
    from cinestage.film.feature_net import from_pretrained as feature_net_from_pretrained
    from cinestage.pipeline.readback_references import HELD_OUT, readback_references

    try:
        recogniser = from_pretrained(checkpoint)
        readbacks = readback_references(rendered, feature_net_from_pretrained(feature_net), first=HELD_OUT,
                                        progress=lambda i, n: err.print(f"read back {i}/{n}"),
                                        workers=workers) if rendered else []
    except CinestageError as exc:
        _fail(exc)
    references = held_out_references(per_category)
    report = evaluate_recogniser(recogniser, references, readbacks=readbacks)
    out.print(f"{len(references)} held-out references (unseen duets and cameras)")
    for kind, r in report.items():
        out.print(f"\n{kind} features ({r['references']} references): behaviour recognised {r['accuracy']:.1%}")
        out.print(f"{'true / found':14}" + "".join(f"{b:>12}" for b in BEHAVIOURS))
        for b, row in zip(BEHAVIOURS, r["confusion"]):
            out.print(f"{b:14}" + "".join(f"{n:12d}" for n in row))


@eval_app.command("feature-net")
def eval_feature_net(
    checkpoint: str = typer.Option("default", help="'default' (shipped) or a checkpoint path"),
    shots: int = typer.Option(120, min=5, help="held-out synthetic shots, projected joints"),
    rendered: int = typer.Option(4, min=0, help="held-out duets rendered through 4 cameras and read back like real clips"),
) -> None:
    """theta/phi errors on held-out synthetic shots, against the training-mean baseline."""
    from cinestage.film.feature_net import from_pretrained
    from cinestage.pipeline.feature_training import evaluate_projected
    from cinestage.pipeline.feature_eval import evaluate_rendered

    try:
        est = from_pretrained(checkpoint)
        out.print(f"checkpoint {checkpoint} ({est.info.get('trained_on', 'unknown training')})", markup=False)
        report = evaluate_projected(est, shots=shots)
        out.print(f"\n{shots} held-out synthetic shots, projected joints + pose-estimator noise: {report['windows']} windows")
        _print_errors(report)
        if rendered:
            report = evaluate_rendered(est, duets=rendered, log=lambda m: err.print(m, markup=False))
            out.print(f"\n{rendered} held-out duets x 4 cameras rendered, read back end to end (MoveNet, shots, tracking, "
                      f"main pair): main pair in {report['pair_frames']}/{report['frames']} camera-frames")
            if report["pair_frames"]:
                _print_errors(report)
    except CinestageError as exc:
        _fail(exc)


def _print_errors(report: dict) -> None:
    out.print(f"{'':24} {'median':>8} {'p90':>8}   (degrees)")
    for key in ("theta", "theta_baseline", "phi", "phi_baseline"):
        r = report[key]
        out.print(f"{r['name']:24} {r['median_deg']:8.1f} {r['p90_deg']:8.1f}")


# --- the quality models: aesthetics (METHODS.md §4) and VSFA (§5) ---------------------------------

AESTHETIC_FORMATS = ("ava", "cadb")


def _say(message: str) -> None:
    """A report line on stdout, as written (no wrapping, no markup)."""
    out.print(message, markup=False, highlight=False, soft_wrap=True)


def _note(message: str) -> None:
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def _aesthetic_data(folder: Path, labels: Path, format: str) -> None:
    """Checked before any model loads, so a typo costs no waiting."""
    if format not in AESTHETIC_FORMATS:
        raise CinestageError("--format", f"{format!r} is not one of {', '.join(AESTHETIC_FORMATS)}")
    if not folder.is_dir():
        raise CinestageError(str(folder), "no such folder of images")
    if not labels.is_file():
        raise CinestageError(str(labels), "no such label file")


@train_app.command("aesthetics")
def train_aesthetics_command(
    folder: Path = typer.Argument(..., help="folder of images"),
    labels: Path = typer.Argument(..., help="AVA.txt (--format ava) or CADB's composition_scores.json (--format cadb)"),
    format: str = typer.Option(..., "--format", "-f", help="label format: ava or cadb"),
    out_path: Path = typer.Option(..., "--out", "-o", help="heads checkpoint to write (HEAD.pt)"),
    steps: int = typer.Option(1000, min=1, help="Adam steps"),
    batch_size: int = typer.Option(16, min=1),
    lr: float = typer.Option(3e-4, min=0.0, help="learning rate of the heads"),
    fine_tune: bool = typer.Option(False, "--fine-tune", help="also train the ImageNet MobileNetV2 backbone "
                                                             "(slower; the checkpoint then holds it)"),
    split: Optional[str] = typer.Option(None, help="cadb: the part of split.json to train on, e.g. train"),
    seed: int = typer.Option(0, min=0),
) -> None:
    """Train the aesthetic model's heads (NIMA + composition patterns + attributes) on AVA- or
    CADB-format data; use the checkpoint with `cinestage assess --aesthetic-head`."""
    try:
        _aesthetic_data(folder, labels, format)  # before torch loads, so a typo costs no waiting
        from cinestage.assess.aesthetic_training import train_aesthetics

        with _progress("steps") as bar:
            task = bar.add_task("training the aesthetic heads", total=steps)
            run = train_aesthetics(folder, labels, format, steps=steps, batch_size=batch_size, lr=lr,
                                   fine_tune=fine_tune, split=split, out=out_path, seed=seed, log=_note,
                                   progress=_advance(bar, task))
    except CinestageError as exc:
        _fail(exc)
    info = run.scorer.info
    _say(f"wrote {out_path} ({info['images']} {format.upper()}-format images, {steps} steps, "
         f"loss {run.initial_loss:.4f} -> {run.final_loss:.4f}, {run.seconds:.1f} s)")


@eval_app.command("aesthetics")
def eval_aesthetics_command(
    checkpoint: Path = typer.Argument(..., help="HEAD.pt written by `cinestage train aesthetics`"),
    folder: Path = typer.Argument(..., help="folder of images"),
    labels: Path = typer.Argument(..., help="AVA.txt (--format ava) or CADB's composition_scores.json (--format cadb)"),
    format: str = typer.Option(..., "--format", "-f", help="label format: ava or cadb"),
    split: Optional[str] = typer.Option(None, help="cadb: the part of split.json to evaluate on, e.g. test"),
    threshold: Optional[float] = typer.Option(None, help="'good' means a mean score above this for ACC "
                                                         "(default: 5 for AVA, 3 for CADB)"),
    batch_size: int = typer.Option(16, min=1),
) -> None:
    """ACC, EMD (r = 2), PLCC and SRCC of the fused head and of the NIMA head, beside the paper's
    AVA figures."""
    try:
        _aesthetic_data(folder, labels, format)
        from cinestage.assess.aesthetic_training import evaluate_aesthetics
        from cinestage.assess.aesthetics import from_pretrained

        scorer = from_pretrained(checkpoint)
        info = scorer.info
        _say(f"checkpoint {checkpoint} ({info.get('dataset_format', 'unknown')} data, {info.get('images', '?')} images, "
             f"{info.get('steps', '?')} steps{', fine-tuned backbone' if info.get('fine_tuned') else ''})")
        evaluate_aesthetics(scorer, folder, labels, format, split=split, threshold=threshold, batch_size=batch_size,
                            log=_say)
    except CinestageError as exc:
        _fail(exc)


@train_app.command("vsfa")
def train_vsfa_command(
    features: Path = typer.Argument(..., help="folder of <video>.npy frame features (`cinestage features vsfa`)"),
    labels: Path = typer.Argument(..., help="CSV with columns video_name, mos (KoNViD-1k's format)"),
    out_path: Path = typer.Option(..., "--out", "-o", help="VSFA.pt to write (a state dict, like the published one)"),
    epochs: int = typer.Option(3000, min=1),
    batch_size: int = typer.Option(16, min=1),
    lr: float = typer.Option(1e-5, min=0.0),
    seed: int = typer.Option(0, min=0, help="seeds the 60/20/20 split of the videos and the initial weights"),
) -> None:
    """Train the VSFA head on precomputed frame features: L1 on MOS / largest MOS, Adam, a
    60/20/20 split, the state with the best validation SRCC; prints the test split's figures."""
    from cinestage.assess.vsfa import PAPER_KONVID, train_vsfa

    try:
        with _progress("epochs") as bar:
            task = bar.add_task("training VSFA", total=epochs)
            run = train_vsfa(features, labels, out=out_path, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                             log=_note, progress=_advance(bar, task))
    except CinestageError as exc:
        _fail(exc)
    sizes = ", ".join(f"{len(v)} {k}" for k, v in run.splits.items())
    _say(f"wrote {out_path} (videos: {sizes}; best validation SRCC {run.val_srcc:.4f} at epoch {run.best_epoch + 1}; "
         f"scores are MOS / {run.label_scale:g})")
    if run.test:
        _say("test split: " + ", ".join(f"{k} {run.test[k]:.4f}" for k in ("SRCC", "KRCC", "PLCC", "RMSE"))
             + f" (paper, KoNViD-1k: {PAPER_KONVID})")
    else:
        _say("test split: too small to evaluate")


@eval_app.command("vsfa")
def eval_vsfa_command(
    checkpoint: Path = typer.Argument(..., help="VSFA.pt (the published one, or one from `cinestage train vsfa`)"),
    features: Path = typer.Argument(..., help="folder of <video>.npy frame features (`cinestage features vsfa`)"),
    labels: Path = typer.Argument(..., help="CSV with columns video_name, mos (KoNViD-1k's format)"),
    label_scale: Optional[float] = typer.Option(None, min=0.0, help="the largest MOS the model was trained against "
                                                                    "(default: the largest in LABELS; 4.64 for the "
                                                                    "published KoNViD-1k VSFA.pt)"),
) -> None:
    """SRCC, KRCC, PLCC and RMSE (MOS scale; PLCC and RMSE after the 4-parameter logistic fit) of
    the labelled videos, beside the paper's KoNViD-1k figures."""
    from cinestage.assess.vsfa import evaluate_vsfa, from_pretrained

    try:
        model = from_pretrained(checkpoint)
        evaluate_vsfa(model, features, labels, label_scale=label_scale or None, log=_say)
    except CinestageError as exc:
        _fail(exc)


features_app = typer.Typer(no_args_is_help=True, help="Precompute model inputs from videos.")
app.add_typer(features_app, name="features")


@features_app.command("vsfa")
def features_vsfa_command(
    videos: Path = typer.Argument(..., help="folder of videos"),
    out_dir: Path = typer.Argument(..., help="folder for <video>.npy, (frames, 4096) float32 each"),
    weights: Optional[Path] = typer.Option(None, help="a torchvision ResNet-50 state dict (default: ImageNet's "
                                                      "resnet50-0676ba61.pth from the torch hub cache)"),
    batch_size: int = typer.Option(8, min=1, help="frames through the backbone at a time"),
    max_side: Optional[int] = typer.Option(None, min=33, help="shrink frames to this long side (pixels) first "
                                                              "(default: decoded size, as the reference)"),
) -> None:
    """ResNet-50 frame features of every video of a folder, for `cinestage train vsfa` / `eval vsfa`.
    Videos whose .npy exists already are skipped, so an interrupted run resumes."""
    from cinestage.errors import VideoError

    try:
        if not videos.is_dir():
            raise VideoError(str(videos), "no such folder of videos")
        from cinestage.assess.vsfa import extract_features, load_backbone

        backbone = load_backbone(weights=weights)
        with _progress("videos") as bar:
            task = bar.add_task("extracting VSFA features", total=None)
            written = extract_features(videos, out_dir, backbone, batch_size=batch_size, max_side=max_side,
                                       progress=_advance(bar, task))
    except CinestageError as exc:
        _fail(exc)
    _say(f"{len(written)} feature file(s) in {out_dir}/ (backbone {backbone.name})")


# --- highlights: Video2GIF ranking (METHODS.md §6) and GIFs ---------------------------------------


@app.command()
def highlights(
    video: Path = typer.Argument(..., help="a video file"),
    top: int = typer.Option(3, min=1, help="how many highlights (GIFs)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="output folder (default out/<video name>-highlights)"),
    ranker: Optional[Path] = typer.Option(None, help="a ranker from `cinestage train highlights` (default: the "
                                                     "unsupervised fallback: motion, sharpness, exposure, both actors visible)"),
    max_bytes: Optional[int] = typer.Option(None, min=1, help="largest GIF in bytes (default 2 MB)"),
    window: Optional[float] = typer.Option(None, min=0.5, help="seconds per segment (default: the ranker's, or 2)"),
) -> None:
    """The best moments of a clip as looping, palette-optimised GIFs, a thumbnail, and
    highlights.json with every segment's score (its range and direction) and which ranker gave it."""
    from cinestage.edit.gif import GifOptions
    from cinestage.pipeline.highlights_job import make_highlights

    out_dir = out_dir or Path("out") / f"{video.stem}-highlights"
    try:
        gif = GifOptions(max_bytes=max_bytes) if max_bytes is not None else GifOptions()
        with _progress() as bar:
            task = bar.add_task(f"ranking {video.name}", total=None)
            result = make_highlights(video, out_dir, top, ranker, gif, window,
                                     _advance(bar, task))
    except CinestageError as exc:
        _fail(exc)
    _say(f"ranker: {result.scores.ranker}; {len(result.video.segments)} segments of {result.video.duration:.1f} s")
    for k, (i, g) in enumerate(zip(result.chosen, result.gifs, strict=True), start=1):
        s = result.video.segments[i]
        _say(f"{g.path.name}: {s.start_time:.2f}-{s.end_time:.2f} s, score {result.scores.values[i]:.3f}, "
             f"{g.bytes / 1e6:.2f} MB, {g.width}x{g.height} at {g.fps:.1f} fps")
    _say(f"outputs in {out_dir}/: highlight-<k>.gif, {result.thumbnail.name}, {result.document.name}")


@train_app.command("highlights")
def train_highlights_command(
    folder: Path = typer.Argument(..., help="folder of videos"),
    labels: Path = typer.Argument(..., help="CSV with columns video, start_s, end_s[, popularity]: one row per "
                                            "marked highlight"),
    out_path: Path = typer.Option(..., "--out", "-o", help="ranker checkpoint to write"),
    steps: int = typer.Option(3000, min=1, help="SGD steps"),
    batch_size: int = typer.Option(64, min=1, help="pairs per step"),
    lr: float = typer.Option(1e-3, min=0.0),
    adaptive: bool = typer.Option(True, "--adaptive/--plain", help="adaptive Huber loss (delta 1.5 + popularity) "
                                                                   "or the plain one (delta 1.5)"),
    window: Optional[float] = typer.Option(None, min=0.5, help="seconds per segment (default 2)"),
    seed: int = typer.Option(0, min=0),
) -> None:
    """Train the Video2GIF ranking net on pairs of segments within each video: marked vs unmarked."""
    from cinestage.edit.highlights import load_labelled, segment_options, train_ranker

    try:
        with _progress("videos") as bar:
            task = bar.add_task("segmenting the videos", total=None)
            videos = load_labelled(folder, labels, segment_options(None, window),
                                   _advance(bar, task))
        ranker = train_ranker(videos, steps=steps, batch_size=batch_size, lr=lr, adaptive=adaptive, seed=seed,
                              out=out_path, log=_note)
    except CinestageError as exc:
        _fail(exc)
    first, last = ranker.info["loss"]
    _say(f"wrote {out_path} ({ranker.info['trained_on']}, {steps} steps, rank loss {first:.4f} -> {last:.4f})")


@eval_app.command("highlights")
def eval_highlights_command(
    folder: Path = typer.Argument(..., help="folder of videos"),
    labels: Path = typer.Argument(..., help="CSV with columns video, start_s, end_s[, popularity]"),
    ranker: Optional[Path] = typer.Option(None, help="a ranker from `cinestage train highlights` "
                                                     "(default: the unsupervised fallback)"),
    window: Optional[float] = typer.Option(None, min=0.5, help="seconds per segment (default: the ranker's, or 2)"),
) -> None:
    """mAP and nMSD (Gygli et al. 2016) of a ranker on videos with marked highlights, beside chance."""
    from cinestage.edit.highlights import evaluate_ranker, from_pretrained, load_labelled, segment_options

    try:
        model = from_pretrained(ranker) if ranker is not None else None
        options = segment_options(model, window)
        with _progress("videos") as bar:
            task = bar.add_task("segmenting the videos", total=None)
            videos = load_labelled(folder, labels, options, _advance(bar, task))
        evaluate_ranker(model, videos, log=_say)
    except CinestageError as exc:
        _fail(exc)


# --- tags: cinematographic tags and VideoTag (METHODS.md §7) ---------------------------------------

_TAG_KINDS = {"shot_size": "shot size", "camera_movement": "movement", "people": "people", "framing": "framing",
              "content": "content"}


@app.command()
def tags(
    source: Path = typer.Argument(..., help="a video file or a render output folder"),
    model: Optional[Path] = typer.Option(None, "--model", help="a VideoTag checkpoint (`cinestage train videotag`): "
                                                               "adds its content tags"),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="where the tags go (default DIR/tags.json, or "
                                                                      "<video name>.tags.json beside the video)"),
) -> None:
    """Shot size, camera movement, number of people and framing of every camera of a render or
    every shot of a clip, each with its confidence and evidence; content tags with --model."""
    from cinestage.edit.cine_tags import tag_source, tags_path

    try:
        tagger = None
        if model is not None:
            from cinestage.edit.videotag import from_pretrained

            tagger = from_pretrained(model)
        with _progress() as bar:
            task = bar.add_task(f"tagging {source.name}", total=None)
            report = tag_source(source, tagger, _advance(bar, task))
        target = report.save(out_path or tags_path(source))
    except CinestageError as exc:
        _fail(exc)
    for clip in report.clips:
        _say(f"{clip.name} ({clip.start:.1f}-{clip.end:.1f} s)")
        for t in clip.tags:
            _say(f"  {_TAG_KINDS[t.kind]:10} {t.value:17} {t.confidence:4.2f}  {t.evidence}")
    _say(f"tags: {target}")


@train_app.command("videotag")
def train_videotag_command(
    folder: Path = typer.Argument(..., help="folder of videos with tags.txt and labels.csv (video,tags; tags "
                                            "separated by ';')"),
    out_path: Path = typer.Option(..., "--out", "-o", help="VideoTag checkpoint to write"),
    tags_file: Optional[Path] = typer.Option(None, "--tags", help="tag list (default FOLDER/tags.txt)"),
    labels: Optional[Path] = typer.Option(None, help="labels (default FOLDER/labels.csv)"),
    steps: int = typer.Option(500, min=1),
    batch_size: int = typer.Option(32, min=1),
    lr: float = typer.Option(1e-3, min=0.0, help="centred RMSProp learning rate"),
    per_segment: int = typer.Option(3, min=1, help="candidate snippets per segment (one is drawn per step)"),
    seed: int = typer.Option(0, min=0),
    segments: Optional[int] = typer.Option(None, min=1, help="TSN segments K (default 32)"),
    embedding: Optional[int] = typer.Option(None, min=1, help="input FC width (default 1024)"),
    lstm: Optional[int] = typer.Option(None, min=1, help="LSTM width per direction (default 512)"),
    fc1: Optional[int] = typer.Option(None, min=1, help="first FC width (default 8192)"),
    fc2: Optional[int] = typer.Option(None, min=1, help="second FC width (default 4096)"),
    image_size: Optional[int] = typer.Option(None, min=32, help="snippet crop side in pixels (default 224)"),
) -> None:
    """Train VideoTag's attention-LSTM head on TSN snippets of a labelled folder of videos."""
    try:
        from cinestage.edit.videotag import SnippetEncoder, VideoTagConfig, read_tag_set, tag_set_features, train_videotag

        data = read_tag_set(folder, tags_file, labels)
        widths = dict(segments=segments, embedding=embedding, lstm=lstm, fc1=fc1, fc2=fc2, image_size=image_size)
        config = VideoTagConfig(data.tags, **{k: v for k, v in widths.items() if v is not None})
        encoder = SnippetEncoder(config.image_size)
        with _progress("videos") as bar:
            task = bar.add_task("TSN snippet features", total=len(data.videos))
            features = tag_set_features(data, encoder, config.segments, per_segment,
                                        _advance(bar, task))
        with _progress("steps") as bar:
            task = bar.add_task("training VideoTag", total=steps)
            run = train_videotag(data, config, steps=steps, batch_size=batch_size, lr=lr, per_segment=per_segment,
                                 seed=seed, out=out_path, encoder=encoder, features=features,
                                 progress=_advance(bar, task))
    except CinestageError as exc:
        _fail(exc)
    _say(f"wrote {out_path} ({len(data.videos)} videos, {len(data.tags)} tags, {steps} steps, "
         f"loss {run.losses[0]:.4f} -> {run.losses[-1]:.4f}, {run.seconds:.1f} s)")


@eval_app.command("videotag")
def eval_videotag_command(
    model: Path = typer.Argument(..., help="a VideoTag checkpoint"),
    folder: Path = typer.Argument(..., help="folder of videos with labels.csv in the model's tags"),
    labels: Optional[Path] = typer.Option(None, help="labels (default FOLDER/labels.csv)"),
) -> None:
    """Pooled precision, recall and F1 (METHODS.md §7) on a labelled folder, beside chance."""
    try:
        from cinestage.edit.videotag import evaluate_videotag, from_pretrained, read_tag_set

        tagger = from_pretrained(model)
        data = read_tag_set(folder, tagger.config.tags, labels)
        with _progress("videos") as bar:
            task = bar.add_task("TSN snippet features", total=len(data.videos))
            evaluate_videotag(tagger, data, log=_say, progress=_advance(bar, task))
    except CinestageError as exc:
        _fail(exc)


server_app = typer.Typer(no_args_is_help=True, help="Render servers of the web service.")
user_app = typer.Typer(no_args_is_help=True, help="Users of the web service.")
app.add_typer(server_app, name="server")
app.add_typer(user_app, name="user")


def _add_account(kind: str, name: str) -> None:
    """Create a server or a user in the service's database (CINESTAGE_DATABASE_URL or the data
    folder's SQLite) and print its id and secret, which is shown only this once."""
    from sqlalchemy.exc import SQLAlchemyError

    from cinestage.service import accounts
    from cinestage.service.db import migrate, sessions

    try:
        try:
            db = sessions(migrate(Settings().database()))
            row, secret = accounts.add_server(db, name) if kind == "server" else accounts.add_user(db, name)
        except SQLAlchemyError as exc:
            raise CinestageError("database", f"cannot be used: {str(exc).splitlines()[0]}") from None
    except CinestageError as exc:
        _fail(exc)
    if kind == "server":
        out.print(f"server_id: {row.server_id}\ncredential: {secret}", markup=False, highlight=False)
    else:
        out.print(f"openid: {row.openid}\ntoken: {secret}", markup=False, highlight=False)
    _note(f"keep the {'credential' if kind == 'server' else 'token'}: it is shown only this once (only its hash is stored)")


@server_app.command("add")
def server_add(name: str = typer.Argument(..., help="a name to recognise the render server by")) -> None:
    """Register a render server: prints its server_id and credential (AFS-SERVER-ID + bearer token)."""
    _add_account("server", name)


@user_app.command("add")
def user_add(name: str = typer.Argument(..., help="the user's display name")) -> None:
    """Create a user: prints their openid and API token."""
    _add_account("user", name)


@app.command()
def worker(
    api: Optional[str] = typer.Option(None, "--api", help="the API's URL (a remote render server); default: "
                                                           "this machine's database and storage (CINESTAGE_*)"),
    server_id: Optional[str] = typer.Option(None, "--server-id", help="with --api: the id `cinestage server add` printed"),
    credential: Optional[str] = typer.Option(None, "--credential", envvar="CINESTAGE_CREDENTIAL",
                                             help="with --api: the server's credential (or CINESTAGE_CREDENTIAL)"),
    executor: Optional[str] = typer.Option(None, "--executor", help="process, ray, serial or auto (default: "
                                                                     "CINESTAGE_EXECUTOR, auto = ray when RAY_ADDRESS is set)"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="local processes (default: one per core)"),
    group_size: Optional[int] = typer.Option(None, "--group-size", min=1,
                                             help="cameras rendered together (default: the cameras spread over the workers)"),
    once: bool = typer.Option(False, "--once", help="work on at most one task, then exit"),
) -> None:
    """Render server: claim queued tasks, shoot them (cameras fanned out over processes or a Ray
    cluster), upload the results and report them. SIGTERM: finish the running camera groups and
    their uploads, give the task back, exit."""
    import logging
    import signal
    import threading

    from cinestage.service.executor import executor_for
    from cinestage.service.worker import DatabaseBackend, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    try:
        if api is not None:
            from cinestage.service.worker_http import HttpBackend

            if not (server_id and credential):
                raise CinestageError("--api", "needs --server-id and --credential (from `cinestage server add NAME`)")
            backend = HttpBackend(api, server_id, credential, lease_s=settings.lease_s)
        else:
            backend = DatabaseBackend(settings)
        pool = executor_for(executor or settings, workers, fatal=(CinestageError,))
    except CinestageError as exc:
        _fail(exc)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        run_worker(backend, pool, stop, once=once, group_size=group_size)
    finally:
        pool.close()
        backend.close()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(8000, min=1, max=65535),
    local_workers: int = typer.Option(1, "--local-workers", min=0, help="render workers started with the server "
                                                                         "(0: only remote ones)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="where the database and files go "
                                                                     "(default CINESTAGE_DATA_DIR, or ./cinestage-data)"),
) -> None:
    """The whole service on one machine: the /v1 API, the web app at http://HOST:PORT/ and a
    local render worker, on SQLite and a local folder (nothing else to install)."""
    import os
    import signal
    import subprocess

    import uvicorn

    from cinestage.service.api import create_app

    if data_dir is not None:
        os.environ["CINESTAGE_DATA_DIR"] = str(data_dir.resolve())  # the workers read the same settings
    settings = Settings()
    try:
        application = create_app(settings)  # migrates the database before any worker polls it
    except CinestageError as exc:
        _fail(exc)
    # Workers run as their own processes: rendering and scoring never hold up the API's event loop.
    workers = [subprocess.Popen([sys.executable, "-m", "cinestage", "worker"]) for _ in range(local_workers)]
    out.print(f"cinestage at http://{host}:{port}/ (API /v1, OpenAPI /openapi.json); {local_workers} local worker(s); "
              f"data in {settings.data_dir}", markup=False)
    # uvicorn shuts down on SIGTERM, then raises it again with the handler it found: the default
    # one ended this process before the `finally` below, and the workers lived on, orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()


def main() -> None:
    """Console entry: usage mistakes (unknown option, bad number) also end in one line, exit 2."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        code = 130
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:
        # Typer vendors click; its usage errors are the exceptions that can format a message.
        if not hasattr(exc, "format_message"):
            raise
        err.print(f"cinestage: error: {' '.join(exc.format_message().split())}", markup=False, highlight=False, soft_wrap=True)
        code = 2
    sys.exit(code or 0)
