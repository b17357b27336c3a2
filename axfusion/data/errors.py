r"""Exception and warning types raised by :mod:`axfusion.data`.

Every problem found in user data raises :class:`DataValidationError`, a
:class:`ValueError`, with a message that names the offending column(s) and/or
row(s). Cleaning actions that are taken on the user's behalf (dropping rows with
missing targets, averaging repeated measurements, dropping constant columns,
keeping duplicated feature rows) are reported with :class:`DataWarning`, so that
they can be filtered as one category.
"""

from __future__ import annotations


class DataValidationError(ValueError):
    r"""Raised when a table cannot be turned into a valid :class:`~axfusion.data.Dataset`."""


class DataWarning(UserWarning):
    r"""Emitted when the data loader changes the data (drops, averages) or finds duplicates."""
