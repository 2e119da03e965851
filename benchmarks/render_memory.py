"""Peak memory of a whole render: a 60 s performance versus a 10 s one (streaming keeps it flat).

Each length runs in a fresh process (the demo duet, six cameras, 640x360) and reports its peak
resident set size. Last line: ratio = peak(60 s) / peak(10 s); target <= 1.2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = """
import resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, {bench!r})
from _common import demo_setup
from cinestage.render.renderer import render_videos
perf, tracks, opts = demo_setup({duration})
with tempfile.TemporaryDirectory() as tmp:
    render_videos(perf, tracks, [Path(tmp) / f"{{t.name}}.mp4" for t in tracks], opts)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_kib(duration: float) -> int:
    code = CHILD.format(bench=str(Path(__file__).parent), duration=duration)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def main() -> None:
    short, long = peak_kib(10.0), peak_kib(60.0)
    print(f"peak RSS 10 s: {short / 1024:.0f} MiB; 60 s: {long / 1024:.0f} MiB")
    print(f"ratio {long / short:.3f}")


if __name__ == "__main__":
    main()
