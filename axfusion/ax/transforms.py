r"""Ax transforms that hand categorical parameters to models as level codes.

The LVGP and random-forest baselines read a categorical column as integer level codes
``0 .. L - 1``. Ax's mixed-variable transforms (``Generators.BO_MIXED``) keep unordered
choice parameters as single columns but encode only *non-numeric* ones; a numeric
unordered choice such as the mixed Branin's ``t in {0, 5, 10, 15}`` keeps its values.
:class:`UnorderedChoiceToIndex` encodes every unordered choice parameter (numeric or
not) by its position, and :data:`LEVEL_CODE_TRANSFORMS` is ``BO_MIXED``'s transform
list with it in front.
"""

from __future__ import annotations

from ax.adapter.registry import Mixed_transforms, Y_trans
from ax.adapter.transforms.base import Transform
from ax.adapter.transforms.choice_encode import ChoiceToNumericChoice
from ax.adapter.transforms.remove_fixed import RemoveFixed
from ax.core.parameter import ChoiceParameter, Parameter

__all__ = ["LEVEL_CODE_TRANSFORMS", "UnorderedChoiceToIndex"]


class UnorderedChoiceToIndex(ChoiceToNumericChoice):
    r"""Encode every unordered (non-task) choice parameter as ``0 .. L - 1``.

    Ordered choice parameters are left alone (numeric ones are ordinal features; a
    following ``ChoiceToNumericChoice`` encodes non-numeric ones). The inverse maps the
    codes back to the original values.
    """

    def _should_encode(self, p: Parameter) -> bool:
        return isinstance(p, ChoiceParameter) and not p.is_ordered and not p.is_task


#: ``BO_MIXED``'s transforms with unordered choices encoded as level codes.
LEVEL_CODE_TRANSFORMS: list[type[Transform]] = [
    RemoveFixed,
    UnorderedChoiceToIndex,
    *[t for t in Mixed_transforms if t is not RemoveFixed],
    *Y_trans,
]
