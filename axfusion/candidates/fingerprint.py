r"""Fingerprints of closed candidate pools: is this the pool a campaign was started on?

A campaign (or an Ax experiment) over a closed pool refers to pool rows by position, so
resuming it on another pool -- one row changed, rows re-sorted, a row added -- would attach
measurements to the wrong materials. :func:`pool_fingerprint` hashes *every* row of an
``(N, d)`` pool, streaming it in blocks (a ``10^6 x 20`` memmap is never loaded whole), and
:func:`compare` / :func:`check_pool` say in one sentence what differs.

A :class:`PoolFingerprint` holds, for the ``(N, d)`` table taken as ``float64`` with ``-0.0``
written as ``0.0``:

- ``sha256``: SHA-256 of all rows in row order, as little-endian ``float64`` bytes -- the same
  as ``hashlib.sha256((X + 0.0).astype("<f8").tobytes()).hexdigest()`` for a C-ordered array
  ``X`` (it does not depend on ``chunk_rows``);
- ``chunk_sha256``: the first 16 hex digits of the SHA-256 of each block of ``chunk_rows``
  rows (rows ``0 .. chunk_rows - 1``, then the next block, ...), to locate a difference;
- ``multiset``: an order-independent digest, ``"<sum>:<xor>"`` of the 64-bit row hashes
  ``h_i`` (sum modulo ``2**64`` and exclusive or, 16 hex digits each): equal for the same
  rows in another order;
- ``positional``: ``sum_i (i + 1) h_i`` modulo ``2**64`` (16 hex digits), with which a
  single changed row is located exactly: if only row ``r`` changed, the changes of the two
  sums are ``D = h'_r - h_r`` and ``(r + 1) D``, so ``r`` is recovered by a division modulo
  ``2**64`` (and checked against the one block that differs).

The row hashes ``h_i`` are the splitmix64 construction of
:func:`axfusion.suggest.hashing.row_hashes` (same values today). It is re-implemented here,
not imported, because these digests are stored in campaign files and must never change with
that function, and because this package imports no other part of :mod:`axfusion`.

Stored form (:meth:`PoolFingerprint.as_dict`, JSON-safe)::

    {"version": 2, "n_rows": 1000000, "n_features": 20, "sha256": "<64 hex>",
     "chunk_rows": 65536, "chunk_sha256": ["<16 hex>", ...  one per block],
     "multiset": "<16 hex>:<16 hex>", "positional": "<16 hex>"}

about 650 bytes for ``10^6`` rows (16 blocks), 3.3 kB for ``10^7``.

Legacy form. Campaigns and pool references written before this module stored
``{"n_rows", "n_features", "sha256_sample"}`` (a hash of 64 evenly spaced rows).
:meth:`PoolFingerprint.from_dict` reads it as a *legacy* fingerprint (``legacy`` is true,
``sha256``, ``multiset`` and ``positional`` are None, no blocks; ``as_dict`` writes the old
form back unchanged). Its sample hash was computed in a way that cannot be reproduced from a
full fingerprint, so :func:`compare` checks only the shape when either side is legacy, and
:func:`check_pool` then issues a :class:`LegacyPoolFingerprintWarning` saying that a changed
or re-sorted pool of that shape would not be noticed.

Speed (measured on one core, ``OMP_NUM_THREADS=1``, x86-64 with SHA extensions):
``10^6 x 20`` float64, in memory or as a ``.npy`` memmap in the page cache, takes 0.35-0.45 s
on an otherwise idle machine, up to 0.7 s with other jobs running (SHA-256 of the 160 MB,
whole and per block, about 0.1 s each; the vectorised row hashes about 0.2 s). A memmap not
yet in the page cache adds the time to read the file once. Memory is a few ``(65536, d)``
work arrays (about 10 MB each for 20 columns) whatever ``N`` is.
"""

from __future__ import annotations

import hashlib
import math
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from axfusion.candidates._validation import check_positive_int
from axfusion.candidates.pool import CandidatePool
from axfusion.candidates.storage import ArrayStorage, PoolStorage

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMAT_VERSION",
    "LegacyPoolFingerprintWarning",
    "PoolFingerprint",
    "PoolMismatchError",
    "check_pool",
    "compare",
    "compare_fingerprints",
    "pool_fingerprint",
]

DEFAULT_CHUNK_ROWS = 65_536
r"""Rows per located block (``chunk_sha256`` entry): 16 blocks for ``10^6`` rows."""

FORMAT_VERSION = 2
r"""``version`` of the stored dict (the legacy ``sha256_sample`` form counts as 1)."""

