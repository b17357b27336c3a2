r"""Safe writes and the campaign lock (``axfusion.files``): previous files survive a failed write,
output paths are refused before any work, and a second process never holds a campaign at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from axfusion.files import (
    CampaignLockedError,
    OutputPathError,
    atomic_write,
    campaign_lock,
    check_output_path,
    lock_path,
)

_HOLD = textwrap.dedent(
    """
    import sys, time
    from axfusion.files import campaign_lock
    with campaign_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder(tmp_path, campaign, seconds):
    script = tmp_path / "hold.py"
    script.write_text(_HOLD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(campaign), str(seconds)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_atomic_write_replaces_whole_files_and_keeps_the_old_one_on_failure(tmp_path):
    path = tmp_path / "out.csv"
    atomic_write(path, lambda fh: fh.write("a\n1\n"))
    assert path.read_text() == "a\n1\n"
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # the umask's mode, not mkstemp's 0600

    def full_disk(fh):
        fh.write("a\n")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(path, full_disk)
    assert path.read_text() == "a\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary file left


def test_atomic_write_exclusive_never_replaces(tmp_path):
    path = tmp_path / "out.csv"
    atomic_write(path, lambda fh: fh.write("first"), exclusive=True)
    with pytest.raises(FileExistsError):
        atomic_write(path, lambda fh: fh.write("second"), exclusive=True)
    assert path.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_check_output_path_names_the_problem(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputPathError, match="afile is a file, not a folder"):
        check_output_path(tmp_path / "afile" / "deeper" / "out.csv", "--out")
    with pytest.raises(OutputPathError, match="is a directory"):
        check_output_path(tmp_path, "--out")
    check_output_path(tmp_path / "new" / "folder" / "out.csv", "--out")  # folders would be created
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_output_path_refuses_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match="does not accept new files"):
            check_output_path(folder / "out.csv", "--out")
    finally:
        folder.chmod(0o755)


def test_check_output_path_refuses_a_folder_that_rejects_files(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputPathError, match="Permission denied"):
        check_output_path(tmp_path / "out.csv", "the campaign file")


def test_campaign_lock_refuses_a_second_process_and_names_the_holder(tmp_path):
    campaign = tmp_path / "c.campaign.json"
    proc = _holder(tmp_path, campaign, 30)
    try:
        with pytest.raises(CampaignLockedError, match=r"in use by another run \(pid \d+") as info, campaign_lock(
            campaign
        ):
            pass
        assert str(lock_path(campaign)) in str(info.value) and "--wait" in str(info.value)
        told = []
        start = time.monotonic()
        with pytest.raises(CampaignLockedError), campaign_lock(campaign, wait=0.5, on_wait=told.append):
            pass
        assert time.monotonic() - start >= 0.5 and len(told) == 1 and "waiting" in told[0]
    finally:
        proc.kill()
        proc.wait()
    with campaign_lock(campaign):  # a killed holder released it
        pass


def test_campaign_lock_waits_for_the_holder_to_finish(tmp_path):
    campaign = tmp_path / "c.json"
    proc = _holder(tmp_path, campaign, 1)
    try:
        with campaign_lock(campaign, wait=30):
            assert proc.wait(timeout=5) == 0  # the lock came only once the holder had ended
    finally:
        proc.wait()


def test_campaign_lock_is_reentrant_in_one_process(tmp_path):
    campaign = tmp_path / "c.json"
    with campaign_lock(campaign), campaign_lock(campaign):
        pass
    with campaign_lock(campaign):
        pass


_COUNT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from axfusion.files import campaign_lock
    counter = Path(sys.argv[1])
    for _ in range(int(sys.argv[2])):
        with campaign_lock(counter, wait=60):
            value = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(value + 1))
    """
)


def test_the_lock_loses_no_update_among_concurrent_processes(tmp_path):
    # the lock file is removed on release; a run that opened the old file must not also hold it
    script = tmp_path / "count.py"
    script.write_text(_COUNT)
    counter = tmp_path / "counter"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    procs = [subprocess.Popen([sys.executable, str(script), str(counter), "40"], env=env) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert counter.read_text() == "160"
    assert not lock_path(counter).exists()  # nothing left behind
