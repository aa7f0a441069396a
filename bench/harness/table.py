"""Plain-text tables for the terminal (and docs/benchmarks.md "Latest numbers")."""
from __future__ import annotations


def format_table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """Columns are left-aligned except the indices in `right`; rows may hold fewer cells."""
    right = right or set()
    width = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            width[i] = max(width[i], len(cell))

    def line(cells: list[str]) -> str:
        cells = cells + [""] * (len(headers) - len(cells))
        out = [c.rjust(width[i]) if i in right else c.ljust(width[i]) for i, c in enumerate(cells)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in width)
    return "\n".join([line(headers), rule] + [line(r) for r in rows])


def fmt_count(n: int | None) -> str:
    if n is None:
        return "?"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f}{suffix}"
    return str(n)


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"
