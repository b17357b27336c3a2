r"""The exception and the warning of the ``suggest`` workflow."""

from __future__ import annotations


class SuggestInputError(ValueError):
    r"""Bad input to :func:`~axfusion.suggest.suggest_next` or ``axfusion suggest``; the message says what and where."""


class SuggestWarning(UserWarning):
    r"""Something in the input was handled on the user's behalf (failed measurements, changed values)."""
