r"""The real-lab workflow: a candidate pool, the measurements so far -> the next batch.

A scientist has a *pool* of candidate materials (a CSV or Parquet table of numeric
features, optionally with a chemical-formula column featurised with Magpie) and a
*measured* table (the rows measured so far and their target values). One call

.. code-block:: bash

    axfusion suggest --pool pool.csv --measured measured.csv --target Tc \
        --batch 10 --out next.csv

or, in Python, :func:`suggest_next` runs one iteration of the fusion optimiser
(:class:`~axfusion.optimizer.FusionOptimizer`) and returns the next batch: the
row (id, pool position ``row_id``, formula), the predicted mean and spread per
target, the fusion utility with its channel breakdown, the cluster and a
one-line reason (:attr:`~axfusion.optimizer.Suggestion.table`).

Campaign. The state is kept in a campaign file (JSON; the CLI default is
``<out stem>.campaign.json`` next to ``--out``), so the next call continues it:
measurements already in the campaign are not observed again, new rows of the
measured table are observed, and rows suggested earlier but not yet measured stay
pending (never suggested twice). A campaign file belongs to one pool and one set
of targets; giving another pool or other targets is an error.

Matching measured rows to pool rows, per measured row, in this order:

1. ``id_column`` given: by the value of that column (in both tables);
2. otherwise, a ``row_id`` column in the measured table (the pool position, as
   written in the ``row_id`` column of the output) where it has a value, unless
   the pool itself has a column named ``row_id``;
3. otherwise by the feature vector (the feature columns, and the formula's Magpie
   features): rows are hashed (64-bit, vectorised) and hash hits are verified
   exactly, so no ``N x n`` comparison is ever formed. A row without an exact
   match (values re-written with fewer digits, e.g. by a spreadsheet) is matched
   up to a relative ``1e-10`` through the pool's sorted most-distinct column, with
   a warning. Identical pool rows are taken in pool order (a pool row with the
   same formula string first).

A Parquet pool without a formula column is streamed
(:meth:`~axfusion.candidates.CandidatePool.from_parquet`); a CSV, a DataFrame or a
pool with formulas is held in memory.

Measured rows with an empty (NaN) target are failed measurements: they are
recorded, never suggested again, and not modelled (a warning says which).
Nothing the user gave is written to: the pool and measured tables are only read,
and the CLI refuses to overwrite an existing ``--out`` file unless ``--force``.
The campaign is locked (``<campaign>.lock``, :func:`~axfusion.files.campaign_lock`) from
reading it to saving it, so a second call on the same campaign is refused (or waits,
``--wait``) instead of working on the same state; ``--out`` and the campaign are written
through temporary files and checked before the fit, so a failed call changes no file.

Every problem with the input raises :class:`SuggestInputError` (a
:class:`ValueError`) with a message naming the column, row, id, formula or file
concerned; the CLI prints it as ``error: ...`` and exits with status 2.
"""

from axfusion.suggest.campaign import suggest_next
from axfusion.suggest.cli import add_suggest_parser, default_campaign_path, run_suggest_command
from axfusion.suggest.errors import SuggestInputError, SuggestWarning
from axfusion.suggest.hashing import row_hashes
from axfusion.suggest.measured import MATCH_RTOL
from axfusion.suggest.tables import ROW_ID_COLUMN

__all__ = [
    "MATCH_RTOL",
    "ROW_ID_COLUMN",
    "SuggestInputError",
    "SuggestWarning",
    "add_suggest_parser",
    "default_campaign_path",
    "row_hashes",
    "run_suggest_command",
    "suggest_next",
]
