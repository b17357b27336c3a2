from __future__ import annotations

from pathlib import Path

import pandas as pd

from axfusion.data.cache import (
    CACHE_ENV_VAR,
    DEFAULT_CACHE_DIR,
    cached_frame,
    content_hash,
    resolve_cache_dir,
)


def test_cache_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV_VAR, raising=False)
    assert resolve_cache_dir() == Path(DEFAULT_CACHE_DIR).expanduser()
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "env"))
    assert resolve_cache_dir() == tmp_path / "env"
    assert resolve_cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_content_hash_respects_part_boundaries():
    assert content_hash("ab", "c") != content_hash("a", "bc")
    assert content_hash("ab", "c") == content_hash(b"ab", b"c")
    assert len(content_hash("x")) == 64


def test_cached_frame_builds_once(tmp_path):
    calls = []

    def build() -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"v": [1.5, 2.5]}, index=pd.Index(["a", "b"], name="k"))

    first = cached_frame("key1", build, namespace="unit", cache_dir=tmp_path)
    second = cached_frame("key1", build, namespace="unit", cache_dir=tmp_path)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, second)
    assert [p.name for p in (tmp_path / "unit").iterdir()] == ["key1.parquet"]
    cached_frame("key2", build, namespace="unit", cache_dir=tmp_path)
    assert len(calls) == 2
