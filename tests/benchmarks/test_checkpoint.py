"""Per-batch checkpoints: a fusion run stopped after a batch continues from its checkpoint and
ends exactly as the uninterrupted run; a checkpoint of another setup is not continued; methods
without checkpoints are unaffected; a finished run leaves none behind."""

from __future__ import annotations

import pytest

from axfusion.benchmarks.checkpoint import RunCheckpoint, checkpoint_path
from axfusion.benchmarks.metrics import read_run_file
from axfusion.benchmarks.runner import full_run_path, run_benchmark, run_path
from axfusion.benchmarks.suites import TaskSpec

FN = TaskSpec("ck_fn", "function", "mixed_branin", n_initial=5, batch_size=2, n_iterations=4)
POOL = TaskSpec("ck_pool", "pool", "agnp", targets=("loss",), directions=("minimize",), n_initial=8,
                batch_size=4, n_iterations=4)
#: Small settings so that a batch takes well under a second.
FAST = {"families": ("ridge", "knn"), "n_members": 2, "n_box_candidates": 60, "box_de_maxiter": 3,
        "box_de_popsize": 4}


def _bench(out, task, **kw):
    return run_benchmark([task], ["fusion"], [1], out, engine="serial", progress=False,
                         method_options={"fusion": FAST}, **kw)


def _history(out, task):
    rec = read_run_file(full_run_path(out, task.name, "fusion", 1))
    h = rec["history"]
    return rec, h.get("rows", h.get("X")), h["loss"], [d["batch"] for d in rec["diagnostics"]]


def _stop_after(monkeypatch, n_saves):
    r"""Make the run stop (as Ctrl-C would) right after its ``n_saves``-th checkpoint."""
    real = RunCheckpoint.save

    def save(self, evaluator, method_state):
        real(self, evaluator, method_state)
        if self.n_saved >= n_saves:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunCheckpoint, "save", save)
    return real


@pytest.mark.parametrize("task", [POOL, FN], ids=["pool", "box"])
def test_a_stopped_run_continues_from_its_last_batch_exactly(tmp_path, monkeypatch, task):
    _bench(tmp_path / "a", task)
    whole = _history(tmp_path / "a", task)
    assert not checkpoint_path(tmp_path / "a", task.name, "fusion", 1).exists()  # a finished run has none

    real = _stop_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        _bench(tmp_path / "b", task)
    ck = checkpoint_path(tmp_path / "b", task.name, "fusion", 1)
    assert ck.exists() and not run_path(tmp_path / "b", task.name, "fusion", 1).exists()
    monkeypatch.setattr(RunCheckpoint, "save", real)
    again = _bench(tmp_path / "b", task)
    assert [c["status"] for c in again.completed] == ["ok"]
    rec, points, loss, batches = _history(tmp_path / "b", task)
    assert points == whole[1] and loss == whole[2]  # the same designs and values, batch for batch
    assert batches == whole[3][:2] + whole[3][2:] and len(batches) == 4  # diagnostics of all batches
    assert [r["iteration"] for r in rec["resumes"]] == [2]
    assert rec["n_iterations_done"] == 4 and len(rec["iteration_times"]) == 4
    assert not ck.exists() and not ck.parent.exists()


def test_a_checkpoint_of_another_setup_is_not_continued(tmp_path, monkeypatch):
    real = _stop_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        _bench(tmp_path, POOL)
    monkeypatch.setattr(RunCheckpoint, "save", real)
    other = {**FAST, "n_members": 3}
    with pytest.warns(UserWarning, match=r"another run setup \(differs in \['options'\]\)"):
        run_benchmark([POOL], ["fusion"], [1], tmp_path, engine="serial", progress=False,
                      method_options={"fusion": other})
    rec = read_run_file(full_run_path(tmp_path, POOL.name, "fusion", 1))
    assert rec["status"] == "ok" and "resumes" not in rec and rec["method_options"]["n_members"] == 3


def test_an_unreadable_checkpoint_starts_the_run_afresh(tmp_path):
    ck = checkpoint_path(tmp_path, POOL.name, "fusion", 1)
    ck.parent.mkdir(parents=True)
    ck.write_bytes(b"not gzip")
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        _bench(tmp_path, POOL)
    assert read_run_file(run_path(tmp_path, POOL.name, "fusion", 1))["status"] == "ok" and not ck.exists()


def test_methods_without_checkpoints_write_none(tmp_path):
    run_benchmark([POOL], ["random"], [0], tmp_path, engine="serial", progress=False)
    assert not (tmp_path / "full" / "partial").exists()
