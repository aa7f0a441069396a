"""Unit tests of the scaling benchmarks' pure pieces (no build needed)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.immap_scaling import _parse  # noqa: E402
from harness.lines import slope  # noqa: E402


def test_slope_is_the_least_squares_fit():
    assert abs(slope([1, 10, 50], [100, 190, 590]) - 10.0) < 1e-9
    assert slope([5, 5], [1, 2]) is None


def test_immap_json_lines_are_keyed_by_n_and_other_lines_ignored():
    rows = _parse('{"n":10,"queries":200,"hits":3,"tree_ns":1.5,"linear_ns":2,"insert_ns":9}\n'
                  "noise\n")
    assert list(rows) == [10] and rows[10]["tree_ns"] == 1.5


def _row(kind, arch, n, secs, kib, peer_secs=None, peer_kib=None):
    peer = None if peer_secs is None else {"seconds": peer_secs, "rss_kib": peer_kib}
    return {"kind": kind, "arch": arch, "n": n, "probesim": {"seconds": secs, "rss_kib": kib},
            "peer": peer}


def test_mm_scaling_slopes_are_kib_per_process_thread_and_file_mib():
    from harness.mm_scaling import summaries
    rows = [_row("forks", "x86_64", 10, 1, 1000), _row("forks", "x86_64", 20, 1, 2000),
            _row("privwrite", "x86_64", 16, 1, 100), _row("privwrite", "x86_64", 64, 1, 196),
            _row("mmaps", "x86_64", 250, 1, 5)]
    s = summaries(rows, ("x86_64", "aarch64"))
    assert s["kib_per_process"]["x86_64"] == 100.0
    assert s["rss_kib_per_file_mib"]["x86_64"] == 2.0
    assert s["kib_per_thread"] == {"x86_64": None, "aarch64": None}
    assert s["rss_kib_per_touched_mib"] == {"x86_64": None, "aarch64": None}


def test_mm_scaling_table_gives_ratios_and_dashes_without_a_peer():
    from harness.mm_scaling import table
    text = table([_row("mmaps", "x86_64", 250, 2.0, 300, 0.5, 100),
                  _row("mmaps", "aarch64", 125, 1.0, 10)])
    lines = text.splitlines()
    assert "4.00x" in lines[2] and "3.00x" in lines[2]
    assert lines[3].split()[4:6] == ["-", "-"]


def test_mm_scaling_points_pass_the_old_region_ceilings():
    # 4,096 regions on x86_64 and 1,024 on aarch64 used to abort the host (emu/uc_regions.h).
    from harness.mm_scaling import POINTS
    assert max(POINTS["mmaps"]["x86_64"]) > 4096 and max(POINTS["mmaps"]["aarch64"]) > 1024
    assert 2 * max(POINTS["threads"]["x86_64"]) > 4096
    assert 2 * max(POINTS["threads"]["aarch64"]) > 1024


def test_mm_scaling_sparse_file_has_its_size_and_no_blocks(tmp_path):
    from harness.mm_scaling import sparse_file
    p = sparse_file(tmp_path, 16)
    assert p.stat().st_size == 16 << 20 and p.stat().st_blocks == 0


def test_paging_lines_are_keyed_by_arch_kind_and_n_and_medians_taken():
    from harness.paging import medians, parse, tables
    line = ('{"arch":"x86_64","kind":"fill","pages":8,"hit_ns":2,"refill_ns":%d,"miss_ns":9,'
            '"model_ns":1,"flush_ns":5}\n{"arch":"x86_64","kind":"vmas","n":1000,'
            '"mmap_ns":%d,"touch_ns":3,"frames":1001}\nnoise\n')
    runs = [parse(line % (100, 7)), parse(line % (300, 9)), parse(line % (200, 8))]
    assert set(runs[0]) == {("x86_64", "fill", 8), ("x86_64", "vmas", 1000)}
    rows = medians(runs)
    assert rows[0]["refill_ns"] == 200 and rows[1]["mmap_ns"] == 8 and rows[1]["frames"] == 1001
    fill_table, vma_table = tables(rows)
    assert "200" in fill_table.splitlines()[2] and "1001" in vma_table.splitlines()[2]
