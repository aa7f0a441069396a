"""Machine(epoch=): the guest's wall clock at boot (issue 19). The default is fixed, so runs
repeat; an epoch is seconds since 1970 or an aware datetime, and a trace records it."""
import datetime
from pathlib import Path

import pytest

import probesim
from probesim.testing import run_program

BUSYBOX = Path("/bin/busybox")
needs_busybox = pytest.mark.skipif(not BUSYBOX.is_file(), reason="/bin/busybox is not installed")


def guest_date(m):
    p = run_program(m, [str(BUSYBOX), "date", "-u", "+%Y-%m-%dT%H:%M:%S"])
    return p.stdout.decode().strip()


@needs_busybox
def test_default_epoch_is_fixed_at_2024():
    m = probesim.Machine("x86_64")
    assert m.epoch == 1704067200
    assert guest_date(m).startswith("2024-01-01T00:00:0")


@needs_busybox
@pytest.mark.parametrize("epoch", [86400, datetime.datetime(2030, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)])
def test_epoch_sets_the_guest_wall_clock(epoch):
    m = probesim.Machine("x86_64", epoch=epoch)
    want = 86400 if isinstance(epoch, int) else int(epoch.timestamp())
    assert m.epoch == want
    shown = datetime.datetime.strptime(guest_date(m), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    assert 0 <= shown.timestamp() - want < 2  # the run itself takes virtual milliseconds


@pytest.mark.parametrize("epoch, message", [
    (-1, "epoch"),
    (253402300800, "at most 253402300799"),
    (datetime.datetime(2030, 1, 1), "naive datetime"),
    ("2030-01-01", "seconds since 1970"),
    (True, "seconds since 1970"),
])
def test_bad_epochs_raise_bad_argument(epoch, message):
    with pytest.raises(probesim.BadArgument, match=message):
        probesim.Machine("x86_64", epoch=epoch)


@needs_busybox
def test_a_trace_records_the_epoch_and_replays_it(tmp_path):
    path = tmp_path / "date.trace"
    m = probesim.Machine("x86_64", epoch=1000000000)
    m.record(path)
    first = guest_date(m)
    assert first.startswith("2001-09-09T01:46:4")
    assert "epoch: 1000000000 s" in probesim.Trace(path).text
    r = probesim.Machine(replay=path)
    assert r.epoch == 1000000000
    r.run()
    assert r.divergence is None
    assert r.replay_process.stdout.decode().strip() == first
