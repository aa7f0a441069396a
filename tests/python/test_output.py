"""Output for teaching: probesim.print_log2_hist prints what bcc's print_log2_hist prints."""
import io

import pytest

import probesim


def test_log2_buckets_index_as_bpf_log2l():
    assert probesim.log2_buckets([0, 1, 2, 3, 4, 7, 8]) == [1, 1, 2, 2, 1]
    assert probesim.log2_buckets([]) == []
    with pytest.raises(ValueError, match="negative value -1"):
        probesim.log2_buckets([-1])


def test_print_log2_hist_matches_bccs_layout():
    out = io.StringIO()
    probesim.print_log2_hist([1, 2, 3, 4, 7, 100], "cycles", file=out)
    assert out.getvalue().splitlines() == [
        "     cycles              : count     distribution",
        "         0 -> 1          : 1        |********************                    |",
        "         2 -> 3          : 2        |****************************************|",
        "         4 -> 7          : 2        |****************************************|",
        "         8 -> 15         : 0        |                                        |",
        "        16 -> 31         : 0        |                                        |",
        "        32 -> 63         : 0        |                                        |",
        "        64 -> 127        : 1        |********************                    |",
    ]


def test_print_log2_hist_strips_leading_zeros_and_widens_for_large_values():
    out = io.StringIO()
    probesim.print_log2_hist([40, 2**40], strip_leading_zero=True, file=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "               value                         : count     distribution"
    assert lines[1].split(":")[0].split() == ["32", "->", "63"]
    assert lines[-1].split(":")[0].split() == [str(2**40), "->", str(2**41 - 1)]
    assert lines[1].endswith("|********************|")  # 20 stars wide above 32 buckets
    assert len(lines) == 1 + 41 - 5
