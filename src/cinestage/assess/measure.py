"""One scored quantity, self-describing: every score cinestage reports says its range and which
way is better, so a number in a report or a CSV is never ambiguous (is NIQE 4.2 good? lower is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Measure:
    """name: stable identifier (snake_case); value: the summary over the shot; low/high: the
    range the value can take (inf where unbounded); better: which direction is better;
    curve: (T,) per-frame values where the measure has them (NaN where undefined);
    unit: what the number counts, for humans."""

    name: str
    value: float
    low: float
    high: float
    better: Better
    curve: np.ndarray | None = field(default=None, compare=False)
    unit: str = ""

    def __post_init__(self):
        if self.better not in ("higher", "lower"):
            raise ValueError(f"{self.name}: better must be 'higher' or 'lower', not {self.better!r}")
        if not self.low <= self.high:
            raise ValueError(f"{self.name}: empty range [{self.low}, {self.high}]")

    def goodness(self) -> float:
        """The value mapped to [0, 1], 1 best; for unbounded ranges a soft squash around 0."""
        lo, hi, v = self.low, self.high, float(self.value)
        if np.isnan(v):
            return float("nan")
        if np.isfinite(lo) and np.isfinite(hi):
            g = (np.clip(v, lo, hi) - lo) / (hi - lo) if hi > lo else 1.0
        else:
            ref = lo if np.isfinite(lo) else (hi if np.isfinite(hi) else 0.0)
            g = 1.0 - 1.0 / (1.0 + abs(v - ref))
            if not np.isfinite(lo) and np.isfinite(hi):
                g = 1.0 - g
        return float(g if self.better == "higher" else 1.0 - g)

    def to_json(self) -> dict:
        d = {"name": self.name, "value": _num(self.value), "range": [_num(self.low), _num(self.high)],
             "better": self.better, "unit": self.unit}
        if self.curve is not None:
            d["curve"] = [_num(x) for x in np.asarray(self.curve, float)]
        return d


def _num(x: float):
    """JSON has no inf or NaN: None for NaN, strings for the infinities."""
    x = float(x)
    if np.isnan(x):
        return None
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return round(x, 6)