_READ_ROWS = 65_536  # rows read from the storage at a time (independent of chunk_rows)
_SHORT_HEX = 16  # hex digits kept per block digest

_M64 = (1 << 64) - 1
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SALTS = [np.uint64(((j + 1) * 0x9E3779B97F4A7C15) & _M64) for j in range(1024)]

PoolLike: TypeAlias = CandidatePool | PoolStorage | np.ndarray
r"""What can be fingerprinted: a pool, its row source, or an ``(N, d)`` array or memmap."""


class PoolMismatchError(ValueError):
    r"""A saved campaign or experiment is resumed on another pool than the one it started on."""


class LegacyPoolFingerprintWarning(UserWarning):
    r"""A saved pool fingerprint is of the old kind (shape and 64 sampled rows); only the shape
    of the pool could be checked."""


@dataclass(frozen=True)
class PoolFingerprint:
    r"""What identifies a closed pool: its shape, and hashes of all its rows.

    Attributes:
        n_rows: Number of rows ``N``.
        n_features: Number of feature columns ``d``.
        sha256: SHA-256 (64 hex digits) of the ``N x d`` little-endian ``float64`` bytes in row
            order, ``-0.0`` written as ``0.0``; None for a legacy fingerprint.
        chunk_rows: Rows per block of ``chunk_sha256`` (0 for a legacy fingerprint).
        chunk_sha256: ``ceil(N / chunk_rows)`` short digests (first 16 hex digits of the
            SHA-256 of each block's bytes); empty for a legacy fingerprint.
        multiset: ``"<sum>:<xor>"`` of the 64-bit row hashes, independent of row order; None
            for a legacy fingerprint.
        positional: ``sum_i (i + 1) h_i`` modulo ``2**64`` as 16 hex digits (locates a single
            changed row); None for a legacy fingerprint.
        legacy_sha256_sample: The old ``sha256_sample`` of a legacy fingerprint (kept only so
            that :meth:`as_dict` writes the old dict back); None otherwise.
    """

    n_rows: int
    n_features: int
    sha256: str | None
    chunk_rows: int
    chunk_sha256: tuple[str, ...]
    multiset: str | None
    positional: str | None = None
    legacy_sha256_sample: str | None = None

    @property
    def legacy(self) -> bool:
        r"""True for a fingerprint read from the old ``sha256_sample`` form (shape only)."""
        return self.sha256 is None

    @property
    def shape(self) -> tuple[int, int]:
        r"""``(N, d)``."""
        return (self.n_rows, self.n_features)

    def as_dict(self) -> dict[str, Any]:
        r"""The JSON-safe stored form (see the module docstring); a legacy fingerprint gives
        back the old ``{"n_rows", "n_features", "sha256_sample"}`` dict."""
        if self.legacy:
            return {
                "n_rows": self.n_rows,
                "n_features": self.n_features,
                "sha256_sample": self.legacy_sha256_sample,
            }
        return {
            "version": FORMAT_VERSION,
            "n_rows": self.n_rows,
            "n_features": self.n_features,
            "sha256": self.sha256,
            "chunk_rows": self.chunk_rows,
            "chunk_sha256": list(self.chunk_sha256),
            "multiset": self.multiset,
            "positional": self.positional,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PoolFingerprint:
        r"""Read a stored fingerprint: the current form, or the legacy ``sha256_sample`` one.

        Args:
            d: A dict written by :meth:`as_dict`, or a legacy
                ``{"n_rows", "n_features", "sha256_sample"}`` dict.

        Returns:
            The fingerprint; :attr:`legacy` is true for the old form.

        Raises:
            ValueError: if a key is missing or malformed, or the dict was written by a newer
                format version.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"a pool fingerprint must be a dict, got {type(d).__name__}")
        n_rows = _stored_int(d, "n_rows", minimum=1)
        n_features = _stored_int(d, "n_features", minimum=1)
        if "sha256" not in d and "sha256_sample" in d:
            return cls(
                n_rows=n_rows,
                n_features=n_features,
                sha256=None,
                chunk_rows=0,
                chunk_sha256=(),
                multiset=None,
                positional=None,
                legacy_sha256_sample=str(d["sha256_sample"]),
            )
        version = d.get("version", FORMAT_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"the pool fingerprint has version {version!r}; this axfusion reads up to "
                f"version {FORMAT_VERSION} (it was written by a newer axfusion)"
            )
        for key in ("sha256", "chunk_rows", "chunk_sha256", "multiset", "positional"):
            if key not in d:
                raise ValueError(f"the pool fingerprint has no {key!r}: {sorted(d)}")
        chunk_rows = _stored_int(d, "chunk_rows", minimum=1)
        chunks = d["chunk_sha256"]
        if isinstance(chunks, str) or not all(isinstance(c, str) for c in chunks):
            raise ValueError("the pool fingerprint's 'chunk_sha256' must be a list of hex strings")
        expected = math.ceil(n_rows / chunk_rows)
        if len(chunks) != expected:
            raise ValueError(
                f"the pool fingerprint has {len(chunks)} block digests; {n_rows} rows in blocks "
                f"of {chunk_rows} need {expected}"
            )
        return cls(
            n_rows=n_rows,
            n_features=n_features,
            sha256=str(d["sha256"]),
            chunk_rows=chunk_rows,
            chunk_sha256=tuple(chunks),
            multiset=str(d["multiset"]),
            positional=str(d["positional"]),
        )


def _stored_int(d: Mapping[str, Any], key: str, *, minimum: int) -> int:
    if key not in d:
        raise ValueError(f"the pool fingerprint has no {key!r}: {sorted(d)}")
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"the pool fingerprint's {key!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------- hashing
def _row_hashes(bits: np.ndarray, h: np.ndarray, tmp: np.ndarray, col: np.ndarray) -> None:
    r"""splitmix64 row hashes of ``(b, d)`` ``uint64`` bit patterns into ``h`` ``(b,)``.

    The values equal :func:`axfusion.suggest.hashing.row_hashes` of the ``float64`` rows
    (frozen here: they are stored). ``tmp`` and ``col`` are ``(b,)`` ``uint64`` work arrays.
    """
    h[:] = 0
    for j in range(bits.shape[1]):
        salt = _SALTS[j] if j < len(_SALTS) else np.uint64(((j + 1) * 0x9E3779B97F4A7C15) & _M64)
        np.add(bits[:, j], salt, out=col)
        _mix(col, tmp)
        np.bitwise_xor(h, col, out=h)
        _mix(h, tmp)


def _mix(x: np.ndarray, tmp: np.ndarray) -> None:
    r"""The splitmix64 finaliser, in place on a ``uint64`` array (modulo ``2**64``)."""
    np.right_shift(x, np.uint64(30), out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _MIX1, out=x)
    np.right_shift(x, np.uint64(27), out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _MIX2, out=x)
    np.right_shift(x, np.uint64(31), out=tmp)
    np.bitwise_xor(x, tmp, out=x)


def _as_storage(pool: Any) -> PoolStorage:
    if isinstance(pool, CandidatePool):
        return pool.storage
    if isinstance(pool, np.ndarray):
        # Fingerprinting does not judge the values: NaN/inf are hashed by their bits.
        return ArrayStorage(pool, check_finite=False)
    if all(hasattr(pool, a) for a in ("n_rows", "n_features", "iter_blocks")):
        return pool
    raise TypeError(
        f"a pool to fingerprint must be a CandidatePool, a PoolStorage or an (N, d) array, got {type(pool).__name__}"
    )


def _blocks(storage: PoolStorage) -> Iterator[tuple[int, np.ndarray]]:
    r"""``(start, block)`` covering the storage in order, checked to be contiguous."""
    expected = 0
    for start, block in storage.iter_blocks(_READ_ROWS):
        if int(start) != expected or block.ndim != 2 or block.shape[1] != storage.n_features:
            raise RuntimeError(
                f"the pool storage yielded a block at row {start} of shape {block.shape}; "
                f"expected row {expected} with {storage.n_features} columns"
            )
        expected += block.shape[0]
        if block.shape[0]:
            yield int(start), block
    if expected != storage.n_rows:
        raise RuntimeError(f"the pool storage yielded {expected} rows; it has {storage.n_rows}")


def pool_fingerprint(pool: PoolLike, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> PoolFingerprint:
    r"""Hash every row of a pool (streamed; see the module docstring for what is hashed).

    Args:
        pool: A :class:`~axfusion.candidates.CandidatePool` (all rows, whatever its masks), a
            :class:`~axfusion.candidates.storage.PoolStorage`, or an ``(N, d)`` array or
            memmap of a real or integer dtype (taken as ``float64``).
        chunk_rows: Rows per located block (``chunk_sha256``); a pool of ``N`` rows has
            ``ceil(N / chunk_rows)`` of them. Reading is in blocks of 65,536 rows whatever
            this is.

    Returns:
        The :class:`PoolFingerprint` (0.35-0.45 s for ``10^6 x 20`` on one core).
    """
    chunk_rows = check_positive_int(chunk_rows, "chunk_rows")
    storage = _as_storage(pool)
    n, d = int(storage.n_rows), int(storage.n_features)
    whole = hashlib.sha256()
    chunk = hashlib.sha256()
    chunk_digests: list[str] = []
    total, xor, positional = 0, 0, 0
    buf = np.empty((min(n, _READ_ROWS), d), dtype=np.float64)
    h, tmp, col = (np.empty(buf.shape[0], dtype=np.uint64) for _ in range(3))
    big_endian = sys.byteorder == "big"
    for start, block in _blocks(storage):
        b = block.shape[0]
        if b > buf.shape[0]:  # a storage may serve larger blocks than asked
            buf = np.empty((b, d), dtype=np.float64)
            h, tmp, col = (np.empty(b, dtype=np.uint64) for _ in range(3))
        x = buf[:b]
        np.add(block, 0.0, out=x, casting="unsafe")  # -0.0 + 0.0 == 0.0; C order
        raw = x.astype("<f8") if big_endian else x
        _row_hashes(x.view(np.uint64), h[:b], tmp[:b], col[:b])
        hb = h[:b]
        total += int(hb.sum(dtype=np.uint64))
        xor ^= int(np.bitwise_xor.reduce(hb))
        np.multiply(hb, np.arange(start + 1, start + b + 1, dtype=np.uint64), out=tmp[:b])
        positional += int(tmp[:b].sum(dtype=np.uint64))
        whole.update(raw.data)
        pos = start
        while pos < start + b:  # split the block at block boundaries of chunk_rows
            cut = min(start + b, (pos // chunk_rows + 1) * chunk_rows)
            chunk.update(raw[pos - start : cut - start].data)
            if cut % chunk_rows == 0 or cut == n:
                chunk_digests.append(chunk.hexdigest()[:_SHORT_HEX])
                chunk = hashlib.sha256()
            pos = cut
    return PoolFingerprint(
        n_rows=n,
        n_features=d,
        sha256=whole.hexdigest(),
        chunk_rows=chunk_rows,
        chunk_sha256=tuple(chunk_digests),
        multiset=f"{total & _M64:016x}:{xor:016x}",
        positional=f"{positional & _M64:016x}",
    )


# ---------------------------------------------------------------------------- comparing
def _span(lo: int, hi: int) -> str:
    return f"row {lo}" if lo == hi else f"rows {lo}-{hi}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _shape_problem(saved: tuple[int, int], found: tuple[int, int]) -> str | None:
    (n0, d0), (n1, d1) = saved, found
    if n0 != n1 and d0 != d1:
        return f"the pool is {n1} x {d1} (rows x feature columns); the saved pool was {n0} x {d0}"
    if n0 != n1:
        return f"the pool has {_plural(n1, 'row')}; the saved pool had {n0}"
    if d0 != d1:
        return f"the pool has {_plural(d1, 'feature column')}; the saved pool had {d0}"
    return None


def _single_changed_row(saved: PoolFingerprint, found: PoolFingerprint) -> int | None:
    r"""The row ``r`` if the sums say exactly one row changed, else None.

    With only row ``r`` changed, ``D0 = h'_r - h_r`` and ``D1 = (r + 1) D0`` modulo ``2**64``;
    write ``D0 = 2**t u`` with ``u`` odd, then ``r + 1 = (D1 / 2**t) u^-1`` modulo
    ``2**(64 - t)``. Anything else gives an essentially random ``r``, rejected by the range
    check (and by the block check in :func:`compare`).
    """
    assert saved.multiset is not None and found.multiset is not None
    assert saved.positional is not None and found.positional is not None
    d0 = (int(found.multiset.split(":")[0], 16) - int(saved.multiset.split(":")[0], 16)) & _M64
    d1 = (int(found.positional, 16) - int(saved.positional, 16)) & _M64
    if d0 == 0:
        return None
    t = (d0 & -d0).bit_length() - 1
    if t > 32 or d1 % (1 << t):
        return None
    modulus = 1 << (64 - t)
    r1 = ((d1 >> t) * pow(d0 >> t, -1, modulus)) % modulus
    if not 1 <= r1 <= saved.n_rows or modulus <= saved.n_rows:
        return None
    return r1 - 1


def compare(saved: PoolFingerprint, found: PoolFingerprint) -> str | None:
    r"""What differs between the pool a campaign was saved with and the pool found now.

    Args:
        saved: The stored fingerprint (may be legacy).
        found: The fingerprint of the pool given now (best computed with
            ``chunk_rows=saved.chunk_rows``, so that a difference can be located to a block).

    Returns:
        None when they agree (for a legacy fingerprint on either side: when the shapes
        agree, the only thing that can be checked); otherwise one sentence, without a final
        full stop, e.g. ``"the pool has 1001 rows; the saved pool had 1000"``, ``"the same
        rows are in another order (the pool was re-sorted; ...)"``, ``"row 500 differs from
        the saved pool's (one row was changed; every other row is the same)"`` or ``"rows
        65536-131071 differ from the saved pool's (at least one row was changed, added or
        removed)"``.
    """
    shape = _shape_problem(saved.shape, found.shape)
    if shape is not None:
        return shape
    if saved.legacy or found.legacy or saved.sha256 == found.sha256:
        return None
    n = saved.n_rows
    differing: list[int] = []
    if saved.chunk_rows == found.chunk_rows and len(saved.chunk_sha256) == len(found.chunk_sha256):
        differing = [i for i, (a, b) in enumerate(zip(saved.chunk_sha256, found.chunk_sha256)) if a != b]
    first = ""
    if differing:
        lo = differing[0] * saved.chunk_rows
        first = _span(lo, min(n, lo + saved.chunk_rows) - 1)
    if saved.multiset == found.multiset:
        where = f"; the first difference is in {first}" if first else ""
        return f"the same rows are in another order (the pool was re-sorted{where})"
    row = _single_changed_row(saved, found)
    if row is not None and (not differing or differing == [row // saved.chunk_rows]):
        return f"row {row} differs from the saved pool's (one row was changed; every other row is the same)"
    if not differing:
        return "the rows differ from the saved pool's (at least one row was changed, added or removed)"
    later = len(differing) - 1
    verb = "differs" if first.startswith("row ") else "differ"
    more = f", and so {'does' if later == 1 else 'do'} {_plural(later, 'later block')} of {saved.chunk_rows} rows"
    return (
        f"{first} {verb} from the saved pool's{more if later else ''} (at least one row was changed, added or removed)"
    )


compare_fingerprints = compare
r"""Alias of :func:`compare`."""


def check_pool(
    saved: PoolFingerprint | Mapping[str, Any],
    pool: PoolLike,
    *,
    what: str = "the campaign",
    instead: str = "start a new campaign",
    found: PoolFingerprint | None = None,
) -> PoolFingerprint:
    r"""Refuse a pool that is not the one a campaign (or experiment) was started on.

    The shape is checked before any row is read; then every row is hashed (about 0.4 s for
    ``10^6 x 20``) in the saved fingerprint's blocks.

    Args:
        saved: The stored fingerprint, or its dict (the legacy form is accepted: then only
            the shape is checked, with a :class:`LegacyPoolFingerprintWarning`).
        pool: The pool given now (anything :func:`pool_fingerprint` takes).
        what: What was started on the pool, for the message, e.g.
            ``"campaign file runs/x.campaign.json"``.
        instead: The alternative offered at the end of the message.
        found: The fingerprint of ``pool`` if the caller already has it (e.g. cached); it is
            used, instead of hashing ``pool`` again, when its ``chunk_rows`` is the saved one's
            (the default for a legacy ``saved``).

    Returns:
        The full fingerprint of ``pool`` (for a legacy ``saved``, the one to store from now on).

    Raises:
        PoolMismatchError: one line, ``"<what> was started on another pool: <sentence>. Give
            the same pool (same rows in the same order) or <instead>."``
    """
    if not isinstance(saved, PoolFingerprint):
        saved = PoolFingerprint.from_dict(saved)
    storage = _as_storage(pool)
    problem = _shape_problem(saved.shape, (int(storage.n_rows), int(storage.n_features)))
    if problem is None:
        chunk_rows = saved.chunk_rows or DEFAULT_CHUNK_ROWS
        if found is None or found.legacy or found.chunk_rows != chunk_rows:
            found = pool_fingerprint(storage, chunk_rows=chunk_rows)
        problem = compare(saved, found)
    if problem is not None:
        raise PoolMismatchError(
            f"{what} was started on another pool: {problem}. Give the same pool (same rows in "
            f"the same order) or {instead}."
        )
    if saved.legacy:
        warnings.warn(
            f"{what} stored an old, weak pool fingerprint (its shape and 64 sampled rows); only "
            f"the shape ({saved.n_rows} x {saved.n_features}) was checked, so a changed or "
            "re-sorted pool of that shape would not be noticed.",
            LegacyPoolFingerprintWarning,
            stacklevel=2,
        )
    assert found is not None
    return found
