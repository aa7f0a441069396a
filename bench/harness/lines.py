"""Line figures (scaling curves) with matplotlib's Agg backend; skipped without matplotlib,
like harness/plots.py."""
from __future__ import annotations

from pathlib import Path

from harness.plots import pyplot


def line_plot(path: Path, title: str, series: dict[str, tuple[list, list]], xlabel: str,
              ylabel: str, logx: bool = True, logy: bool = True) -> Path | None:
    """One marked line per series: series[label] = (xs, ys). Returns the path, or None."""
    plt = pyplot()
    if plt is None or not series:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, (xs, ys) in series.items():
        pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys over xs, or None with fewer than two distinct xs."""
    if len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
