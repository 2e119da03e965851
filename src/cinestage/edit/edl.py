"""The programme as an edit decision list: CMX 3600 for editing systems, and JSON for programs.

Every camera renders the same performance on one clock from frame 0, so a shot's source in/out
are the same frames as its record in/out. Out points are exclusive (the first frame not used),
as CMX 3600 has them. Record timecode starts at 00:00:00:00.

Timecode needs an integer frame rate. A non-integer rate (29.97, 23.976) is written as the
nearest integer rate in non-drop-frame timecode, which counts every frame: frame numbers stay
exact, and the timecode runs slow against the clock by the ratio (0.1 % at 29.97). Both files
say so: the EDL in a comment line, the JSON in its `timecode_note`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from cinestage.edit.programme import Programme
from cinestage.errors import CinestageError
from cinestage.files import write_text

FCM = "NON-DROP FRAME"
MAX_EVENTS = 999  # CMX 3600 event numbers have three digits
REEL_LENGTH = 8
TIMECODE_HOURS = 24  # timecode wraps at midnight
_EVENT = re.compile(r"^(\d{3})\s+(\S+)\s+(\S+)\s+(\S+)\s+((?:\d\d:){3}\d\d)\s+((?:\d\d:){3}\d\d)"
                    r"\s+((?:\d\d:){3}\d\d)\s+((?:\d\d:){3}\d\d)\s*$")
CLIP_COMMENT = "* FROM CLIP NAME: "


def timecode_rate(fps: float) -> int:
    """The integer rate timecode counts at: fps rounded (see the module docstring)."""
    rate = round(fps) if math.isfinite(fps) else 0
    if rate < 1:
        raise CinestageError("EDL", f"cannot write timecode at {fps} frames per second")
    return rate


def timecode(frame: int, rate: int) -> str:
    """HH:MM:SS:FF of a frame count at an integer rate, non-drop-frame."""
    if not 0 <= frame < TIMECODE_HOURS * 3600 * rate:
        raise CinestageError("EDL", f"frame {frame} is outside the 24 hours timecode can count at {rate} fps")
    seconds, ff = divmod(frame, rate)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{ff:02d}"


def frames_of(code: str, rate: int) -> int:
    hh, mm, ss, ff = (int(x) for x in code.split(":"))
    if mm > 59 or ss > 59 or ff >= rate:
        raise ValueError(f"timecode {code} is not valid at {rate} fps")
    return ((hh * 60 + mm) * 60 + ss) * rate + ff


def reel_names(cameras: Iterable[str]) -> dict[str, str]:
    """Camera -> reel name: upper-case A-Z and 0-9 only, at most 8 characters, unique. Cameras are
    named in sorted order, so the same set of cameras always gets the same reels; a clash keeps
    the first and numbers the rest (CAMERA, CAMERA2, ...)."""
    reels: dict[str, str] = {}
    taken: set[str] = set()
    for camera in sorted(set(cameras)):
        base = re.sub(r"[^A-Z0-9]", "", camera.upper())[:REEL_LENGTH] or "CAM"
        reel, n = base, 1
        while reel in taken:
            n += 1
            reel = base[:REEL_LENGTH - len(str(n))] + str(n)
        reels[camera] = reel
        taken.add(reel)
    return reels


@dataclass(frozen=True)
class Event:
    """One edit: frames are counts at the timecode rate; out points exclusive."""

    number: int
    reel: str
    track: str
    transition: str
    source_in: int
    source_out: int
    record_in: int
    record_out: int
    clip: str | None


@dataclass(frozen=True)
class Edl:
    title: str
    fcm: str
    notes: tuple[str, ...]  # comment lines that belong to no event, without the leading "* "
    events: tuple[Event, ...]


def _events(programme: Programme, reels: Mapping[str, str] | None) -> tuple[int, list[tuple[Event, str]]]:
    if len(programme.shots) > MAX_EVENTS:
        raise CinestageError("EDL", f"{len(programme.shots)} shots: CMX 3600 holds at most {MAX_EVENTS} events")
    rate = timecode_rate(programme.fps)
    reels = dict(reels) if reels is not None else reel_names(s.camera for s in programme.shots)
    missing = sorted({s.camera for s in programme.shots} - set(reels))
    if missing:
        raise CinestageError("EDL", f"no reel name for camera(s) {missing}")
    bad = [r for r in reels.values() if not re.fullmatch(r"[A-Z0-9]{1,8}", r)]
    if bad or len(set(reels.values())) != len(reels):
        raise CinestageError("EDL", f"reel names must be unique, 1-8 characters A-Z 0-9: {sorted(reels.values())}")
    events = [(Event(i, reels[s.camera], "V", "C", s.start, s.end, s.start, s.end, f"{s.camera}.mp4"), s.camera)
              for i, s in enumerate(programme.shots, 1)]
    return rate, events


def _rate_note(fps: float, rate: int) -> str | None:
    if fps == rate:
        return None
    return (f"NOTE: the programme runs at {fps:g} fps; timecode counts its frames at {rate} fps non-drop-frame, "
            f"so it runs {abs(1 - fps / rate):.2%} {'slow' if fps < rate else 'fast'} against the clock")


def write_edl(programme: Programme, path: str | os.PathLike, title: str,
              reels: Mapping[str, str] | None = None) -> Path:
    """The programme as a CMX 3600 EDL (one video event per shot, all cuts); reels default to
    `reel_names` of the cameras, and each event names its camera's `<camera>.mp4`."""
    rate, events = _events(programme, reels)
    title = " ".join(title.split()) or "CINESTAGE PROGRAMME"
    lines = [f"TITLE: {title}", f"FCM: {FCM}"]
    note = _rate_note(programme.fps, rate)
    if note:
        lines.append(f"* {note}")
    lines.append("")
    for e, _ in events:
        codes = " ".join(timecode(f, rate) for f in (e.source_in, e.source_out, e.record_in, e.record_out))
        lines += [f"{e.number:03d}  {e.reel:<8}  {e.track:<4}  {e.transition:<4}     {codes}",
                  f"{CLIP_COMMENT}{e.clip}", ""]
    return write_text(path, "\n".join(lines))


