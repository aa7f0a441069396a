"""Figures with matplotlib's Agg backend. matplotlib is optional: without it (e.g. the pyenv
python3 on PATH; Debian's /usr/bin/python3 has it) figures are skipped with a note."""
from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot configured for files, or None if matplotlib is not importable."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def _short(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.3g}"


def grouped_bars(path: Path, title: str, groups: list[str], series: dict[str, list],
                 ylabel: str, errors: dict[str, tuple[list, list]] | None = None,
                 log: bool = False, hline: tuple[float, str] | None = None) -> Path | None:
    """One bar group per entry of `groups`, one bar per series (None values leave a gap).
    errors[label] = (lows, highs) draws min..max whiskers. Returns the path, or None."""
    plt = pyplot()
    if plt is None or not groups or not series:
        return None
    n = len(series)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(7.0, 1.3 * len(groups) * max(n, 2) / 2 + 2.5), 4.2))
    for i, (label, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        pts = [(x, v) for x, v in zip(xs, values) if v is not None]
        if not pts:
            continue
        bars = ax.bar([p[0] for p in pts], [p[1] for p in pts], width, label=label)
        if errors and label in errors:
            lo, hi = errors[label]
            keep = [j for j, v in enumerate(values) if v is not None]
            yerr = [[values[j] - lo[j] for j in keep], [hi[j] - values[j] for j in keep]]
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=yerr, fmt="none",
                        ecolor="black", capsize=2, linewidth=0.8)
        ax.bar_label(bars, labels=[_short(p[1]) for p in pts], fontsize=7, padding=1)
    if hline:
        ax.axhline(hline[0], color="red", linestyle="--", linewidth=1, label=hline[1])
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
