"""The feature curves of an analysis as one PNG: screen layout, Toric angles, distance, confidence."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from cinestage.files import atomic_path
from cinestage.film.analysis import FilmAnalysis  # noqa: E402


def plot_features(analysis: FilmAnalysis, path: Path) -> Path:
    fig, axes = plt.subplots(4, 1, figsize=(11, 9), sharex=True, constrained_layout=True)
    t = analysis.times
    panels = [("screen position (normalised)", (-1.05, 1.05)), ("Toric angle (degrees)", None),
              ("distance between actors (m)", None), ("confidence", (0, 1.02))]
    for ax, (label, lim) in zip(axes, panels):
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
        if lim:
            ax.set_ylim(*lim)
        for s in analysis.shots[1:]:
            ax.axvline(s.shot.start_time, color="0.4", lw=0.8, ls="--")
    for i, p in enumerate(analysis.pairs):
        tt = t[p.frames]
        first = i == 0
        axes[0].plot(tt, p.camera[:, 0], color="tab:orange", label="xA" if first else None)
        axes[0].plot(tt, p.camera[:, 1], color="tab:cyan", label="xB" if first else None)
        axes[0].plot(tt, p.camera[:, 2], color="tab:purple", label="mean y" if first else None)
        axes[1].plot(tt, np.degrees(p.camera[:, 3]), color="tab:red", label="theta" if first else None)
        axes[1].plot(tt, np.degrees(np.unwrap(p.camera[:, 4])), color="tab:blue", label="phi" if first else None)
        axes[2].plot(tt, p.character[:, 0], color="tab:green")
        axes[3].plot(tt, p.confidence, color="0.2")
    for ax in axes[:2]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=8, ncol=3)
    if not analysis.pairs:
        axes[0].text(0.5, 0.5, "no main pair in any shot", transform=axes[0].transAxes, ha="center", fontsize=12)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0, max(float(t[-1]) if len(t) else 1.0, 1e-3))
    fig.suptitle(f"{Path(analysis.info.path).name}: main-pair features per frame (shot cuts dashed)", fontsize=11)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path