def write_edl_json(programme: Programme, path: str | os.PathLike, title: str,
                   reels: Mapping[str, str] | None = None) -> Path:
    """The same events as `write_edl`, as JSON with frames and timecodes, plus the programme
    itself (shots, costs with their range and direction, options)."""
    rate, events = _events(programme, reels)
    doc = {
        "schema": "cinestage.edl",
        "version": 1,
        "title": title,
        "fps": programme.fps,
        "timecode_fps": rate,
        "fcm": FCM,
        "timecode_note": _rate_note(programme.fps, rate),
        "out_points": "exclusive: the first frame after the event",
        "events": [{"event": e.number, "camera": camera, "reel": e.reel, "track": e.track, "transition": e.transition,
                    "clip": e.clip,
                    **{k: {"frame": f, "timecode": timecode(f, rate)} for k, f in (
                        ("source_in", e.source_in), ("source_out", e.source_out),
                        ("record_in", e.record_in), ("record_out", e.record_out))}}
                   for e, camera in events],
        "programme": programme.to_json(),
    }
    return write_text(path, json.dumps(doc, indent=1))


def read_edl(path: str | os.PathLike, fps: float) -> Edl:
    """Parse a CMX 3600 EDL (cuts, as `write_edl` writes them) with timecodes at fps (rounded as
    `timecode_rate` rounds). Malformed lines are a CinestageError naming the file and line."""
    source = str(path)
    rate = timecode_rate(fps)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CinestageError(source, f"cannot read the EDL: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CinestageError(source, "not a text file") from None
    title, fcm, notes, events = "", "", [], []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("TITLE:"):
            title = line[len("TITLE:"):].strip()
        elif line.startswith("FCM:"):
            fcm = line[len("FCM:"):].strip()
        elif line.startswith(CLIP_COMMENT.strip()) and events:
            events[-1] = replace(events[-1], clip=line[len(CLIP_COMMENT.strip()):].strip())
        elif line.startswith("*"):
            notes.append(line[1:].strip())
        elif match := _EVENT.match(line):
            try:
                frames = [frames_of(code, rate) for code in match.groups()[4:]]
            except ValueError as exc:
                raise CinestageError(f"{source}:{number}", str(exc)) from None
            events.append(Event(int(match[1]), match[2], match[3], match[4], *frames, None))
        else:
            raise CinestageError(f"{source}:{number}", f"not an EDL line: {line!r}")
    if not title or not fcm:
        raise CinestageError(source, "not a CMX 3600 EDL: it needs a TITLE and an FCM line")
    return Edl(title, fcm, tuple(notes), tuple(events))
