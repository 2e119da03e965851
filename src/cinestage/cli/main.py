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
