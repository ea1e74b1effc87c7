"""``protein-studio project info FILE``: what a project holds; and how ``--project FILE`` on ``scan``,
``score``, ``fold`` and ``generate`` adds their results to one, so batch work opens in the window.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run_info", "add_project_argument", "add_to_project"]


def add_project_argument(parser: argparse.ArgumentParser) -> None:
    """``--project FILE`` for a command whose results can go into a project."""
    parser.add_argument("--project", metavar="FILE.psproj",
                        help="also add the results to this project (created when missing; what it holds is kept), "
                             "to open them in the window")


def add_to_project(args, states, what: str) -> None:
    """Add document states to ``args.project`` (when given) and say so on stderr."""
    if not getattr(args, "project", None):
        return
    from protein_studio.core.storage.project import merge_into

    from protein_studio.core.files import printable

    path, notes = merge_into(args.project, states)
    for note in notes:
        print(printable(f"protein-studio {args.command}: note: {note}"), file=sys.stderr)
    print(f"protein-studio {args.command}: added {what} to the project {path}", file=sys.stderr)


def run_info(args) -> int:
    """Handler of ``protein-studio project info``."""
    from protein_studio.core.files import printable
    from protein_studio.core.storage.project import project_summary

    summary = project_summary(args.file)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    meta = summary["meta"]
    print(f"{Path(summary['file']).name}: Protein Studio project (schema {summary['schema']}), written by "
          f"protein-studio {meta.get('version', '?')}, created {meta.get('created', '?')}, "
          f"modified {meta.get('modified', '?')}")
    for k, doc in enumerate(summary["documents"], start=1):
        files = ", ".join(doc["files"]) or "typed or pasted"
        print(f"{k}. {printable(doc['name'])}: {doc['length']} residues from {printable(files)}; numbering "
              f"{printable(doc['numbering'])}")
        for j, scan in enumerate(doc["scans"]):
            state = "complete" if scan["complete"] else f"partial, {scan['positions_done']} of {scan['positions']} positions"
            random = " (RANDOM WEIGHTS)" if scan["random_weights"] else ""
            weights = scan["provenance"].get("weights", "")
            shown = " [shown]" if j == doc["chosen_scan"] and len(doc["scans"]) > 1 else ""
            print(f"   scan {j + 1}: {scan['model']}{random}, {scan['strategy']}, {state}, {scan['created'][:16]}{shown}"
                  + (f"; weights {weights}" if weights else ""))
        models = "; ".join(doc["score_models"])
        print(f"   variants: {doc['variants']} ({doc['notes']} with notes, {doc['scored_variants']} scored by a model"
              + (f": {models})" if models else ")"))
        for result in doc["results"]:
            print(f"   {result['kind']}: {printable(result['name'])}")
    return 0


def register(subparsers) -> None:
    """Add ``project`` (``project info FILE``)."""
    parser = subparsers.add_parser("project", help="what a .psproj project holds",
                                   description="Read a Protein Studio project file without changing it.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    info = verbs.add_parser("info", help="documents, scans (model, strategy, positions done), variants, results")
    info.add_argument("file", metavar="FILE.psproj")
    info.add_argument("--json", action="store_true", help="the summary as JSON")
    info.set_defaults(handler=run_info)
