"""Panda3D set up for headless, frame-exact rendering (no window, no audio, no real-time clock)."""

from __future__ import annotations

import importlib
import importlib.util
import os

from cinestage.errors import RenderError

_PRC = """
window-type none
audio-library-name null
sync-video false
framebuffer-multisample 0
multisamples 0
clock-mode non-real-time
gl-debug false
notify-level-display error
notify-level-egldisplay error
notify-level-device fatal
notify-level-glgsg error
textures-power-2 none
"""

_DISPLAYS = {"egl": "p3headlessgl", "software": "p3tinydisplay"}

_engine = None


class Engine:
    """One GraphicsEngine and GraphicsPipe for the process; Panda3D wants exactly one."""

    def __init__(self, display: str = "auto"):
        from panda3d.core import GraphicsEngine, GraphicsPipeSelection, loadPrcFileData

        loadPrcFileData("cinestage", _PRC)
        order = {"auto": ["egl", "software"], "egl": ["egl"], "software": ["software"]}.get(display)
        if order is None:
            raise RenderError("display", f"unknown display {display!r}; use auto, egl or software")
        selection = GraphicsPipeSelection.getGlobalPtr()
        self.pipe = None
        for name in order:
            pipe = selection.makeModulePipe(_DISPLAYS[name])
            if pipe is not None and pipe.isValid():
                self.pipe, self.kind = pipe, name
                break
        if self.pipe is None:
            raise RenderError("display", "no headless renderer: install libegl1 libegl-mesa0 libgl1-mesa-dri (EGL) or use Panda3D's p3tinydisplay")
        self.graphics = GraphicsEngine.getGlobalPtr()


def engine(display: str = "auto") -> Engine:
    global _engine
    if _engine is None:
        # llvmpipe rasterises on all cores; measured on 2 cores, leaving one to the encoder
        # thread instead was 1.5x slower (x264 waits far less than the rasteriser).
        os.environ.setdefault("LP_NUM_THREADS", str(os.cpu_count() or 2))
        _load_triton_first()
        _engine = Engine(display)
    return _engine


def _load_triton_first() -> None:
    """torch loads triton for its optimisers and compiler; triton carries its own LLVM, and loaded
    after Mesa's llvmpipe has brought in the system's LLVM the two clash and the process dies
    (SIGSEGV). Loaded first, both work, so a process may render and then train."""
    if importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")
