r"""On-disk cache for expensive derived tables (e.g. featurised formulas).

Entries are Parquet files named by a SHA-256 content hash of everything the
table depends on, in a cache directory that defaults to ``~/.cache/axfusion``
and is overridden by the environment variable ``AXFUSION_CACHE`` or by an
explicit argument. Writes are atomic (temporary file, then rename), so
concurrent processes never read a half-written entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

CACHE_ENV_VAR: str = "AXFUSION_CACHE"
"""Environment variable that overrides the cache directory."""

DEFAULT_CACHE_DIR: str = "~/.cache/axfusion"
"""Cache directory used when neither an argument nor the variable is set."""

CACHE_SUFFIX: str = ".parquet"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    r"""The cache directory: ``cache_dir`` if given, else ``$AXFUSION_CACHE``, else the default.

    The directory is not created here.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from_env = os.environ.get(CACHE_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return Path(DEFAULT_CACHE_DIR).expanduser()


def content_hash(*parts: str | bytes) -> str:
    r"""Hex SHA-256 of the parts (each length-prefixed, so boundaries matter)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else bytes(part)
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def cached_frame(
    key: str,
    build: Callable[[], pd.DataFrame],
    *,
    namespace: str,
    cache_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    r"""Return the cached frame for ``key``, building and storing it on a miss.

    Args:
        key: Content hash identifying the frame (see :func:`content_hash`).
        build: Computes the frame on a cache miss.
        namespace: Sub-directory of the cache directory (e.g. ``"magpie"``).
        cache_dir: Cache directory; see :func:`resolve_cache_dir`.

    Returns:
        The frame, with its index and column names as built.
    """
    directory = resolve_cache_dir(cache_dir) / namespace
    path = directory / f"{key}{CACHE_SUFFIX}"
    if path.is_file():
        return pd.read_parquet(path)
    frame = build()
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    os.close(handle)
    try:
        frame.to_parquet(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return frame
