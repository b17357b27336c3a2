r"""Per-batch checkpoints: a long benchmark run stops and continues where it was.

The harness skips a run whose run file is finished; a run that was stopped (the session ended,
the machine was needed, Ctrl-C) would start again from its initial design. A method that can
continue from a saved state (:attr:`~axfusion.benchmarks.methods.Method.supports_checkpoint`:
the fusion optimiser and its ablations) is handed a :class:`RunCheckpoint` instead; after every
measured batch it calls :meth:`RunCheckpoint.save` with the evaluator and its own state (for
fusion, the campaign's :meth:`~axfusion.campaign.FusionOptimizer.state_dict`), and a rerun of
the same benchmark command restores the evaluator's history and the method's state and goes on
with the next batch. The campaign resumes exactly, so the continued run equals an uninterrupted
one, batch for batch (``tests/benchmarks/test_checkpoint.py``).

A checkpoint is one gzipped JSON file, written atomically, under the results folder's ignored
``full/partial/<task>/<method>/seed<N>.json.gz``. It records what the run is (task, method,
seed, options, budget, stop rule); a checkpoint of another run setup is not continued (a
warning names why) and the run starts afresh. It is removed once the run file is written.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from axfusion.files import atomic_write

__all__ = ["CHECKPOINT_SCHEMA", "RunCheckpoint", "checkpoint_path"]

CHECKPOINT_SCHEMA = "axfusion.bench.checkpoint/1"


def checkpoint_path(out_dir: str | os.PathLike[str], task: str, method: str, seed: int) -> Path:
    r"""Where the checkpoint of one run lives (inside the git-ignored ``full/`` folder)."""
    safe = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in method)
    return Path(out_dir) / "full" / "partial" / task / safe / f"seed{int(seed)}.json.gz"


class RunCheckpoint:
    r"""The saved state of one unfinished run.

    Args:
        path: The checkpoint file.
        identity: What the run is (JSON-able: task, method, seed, options, budget, ...);
            a checkpoint written under another identity is not continued.

    Attributes:
        resumed: The checkpoint's content when :meth:`load` found a matching one, else ``None``.
        discarded: Why :meth:`load` did not continue an existing file, else ``None``.
        elapsed: Set by the runner: ``elapsed() -> {"wall": s, "method": s}``, the run's
            seconds so far (before a resume included), saved with the state.
    """

    def __init__(self, path: str | os.PathLike[str], identity: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.identity = json.loads(json.dumps(dict(identity), sort_keys=True))
        self.resumed: dict[str, Any] | None = None
        self.elapsed: Callable[[], dict[str, float]] | None = None
        self.discarded: str | None = None
        self.n_saved = 0

    def load(self) -> dict[str, Any] | None:
        r"""The saved state if the file exists and belongs to this run, else ``None``.

        An unreadable file or one of another run setup is ignored, and :attr:`discarded` names
        why (the runner warns with it; the run then starts afresh and overwrites the file).
        """
        self.resumed = None
        self.discarded = None
        if not self.path.exists():
            return None
        try:
            data = json.loads(gzip.decompress(self.path.read_bytes()))
        except (OSError, EOFError, ValueError) as error:
            self.discarded = f"{self.path}: unreadable checkpoint ({error}); the run starts afresh."
            return None
        if not isinstance(data, dict) or data.get("schema") != CHECKPOINT_SCHEMA:
            self.discarded = f"{self.path}: not a checkpoint of this version; the run starts afresh."
            return None
        if data.get("identity") != self.identity:
            theirs = data.get("identity") or {}
            differ = sorted(k for k in set(theirs) | set(self.identity) if theirs.get(k) != self.identity.get(k))
            self.discarded = (
                f"{self.path}: a checkpoint of another run setup (differs in {differ}); the run starts afresh."
            )
            return None
        self.resumed = data
        return data

    def save(self, evaluator: Any, method_state: Mapping[str, Any]) -> None:
        r"""Write the run's state after a measured batch, atomically.

        Args:
            evaluator: The run's :class:`~axfusion.benchmarks.tasks.Evaluator` (its history).
            method_state: The method's own state (JSON-able), given back by :meth:`load`
                under ``"method"``.
        """
        resumes = list((self.resumed or {}).get("resumes", []))
        elapsed = self.elapsed() if self.elapsed is not None else {}
        payload = {
            "schema": CHECKPOINT_SCHEMA, "identity": self.identity, "evaluator": evaluator.state_dict(),
            "method": dict(method_state), "elapsed": {k: float(v) for k, v in elapsed.items()}, "resumes": resumes,
        }
        data = gzip.compress(json.dumps(payload).encode("utf-8"), compresslevel=5, mtime=0)
        atomic_write(self.path, lambda fh: fh.write(data), binary=True)
        self.n_saved += 1

    def clear(self) -> None:
        r"""Remove the checkpoint (the run is finished) and its empty folders."""
        if self.path.exists():
            self.path.unlink()
        for parent in (self.path.parent, self.path.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break
