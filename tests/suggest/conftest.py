r"""Shared helpers of the ``suggest`` tests: a synthetic lab (pool and measured tables) and the CLI runner."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from axfusion.suggest import add_suggest_parser

FAST = ["--families", "ridge", "knn", "lightgbm", "--members", "3", "--jobs", "1"]
FAST_OPTIONS = {"families": ("ridge", "knn", "lightgbm"), "n_members": 3, "n_jobs": 1}
FEATURES = ["a", "b", "c", "d"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # Magpie tables are cached on disk; keep the tests' cache out of the user's home.
    monkeypatch.setenv("AXFUSION_CACHE", str(tmp_path_factory.getbasetemp() / "axfusion-cache"))


def _truth(X: np.ndarray) -> np.ndarray:
    return np.sin(4 * X[:, 0]) + X[:, 1] - (X[:, 2] - 0.5) ** 2


def _pool_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.uniform(size=(n, 4)), columns=FEATURES)
    frame.insert(0, "id", [f"S{i:03d}" for i in range(n)])
    return frame


def _write_lab(
    tmp_path: Path, *, with_id_in_pool: bool = False, measured_ids: bool = False
) -> tuple[Path, Path, pd.DataFrame]:
    """pool.csv (200 x 4, optionally with an id column) and measured.csv (20 rows, one failed)."""
    frame = _pool_frame()
    pool = frame if with_id_in_pool else frame[FEATURES]
    pool_path = tmp_path / "pool.csv"
    pool.to_csv(pool_path, index=False)
    rows = np.arange(0, 200, 10)
    measured = frame.iloc[rows][["id"] if measured_ids else FEATURES].copy()
    measured["Tc"] = _truth(frame[FEATURES].to_numpy())[rows]
    measured.iloc[3, measured.columns.get_loc("Tc")] = np.nan  # a failed measurement
    measured_path = tmp_path / "measured.csv"
    measured.to_csv(measured_path, index=False)
    return pool_path, measured_path, frame


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="axfusion")
    sub = parser.add_subparsers(dest="command", required=True)
    add_suggest_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def _suggest_cmd(pool: Path, measured: Path, out: Path, *extra: str, batch: int = 10) -> list[str]:
    return ["suggest", "--pool", str(pool), "--measured", str(measured), "--target", "Tc",
            "--batch", str(batch), "--out", str(out), *extra, *FAST]


def _error(capsys, argv: list[str]) -> str:
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") or "\nerror: " in err
    return err
