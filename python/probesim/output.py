"""Output for teaching: histograms printed the way bcc's tools print them."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

__all__ = ["log2_buckets", "print_log2_hist"]

_STARS_MAX = 40  # bcc's table.py stars_max


def log2_buckets(values: Iterable[int]) -> list[int]:
    """Counts per power-of-two bucket, as bpf_log2l() indexes them: bucket 0 holds 0, bucket
    i >= 1 holds [2**(i-1), 2**i - 1]. Negative values are refused (ValueError)."""
    counts: list[int] = []
    for v in values:
        if v < 0:
            raise ValueError(f"print_log2_hist: negative value {v}")
        i = int(v).bit_length()  # bpf_log2l: floor(log2(v)) + 1 for v > 0, 0 for 0
        if i >= len(counts):
            counts.extend([0] * (i + 1 - len(counts)))
        counts[i] += 1
    return counts


def _stars(val: int, val_max: int, width: int) -> str:
    # bcc's _stars: width * val / val_max stars, '+' when val exceeds the scale
    text = ""
    i = 0
    while not (i > (width * val / val_max) - 1 or i > width - 1):
        text += "*"
        i += 1
    if val > val_max:
        text = text[:-1] + "+"
    return text


def print_log2_hist(values: Iterable[int], val_type: str = "value", *,
                    strip_leading_zero: bool = False, file: TextIO | None = None) -> None:
    """Print a power-of-two histogram of `values` exactly as bcc's
    ``table.print_log2_hist(val_type)`` prints a BPF_HISTOGRAM filled with
    ``dist.increment(bpf_log2l(v))``: one line per bucket from "0 -> 1" up to the highest
    non-empty one (zeros are counted in bucket 0, which bcc never prints)."""
    out = file if file is not None else sys.stdout
    vals = log2_buckets(values)
    idx_max = max((i for i, v in enumerate(vals) if v > 0), default=-1)
    val_max = max(vals, default=0)
    if idx_max <= 32:
        header = "     %-19s : count     distribution"
        body = "%10d -> %-10d : %-8d |%-*s|"
        stars = _STARS_MAX
    else:
        header = "               %-29s : count     distribution"
        body = "%20d -> %-20d : %-8d |%-*s|"
        stars = _STARS_MAX // 2
    if idx_max > 0:
        print(header % val_type, file=out)
    for i in range(1, idx_max + 1):
        low, high = (1 << i) >> 1, (1 << i) - 1
        if low == high:
            low -= 1
        val = vals[i]
        if strip_leading_zero and not val:
            continue
        strip_leading_zero = False
        print(body % (low, high, val, stars, _stars(val, val_max, stars)), file=out)
