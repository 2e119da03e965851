"""Whether cameras stand in the set or see the pair through it: the checks of the Toric rigs'
clear view (camera.rigs), shared by the rig and learned-camera tests."""

import numpy as np

from cinestage.geometry import segment_through_box
from cinestage.stage.performance import Performance, set_pieces


def set_in_the_way(positions: np.ndarray, performance: Performance) -> tuple[np.ndarray, np.ndarray]:
    """(T,) frames whose camera stands inside a set piece, and (T,) frames where a piece stands
    between the camera and the actors' heads' midpoint."""
    mid = (performance.actors[0].head() + performance.actors[1].head()) / 2
    inside = np.zeros(len(positions), bool)
    blocked = np.zeros(len(positions), bool)
    for centre, size in set_pieces(performance.venue):
        lo, hi = centre - size / 2, centre + size / 2
        inside |= np.all((positions > lo) & (positions < hi), axis=1)
        near, far = segment_through_box(positions, mid, lo, hi)
        blocked |= (near < far) & (far > 0) & (near < 1)
    return inside, blocked
