"""Standing mannequins in flat colours: the test mode where actors are found in frames by colour."""

from __future__ import annotations

import pytest
from figures import standing_actor

from cinestage.stage.performance import Performance

RED = (1.0, 0.0, 0.0)
BLUE = (0.0, 0.0, 1.0)


@pytest.fixture
def pair_on_stage():
    """A (red) at x = -0.8 and B (blue) at x = +0.8, both facing the audience, 3 frames."""
    return Performance("pair", 25.0, (standing_actor("A", (-0.8, 0.0, 0.0), 3, colour=RED),
                                      standing_actor("B", (0.8, 0.3, 0.0), 3, colour=BLUE)))
