"""The `cinestage` command. User mistakes end with one line and exit code 2, never a traceback."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cinestage.errors import CinestageError
from cinestage.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False, help="Automatic virtual cinematography for staged performances.")
err = Console(stderr=True)
out = Console()


def _fail(exc: CinestageError) -> None:
    err.print(f"cinestage: error: {exc}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _progress():
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} frames"),
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
        result = render_performance(performance, tracks, out_dir, opts, lambda i, n: bar.update(task, completed=i))
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
) -> None:
    """Shoot the built-in duet with six cameras (no files needed)."""
    from cinestage.camera.spec import load_cameras
    from cinestage.stage.performance_file import demo_performance

    try:
        opts = _options(width, height, display)
        with resources.as_file(resources.files("cinestage.camera") / "demo_cameras.yaml") as path:
            specs = load_cameras(path)
        _run(demo_performance(duration, fps), specs, out_dir, opts)
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
) -> None:
    """Analyse a reference clip, learn its camera style per shot, and shoot a performance with
    those learned cameras next to the preset rigs."""
    from cinestage.camera.spec import load_cameras
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
            result = run_shoot(reference, perf, specs, out_dir, opts, gating, lambda i, n: bar.update(task, completed=i))
    except CinestageError as exc:
        _fail(exc)
    if result.problem:
        out.print(result.problem, markup=False)
    for st in result.styles:
        out.print(f"learned-shot{st.shot}: reference shot {st.shot}, nearest {st.nearest}", markup=False)
    out.print(f"rendered {len(result.render.cameras)} cameras; outputs in {out_dir}/: cameras/<name>.mp4, "
              f"styles.json, contact_sheet.png, manifest.json")


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
            result = analyze_clip(clip, out_dir, opts, lambda i, n: bar.update(task, completed=i, total=n), overlay)
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


train_app = typer.Typer(no_args_is_help=True, help="Train the networks cinestage ships (reproducibly).")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate trained networks; prints the figures their papers report.")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


@train_app.command("feature-net")
def train_feature_net(
    out_path: Path = typer.Option(Path("feature_net.pt"), "--out", "-o", help="checkpoint to write"),
    shots: int = typer.Option(600, min=10, help="projected synthetic training shots"),
    rendered: int = typer.Option(24, min=0, help="rendered duets (x 4 cameras) read back by the pose estimator"),
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


@eval_app.command("behavior")
def eval_behavior(
    checkpoints: Optional[Path] = typer.Option(None, help="folder of <variant>.pt (default: the shipped ones)"),
    roundtrip: bool = typer.Option(False, help="also render a reference of each of the 24 categories, read it back, "
                                              "recognise and re-apply its style (lstm-sa3; a few minutes)"),
) -> None:
    """The ablation table (paper's Table 4 form): trajectory MSE on held-out behaviours and
    motions per gating variant, and behaviour recognition from the style code."""
    from cinestage.behavior.training import ablation
    from cinestage.pipeline.behaviour_roundtrip import roundtrip as run_roundtrip

    try:
        rows = ablation(checkpoints)
        trip = run_roundtrip(log=lambda m: err.print(m, markup=False)) if roundtrip else None
    except CinestageError as exc:
        _fail(exc)
    out.print(f"{'gating':16} {'MSE held-out behaviours':>24} {'MSE held-out motions':>21} {'behaviour acc.':>15} {'category acc.':>14}")
    for r in rows:
        out.print(f"{r['gating']:16} {r['behaviours']['mse']:24.4f} {r['motions']['mse']:21.4f} "
                  f"{r['motions']['behaviour_accuracy']:15.1%} {r['motions']['category_accuracy']:14.1%}")
    out.print("(MSE in standardised camera-feature units over the 30 predicted frames; accuracies: nearest "
              "category centroid of the style code, on held-out motions)")
    if trip:
        out.print(f"\nround trip, {trip['references']} rendered references read back ({trip['with_style']} with a style): "
                  f"behaviour recognised {trip['behaviour_accuracy']:.1%}, category {trip['category_accuracy']:.1%}, "
                  f"re-applied layout error {trip['layout_error'] if trip['layout_error'] is None else round(trip['layout_error'], 3)}")


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
