"""VSFA speed and memory: the reference's whole clip in memory vs cinestage's streamed scoring.

Reference (lidq92/VSFA test_demo.py + CNNfeatures.get_features, transcribed): decode the whole
clip into one array, convert it into one ImageNet-normalised float tensor, run the backbone on
it in batches of 32 (the demo's default), concatenating the features, then the VSFA head on all
of them at once. cinestage: `assess.vsfa.score_video`, which decodes, featurises and scores 8
frames at a time, carrying the GRU state between batches.

Both use the published head (../shared/data/weights/VSFA.pt) and one ResNet-50 with random
weights: the ImageNet weights are not available offline here, and weights change neither speed
nor memory. The clip is the first 24 frames of vsfa_test.mp4 (the reference's demo input,
960x540), decoded at 224 pixels on the short side (398x224) as typical use; at its native size
ResNet-50 costs ~6x more per frame, too slow on 2 shared CPU cores for this run. Torch uses 2
threads. Frames/s: medians of 3 runs in this process. Peak memory: the peak RSS of a fresh
process scoring the clip, and the same clip looped to 4x its length.

Last line: ratio = cinestage's peak RSS for the 4x clip / its peak RSS for the 1x clip
(1.0: memory flat in clip length; the reference's own ratio is printed above it).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).parent))
from _common import looped  # noqa: E402

from cinestage.assess.vsfa import (  # noqa: E402
    IMAGENET_MEAN,
    IMAGENET_STD,
    VSFA,
    FrameFeatures,
    from_pretrained,
    resnet50_trunk,
    score_video,
)
from cinestage.film.video import read_frames

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLIP = DATA / "videos" / "vsfa_test.mp4"
WEIGHTS = DATA / "weights" / "VSFA.pt"
FRAMES = 24
SHORT_SIDE = 224
RUNS = 3
THREADS = 2


def reference_way(path: Path, model: VSFA, backbone: FrameFeatures, max_side: int, frame_batch_size: int = 32) -> float:
    """test_demo.py: the whole clip decoded, transformed and featurised before the head runs."""
    video_data = np.stack([f.image for f in read_frames(path, max_side)])  # skvideo.io.vread
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)])
    length, height, width, channels = video_data.shape
    transformed_video = torch.zeros([length, channels, height, width])
    for frame_idx in range(length):
        transformed_video[frame_idx] = transform(video_data[frame_idx])
    output1, output2 = torch.Tensor(), torch.Tensor()
    with torch.no_grad():
        for start in range(0, length, frame_batch_size):  # get_features
            x = backbone.trunk(transformed_video[start:start + frame_batch_size])
            output1 = torch.cat((output1, torch.nn.functional.adaptive_avg_pool2d(x, 1)), 0)
            output2 = torch.cat((output2, torch.std(x.view(x.size(0), x.size(1), -1, 1), dim=2, keepdim=True)), 0)
        features = torch.cat((output1, output2), 1).squeeze(-1).squeeze(-1)
        return float(model(features[None], torch.tensor([[length]]))[0])


def streamed_way(path: Path, model: VSFA, backbone: FrameFeatures, max_side: int) -> float:
    return score_video(path, model, backbone, max_side=max_side).score


WAYS = {"reference": reference_way, "cinestage": streamed_way}


def setup() -> tuple[VSFA, FrameFeatures]:
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    return from_pretrained(WEIGHTS), FrameFeatures(resnet50_trunk(), "resnet50-random")


def max_side_for(path: Path) -> int:
    """The long side that puts the short side at SHORT_SIDE (FrameReader limits the long side)."""
    with read_frames(path) as reader:
        width, height = reader.size
    return round(SHORT_SIDE * max(width, height) / min(width, height))


def peak_mib(way: str, clip: Path, max_side: int) -> float:
    """Peak RSS of a fresh process that loads the models and scores `clip` one way. VmHWM, not
    getrusage's ru_maxrss: Linux carries the parent's peak at fork into the child's ru_maxrss."""
    child = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import vsfa_speed as b; "
             f"m, f = b.setup(); b.WAYS[{way!r}](b.Path({str(clip)!r}), m, f, {max_side}); "
             "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))")
    out = subprocess.run([sys.executable, "-c", child], check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def main() -> None:
    if not CLIP.is_file() or not WEIGHTS.is_file():
        sys.exit(f"{DATA} lacks videos/vsfa_test.mp4 or weights/VSFA.pt: the benchmark needs the shared data beside the project")
    model, backbone = setup()
    with tempfile.TemporaryDirectory() as tmp:
        one, four = looped(CLIP, 1, Path(tmp) / "x1.mp4", FRAMES), looped(CLIP, 4, Path(tmp) / "x4.mp4", FRAMES)
        max_side = max_side_for(one)
        with read_frames(one, max_side) as reader:
            width, height = reader.size
        print(f"clip: first {FRAMES} frames of {CLIP.name}, decoded at {width}x{height}; backbone ResNet-50 "
              f"(random weights), torch threads {THREADS}")
        scores = {}
        for name, way in WAYS.items():
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                scores[name] = way(one, model, backbone, max_side)
                times.append(time.perf_counter() - start)
            print(f"{name:10s} {FRAMES / statistics.median(times):6.2f} frames/s (median of {RUNS})")
        print(f"scores: reference {scores['reference']:.6f}, cinestage {scores['cinestage']:.6f} "
              f"(difference {abs(scores['reference'] - scores['cinestage']):.1e})")
        peaks = {name: (peak_mib(name, one, max_side), peak_mib(name, four, max_side)) for name in WAYS}
    for name, (p1, p4) in peaks.items():
        print(f"{name:10s} peak RSS {p1:6.0f} MiB for {FRAMES} frames, {p4:6.0f} MiB for {4 * FRAMES} frames "
              f"(x{p4 / p1:.3f})")
    print(f"ratio {peaks['cinestage'][1] / peaks['cinestage'][0]:.3f}")


if __name__ == "__main__":
    main()
