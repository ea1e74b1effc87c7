"""``protein-studio evaluate``: score predictions against a deep mutational scan.

Predictions come either from a scores file written by ``protein-studio score`` (columns ``mutant`` and
``score``; rows are matched on the canonical mutant text, so ``A42G,K45R`` matches ``K45R:A42G``) or from
another column of the DMS table itself. Prints n, Spearman, NDCG@10%, top-10% recall and the rows dropped;
``--plot`` also writes a scatter plot.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from protein_studio.core.errors import InputError
from protein_studio.cli.options import number, whole

if TYPE_CHECKING:  # numpy and the readers load when the command runs, not for --help
    import numpy as np

    from protein_studio.core.assays.dms import DmsTable
    from protein_studio.core.assays.metrics import EvaluationReport

__all__ = ["register", "run", "predictions_from_scores", "write_scatter_plot"]

UNPARSEABLE = "unparseable mutant"


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "evaluate", help="compare predicted scores with deep-mutational-scan measurements",
        description="Spearman, NDCG and top recall of predictions against a deep mutational scan "
                    "(higher = better for both).")
    parser.add_argument("dms", metavar="DMS.csv", type=Path, help="the deep-mutational-scan table (CSV/TSV)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--scores", type=Path, metavar="SCORES.csv",
                        help="predictions written by `protein-studio score` (columns mutant, score)")
    source.add_argument("--score-column", metavar="COL", help="take the predictions from this column of DMS.csv")
    parser.add_argument("--dms-column", required=True, metavar="COL", help="the measured column of DMS.csv")
    parser.add_argument("--mutant-column", metavar="COL",
                        help="the mutant column of DMS.csv (default: found by name, e.g. 'mutant')")
    parser.add_argument("--offset", type=whole(-1_000_000, 1_000_000), default=0, metavar="N",
                        help="add N to the positions written in DMS.csv before matching them to the scores "
                             "(e.g. -25 when the table counts from 26 and the scores from 1)")
    parser.add_argument("--top", type=number(0, 100, above=True), default=10.0, metavar="PERCENT",
                        help="top percentage for NDCG and recall (default: 10)")
    parser.add_argument("--plot", type=Path, metavar="OUT.png", help="write a scatter plot (PNG) here")
    parser.set_defaults(handler=run)
    return parser


def predictions_from_scores(table: DmsTable, scores_path: Path) -> np.ndarray:
    """The ``score`` of each of ``table``'s mutants in a scores file, NaN where the file has none.

    Raises
    ------
    InputError
        The scores file lacks a ``mutant``/``score`` column, scores the same mutant twice with different
        values, or shares no mutant with the table (usually a numbering offset).
    """
    import numpy as np

    from protein_studio.core.assays.dms import read_dms

    scores = read_dms(scores_path, mutant_column="mutant", score_columns=["score"])
    values: dict[str, tuple[float, int]] = {}
    for key, value, line in zip(scores.mutant_strings, scores.column("score"), scores.lines):
        if key in values and not (values[key][0] == value or (math.isnan(value) and math.isnan(values[key][0]))):
            raise InputError(f"mutant {key} is scored twice with different values (also on line {values[key][1]})",
                             source=str(scores_path), line=int(line))
        values.setdefault(key, (float(value), int(line)))
    keys = table.mutant_strings
    predicted = np.array([values[k][0] if k in values else np.nan for k in keys], dtype=float)
    if keys and values and not any(k in values for k in keys):
        raise InputError(f"no mutant of {table.path.name} is in {scores_path.name} (e.g. {keys[0]} there, "
                         f"{next(iter(values))} here): are both numbered the same way? (see --offset)",
                         source=str(scores_path))
    if scores.problems:
        print(f"protein-studio evaluate: warning: {scores_path}: {len(scores.problems)} rows skipped, first "
              f"{scores.problems[0]}", file=sys.stderr)
    return predicted


def write_scatter_plot(path: Path, measured: np.ndarray, predicted: np.ndarray, report: EvaluationReport, *,
                       measured_label: str, predicted_label: str, title: str = "") -> None:
    """Write a PNG scatter plot of predicted against measured values (finite pairs only).

    Uses matplotlib's object interface with the Agg canvas, so it needs no display and no pyplot state.
    """
    import numpy as np

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keep = np.isfinite(measured) & np.isfinite(predicted)
    fig = Figure(figsize=(5.5, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter(measured[keep], predicted[keep], s=6, alpha=0.5, linewidths=0)
    ax.set_xlabel(f"measured: {measured_label}")
    ax.set_ylabel(f"predicted: {predicted_label}")
    rho = "n/a" if math.isnan(report.spearman) else f"{report.spearman:.3f}"
    ax.set_title(f"{title}\nSpearman {rho}, n = {report.n}" if title else f"Spearman {rho}, n = {report.n}",
                 fontsize=10)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise InputError(f"cannot write the plot: {exc.strerror or exc}", source=str(path)) from None


def run(args: argparse.Namespace) -> int:
    """Handler of ``protein-studio evaluate``."""
    from protein_studio.core.assays.dms import read_dms
    from protein_studio.core.assays.metrics import evaluate_predictions

    if not 0 < args.top <= 100:
        raise InputError(f"--top must be a percentage in (0, 100], not {args.top:g}")
    needed = [args.dms_column] + ([args.score_column] if args.score_column else [])
    table = read_dms(args.dms, mutant_column=args.mutant_column, score_columns=needed, offset=args.offset)
    measured = table.column(args.dms_column)
    if args.score_column:
        predicted, label = table.column(args.score_column), args.score_column
    else:
        predicted, label = predictions_from_scores(table, args.scores), f"{args.scores.name}: score"
    already = {UNPARSEABLE: len(table.problems)} if table.problems else None
    report = evaluate_predictions(measured, predicted, top_fraction=args.top / 100, already_dropped=already)
    if report.n < 2:
        raise InputError(f"only {report.n} rows have both a prediction and a measurement; nothing to evaluate "
                         f"(dropped: {', '.join(f'{c} {r}' for r, c in report.dropped.items() if c)})",
                         source=str(args.dms))
    print(f"{args.dms.name}: predictions '{label}' against measurements '{args.dms_column}'")
    print(report.format())
    if table.problems:
        print(f"protein-studio evaluate: warning: {len(table.problems)} rows of {args.dms} have no usable mutant, "
              f"first {table.problems[0]}", file=sys.stderr)
    if args.plot:
        write_scatter_plot(args.plot, measured, predicted, report, measured_label=args.dms_column,
                           predicted_label=label, title=args.dms.name)
        print(f"plot written to {args.plot}")
    return 0
