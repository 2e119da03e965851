"""Film analysis throughput: raw MoveNet inference vs the whole analysis, on the same frames.

Reference: the bare LiteRT interpreter call on every frame of every clip in
../shared/data/videos, with the frames already decoded and letterboxed at the input sizes the
analysis chose (untimed preparation). cinestage: `film.analysis.analyze` on the same clips —
decoding, shot detection, pose estimation, input-size choice, tracking, main pair and the
feature network. Medians of 3 runs each. Peak memory: a clip analysed at 1x and at 4x its
length (the clip looped), each in a fresh process.

Last line: ratio = reference seconds / cinestage seconds (target >= 0.75).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).parent))
from _common import looped  # noqa: E402

from cinestage.film.analysis import AnalysisOptions, analyze  # noqa: E402
from cinestage.film.feature_net import from_pretrained
from cinestage.film.pose import MoveNetMultiPose
from cinestage.film.video import read_frames

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"
RUNS = 3

MEMORY_CHILD = """
import resource, sys
from cinestage.film.analysis import analyze
analyze(sys.argv[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def prepared_inputs(estimator: MoveNetMultiPose, clip: Path, sizes):
    """The network inputs of every frame at the size the analysis used for it."""
    tensors = []
    with read_frames(clip, max_side=sizes[0]) as reader:
        for f in reader:
            tensors.append(estimator.prepare(f.image, int(sizes[f.index]))[0])
            reader.max_side = sizes[min(f.index + 1, len(sizes) - 1)]
    return tensors


def peak_mib(clip: Path) -> float:
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(clip)], check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def main() -> None:
    if not VIDEOS.is_dir():
        sys.exit(f"{VIDEOS} is absent: the benchmark needs the real clips beside the project")
    clips = sorted(VIDEOS.glob("*.mp4"))
    opts = AnalysisOptions()
    estimator, features = MoveNetMultiPose(), from_pretrained()
    ref_times, our_times, frames = [], [], 0
    for clip in clips:
        results = []
        for _ in range(RUNS):
            start = time.perf_counter()
            analysis = analyze(clip, opts, estimator, features)
            results.append(time.perf_counter() - start)
        sizes = [0] * len(analysis.times)
        for s in analysis.shots:
            sizes[s.shot.start:s.shot.end] = [s.input_size] * s.shot.frames
        tensors = prepared_inputs(estimator, clip, sizes)
        refs = []
        for _ in range(RUNS):
            start = time.perf_counter()
            for t in tensors:
                estimator.infer(t)
            refs.append(time.perf_counter() - start)
        n = len(analysis.times)
        frames += n
        ref_times.append(statistics.median(refs))
        our_times.append(statistics.median(results))
        print(f"{clip.name:42s} {n:4d} frames  MoveNet alone {n / ref_times[-1]:6.1f} frames/s  "
              f"whole analysis {n / our_times[-1]:6.1f} frames/s  (input {sorted(set(sizes))})")
    with tempfile.TemporaryDirectory() as tmp:
        base = VIDEOS / "mmaction2_test_video_structuralize.mp4"
        one, four = peak_mib(base), peak_mib(looped(base, 4, Path(tmp) / "x4.mp4"))
        print(f"peak RSS: {one:.0f} MiB for {base.name} (10 s), {four:.0f} MiB for it looped 4x (40 s): "
              f"ratio {four / one:.3f}")
    ref, ours = sum(ref_times), sum(our_times)
    print(f"all clips: {frames} frames; MoveNet alone {frames / ref:.1f} frames/s, whole analysis {frames / ours:.1f} frames/s")
    print(f"ratio {ref / ours:.3f}")


if __name__ == "__main__":
    main()
