r"""Build the shipped reaction-condition pools from the Olympus snapshot in ../shared/data.

Writes ``axfusion/data/builtin/{buchwald_a,suzuki_edbo}/data.csv.gz`` (the Olympus
``data.csv`` with its header from ``config.json``, values unchanged) and
``axfusion/data/builtin/suzuki_edbo/descriptors.csv.gz``: per reaction component, the DFT
descriptors of the Olympus ``descriptors_dft.csv`` (EDBO's table) reduced to their leading
principal components (non-constant descriptors standardised over the component's levels;
components up to 95 % of the variance, at most 5), one row per level::

    python scripts/prepare_reactions.py [--root ../shared/data/olympus_datasets]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "axfusion" / "data" / "builtin"
MAX_COMPONENTS = 5
VARIANCE = 0.95


def _table(root: Path, name: str) -> pd.DataFrame:
    config = json.loads((root / name / "config.json").read_text())
    columns = [p["name"] for p in config["parameters"]] + [m["name"] for m in config["measurements"]]
    return pd.read_csv(root / name / "data.csv", header=None, names=columns)


def _descriptors(root: Path, name: str) -> pd.DataFrame:
    long = pd.read_csv(root / name / "descriptors_dft.csv")
    rows = []
    for component, part in long.groupby("type", sort=False):
        part = part.assign(desc_val=pd.to_numeric(part["desc_val"], errors="coerce"))
        wide = part.pivot_table(index="option", columns="desc_name", values="desc_val", aggfunc="first")
        wide = wide.dropna(axis=1)
        Z = wide.to_numpy(dtype=np.float64)
        std = Z.std(axis=0)
        Z = (Z[:, std > 1e-12] - Z[:, std > 1e-12].mean(axis=0)) / std[std > 1e-12]
        U, s, _ = np.linalg.svd(Z, full_matrices=False)
        share = np.cumsum(s**2) / np.sum(s**2)
        k = int(min(MAX_COMPONENTS, np.searchsorted(share, VARIANCE) + 1, Z.shape[0] - 1))
        scores = U[:, :k] * s[:k]
        for level, row in zip(wide.index, scores):
            pcs = {f"dft_pc{j + 1}": float(v) for j, v in enumerate(row)}
            rows.append({"component": component, "level": level, **pcs})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared/data/olympus_datasets"
    parser.add_argument("--root", type=Path, default=default)
    args = parser.parse_args()
    for name in ("buchwald_a", "suzuki_edbo"):
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        _table(args.root, name).to_csv(folder / "data.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
    desc = _descriptors(args.root, "suzuki_edbo").round(6)
    desc.to_csv(OUT / "suzuki_edbo" / "descriptors.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
    print(desc.groupby("component").count().iloc[:, :1].rename(columns={"level": "levels"}))
    print(desc.notna().groupby(desc["component"]).sum().iloc[:, 2:].sum(axis=1).rename("descriptors"))


if __name__ == "__main__":
    main()
