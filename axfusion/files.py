r"""Writing the user's files safely: atomic replacement, early checks, and the campaign lock.

Nothing here imports more than the standard library, so the command line can check its
output paths before it loads torch or fits a model.

- :func:`atomic_write` writes a file through a temporary file in the same folder and renames
  it into place (``os.replace``, or a hard link for an exclusive create): a full disk, a
  read-only folder or a kill leaves the previous file intact, never a truncated one.
- :func:`check_output_path` says, before any expensive work, why a file could not be written
  there (a directory, a parent that is a file, a folder that cannot be written).
- :func:`campaign_lock` holds an OS file lock (``fcntl.flock`` on POSIX) on
  ``<campaign>.lock`` while a run reads, extends and saves a campaign, so that two runs on one
  campaign never both proceed on the same state; the lock is re-entrant within one process.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no OS lock, see campaign_lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CampaignChangedError",
    "CampaignLockedError",
    "OutputPathError",
    "atomic_write",
    "campaign_lock",
    "check_output_path",
    "lock_path",
]


class OutputPathError(ValueError):
    r"""A file cannot be written where asked; the message names the path, the reason and the fix."""


class CampaignLockedError(RuntimeError):
    r"""Another run holds the campaign's lock; the message names the lock file and the holder."""


class CampaignChangedError(RuntimeError):
    r"""The campaign file changed on disk since this optimiser read or wrote it (another run saved it)."""


def _file_mode() -> int:
    r"""The mode a plain ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[Any]], object],
    *,
    binary: bool = False,
    exclusive: bool = False,
) -> None:
    r"""Write ``path`` through a temporary file in its folder, then rename it into place.

    Args:
        path: The file to write; its folder is created if needed.
        write: Writes the content to the open (text, ``newline=""``, or binary) file.
        binary: Open the temporary file in binary mode.
        exclusive: Never replace an existing ``path`` (raises :class:`FileExistsError`).

    Raises:
        OSError: The file could not be written; ``path`` is as it was before.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        if exclusive:
            try:
                os.link(tmp, path)  # fails if path exists: never replaces a file that appeared meanwhile
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                if path.exists():
                    raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def check_output_path(path: str | os.PathLike[str], role: str) -> None:
    r"""Raise :class:`OutputPathError` unless a file can be written at ``path``.

    Checks that ``path`` is not a directory, that no parent of it is a file, and that its
    folder (or the nearest existing parent, where folders would be created) accepts a new
    file -- by creating and removing one, so read-only folders and file systems are caught.

    Args:
        path: The file to be written.
        role: How the message names it, e.g. ``"--out"`` or ``"the campaign file"``.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{role} {path} is a directory; give a file name.")
    folder = path.parent
    while not folder.exists():
        if folder == folder.parent:
            break
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(
            f"{role} {path} cannot be written: {folder} is a file, not a folder. Choose another path."
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputPathError(
            f"{role} {path} cannot be written: the folder {folder} does not accept new files ({reason}). "
            "Choose a writable folder."
        ) from error
    os.close(fd)
    os.remove(probe)


def lock_path(campaign: str | os.PathLike[str]) -> Path:
    r"""The lock file beside a campaign file: ``c.campaign.json`` -> ``c.campaign.json.lock``."""
    campaign = Path(campaign)
    return campaign.with_name(f"{campaign.name}.lock")


_held: dict[str, list[Any]] = {}  # resolved lock path -> [file object, depth], locks this process holds
_held_guard = threading.Lock()


def _holder(lock: Path) -> str:
    r"""What the lock file says about the run that holds it (written when it took the lock)."""
    try:
        text = lock.read_text().strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


@contextlib.contextmanager
def campaign_lock(
    campaign: str | os.PathLike[str],
    *,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    r"""Hold the campaign's lock (``<campaign>.lock``) for the ``with`` block.

    The lock is an OS lock (``fcntl.flock``): it is released when the block ends or the
    process dies, so a killed run never leaves a campaign locked. It is re-entrant in one
    process. The lock file stays in place (removing it would race with a waiting run).
    Without ``fcntl`` (Windows) no lock is taken.

    Args:
        campaign: The campaign file.
        wait: Seconds to wait for another run to release the lock (0: refuse at once).
        on_wait: Called once with a message when the lock is busy and the call waits.

    Yields:
        The lock file's path.

    Raises:
        CampaignLockedError: Another run holds the lock (after ``wait`` seconds).
        OutputPathError: The lock file cannot be created (e.g. a read-only folder).
    """
    lock = lock_path(campaign)
    key = str(lock.resolve()) if lock.parent.exists() else str(lock.absolute())
    with _held_guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield lock
        finally:
            with _held_guard:
                _held[key][1] -= 1
        return
    if fcntl is None:  # pragma: no cover - Windows
        yield lock
        return
    if not 0.0 <= float(wait) < float("inf"):
        raise ValueError(f"wait must be a finite number of seconds >= 0; got {wait!r}.")
    fh = _acquire(lock, Path(campaign).name, float(wait), on_wait)
    try:
        with contextlib.suppress(OSError):
            fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            fh.flush()
        with _held_guard:
            _held[key] = [fh, 1]
        try:
            yield lock
        finally:
            with _held_guard:
                del _held[key]
            # removed while still held: a run that opened it meanwhile finds it gone and retries
            with contextlib.suppress(OSError):
                os.remove(lock)
    finally:
        fh.close()  # releases the flock


def _acquire(lock: Path, name: str, wait: float, on_wait: Callable[[str], None] | None) -> IO[str]:
    r"""Open ``lock`` and take its ``flock``, retrying until ``wait`` seconds have passed.

    A lock file is removed by its holder on release, so a lock taken on a file that is no
    longer the one at ``lock`` (same inode) is dropped and taken again on the new file.
    """
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fh = open(lock, "a+")  # noqa: SIM115 - returned open, closed by campaign_lock
        except OSError as error:
            raise OutputPathError(
                f"Cannot create the campaign lock file {lock}: {error.strerror or error}. "
                "The campaign's folder must be writable."
            ) from error
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(lock)
            fh.close()
            if time.monotonic() >= deadline:
                raise CampaignLockedError(
                    f"the campaign {name} is in use by another run{holder}; lock file {lock}. Wait until that run "
                    "ends and run again"
                    + (" (or pass a longer --wait)" if wait else " (or pass --wait SECONDS to wait for it)")
                    + "; the lock is released when the run ends, even if it is killed."
                ) from None
            if not told and on_wait is not None:
                on_wait(f"the campaign {name} is in use by another run{holder}; waiting")
                told = True
            time.sleep(0.2)
            continue
        try:
            same = os.fstat(fh.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            fh.seek(0)
            fh.truncate()
            return fh
        fh.close()  # the holder removed this file as we took it: lock the new one
