"""Every checkpoint the package ships stays under the 20 MB limit and loads with its from_pretrained."""

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from cinestage.behavior.recognition import from_pretrained as recogniser
from cinestage.film.feature_net import from_pretrained as feature_net

SHIPPED = sorted(Path(str(resources.files("cinestage"))).glob("*/checkpoints/*.pt"))


def test_the_package_ships_the_feature_net_the_recogniser_and_seven_behaviour_models():
    names = {f"{p.parent.parent.name}/{p.name}" for p in SHIPPED}
    assert {"film/feature_net.pt", "behavior/recogniser.pt", "behavior/lstm-sa3.pt"} <= names
    assert len([n for n in names if n.startswith("behavior/")]) == 8


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_shipped_checkpoint_is_under_20_mb(path):
    assert 0 < path.stat().st_size < 20e6


def test_the_shipped_feature_net_and_recogniser_load_and_name_themselves_by_content():
    root = Path(str(resources.files("cinestage")))
    for model, path in ((feature_net(), "film/checkpoints/feature_net.pt"), (recogniser(), "behavior/checkpoints/recogniser.pt")):
        assert model.info["sha256"] == hashlib.sha256((root / path).read_bytes()).hexdigest()[:16]
