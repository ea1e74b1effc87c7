"""``protein-studio fit`` and ``protein-studio propose``: learn from measured variants, then propose the next
round.

``fit MEASURED.csv INPUT --column COL --out model.json`` reads the measured column (or ``--enrichment
SELECTED INPUT`` for two count columns) onto INPUT in the chosen numbering, prints how every row was used,
cross-validates (``--cv random|contiguous|modulo``, ProteinGym's schemes; the pooled out-of-fold Spearman is
printed as ``cv SCHEME spearman VALUE``) and fits a ridge regression, a Gaussian process (``--regressor gp``)
or the structure-aware Gaussian process (``--regressor structure-gp``: the structure of INPUT, or of
``--structure FILE``, read by ProteinMPNN) on one-hot, embedding and/or zero-shot features; the model is saved
as JSON with everything ``propose`` needs.
``propose model.json INPUT --n 24 --out next_round.csv`` ranks the candidates (every single substitution not
measured; never Met1 unless ``--allow-start``; never a position of ``--exclude``) by predicted value with a
diversity rule, adds ``--combinations`` multi-mutants of the best of them, and writes each with its predicted
gain over the wild type and a 95 % interval; warnings say when the proposals are extrapolations.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.files import printable
from protein_studio.cli.options import number, whole

__all__ = ["register", "run_fit", "run_propose"]


def _zeroshot_provider(args, doc):
    """Zero-shot scores of variants: an ESM model's scan (additive over mutations) or a table column."""
    import numpy as np

    from protein_studio.core.documents.scans import additive_scores

    if getattr(args, "zeroshot_model", None):
        from protein_studio.cli.scoring import run_models
        from protein_studio.engines.scoring import saturation_scan

        scan_args = argparse.Namespace(model=[args.zeroshot_model], device=args.device, command=args.command)
        result = run_models(scan_args, lambda loaded, ctx: saturation_scan(
            doc.wild_type, loaded, ctx, strategy=args.zeroshot_strategy, positions=doc.scannable()), doc)[0]
        return (lambda variants: additive_scores(result.scores, variants)), {"kind": "model", "name": args.zeroshot_model, "strategy": args.zeroshot_strategy,
                           "weights": result.provenance.get("weights", "")}
    table = getattr(args, "zeroshot_table", None) or getattr(args, "measured", None)
    column = getattr(args, "zeroshot_column", None)
    if column:
        from protein_studio.core.assays.measurements import read_assay

        assay = read_assay(table, doc.wild_type, doc.scheme, column=column, schemes=doc.schemes())
        known = dict(zip(assay.variants, assay.values))
        return (lambda variants: np.array([known.get(v, np.nan) for v in variants]),
                {"kind": "table", "file": Path(table).name, "column": column})
    return None, None


def _structure_sites(args, doc):
    """ProteinMPNN's site distributions and the C-alpha atoms of the document's structure."""
    from protein_studio.engines.structure_gp import site_table

    if doc.structure is None:
        raise UserError("--regressor structure-gp reads the protein's structure: give a PDB or mmCIF INPUT, or a "
                        "FASTA INPUT with --structure FILE")
    run_args = argparse.Namespace(model=[args.structure_model], device=args.device, command=args.command)
    from protein_studio.cli.scoring import run_models

    sites = run_models(run_args, lambda loaded, ctx: site_table(doc, loaded, ctx), doc)[0]
    covered = int(sites.covered.sum())
    print(printable(f"protein-studio {args.command}: the kernel reads {covered} of {len(doc)} residues from "
                    f"{doc.structure.name} with {args.structure_model}"
                    + ("" if covered == len(doc) else "; mutations at the others have the sequence term only")),
          file=sys.stderr)
    return sites


def _embedder(args, doc):
    if not getattr(args, "model", None):
        return None
    from protein_studio.engines.scoring import check_model_for_document, embed_sequence, model_for_document
    from protein_studio.models.loader import load_model
    from protein_studio.models.catalog import get_spec

    check_model_for_document(get_spec(args.model), doc)
    loaded = model_for_document(load_model(args.model, args.device), doc)
    return lambda sequence: embed_sequence(sequence, loaded)


def run_fit(args) -> int:
    """Handler of ``protein-studio fit``."""
    from protein_studio.cli.folding import check_output
    from protein_studio.cli.scoring import load_input_document
    from protein_studio.core.assays.measurements import read_assay
    from protein_studio.engines.learning import FeatureSet, fit

    check_output(args.out)
    doc = load_input_document(args)
    features = [f.strip() for f in args.features.split(",") if f.strip()]
    assay = read_assay(args.measured, doc.wild_type, doc.scheme, column=args.column,
                       enrichment=args.enrichment, mutant_column=args.mutant_column, schemes=doc.schemes())
    print(printable(f"protein-studio fit: {assay.summary()} (replicates averaged)"), file=sys.stderr)
    from protein_studio.cli.terminal import echo_skipped

    echo_skipped("protein-studio fit", [(p.line, p.text, p.reason) for p in assay.problems])
    if len(assay.variants) < 3:
        from collections import Counter

        reasons = Counter(p.reason for p in assay.problems).most_common(3)
        why = "; ".join(f"{count} rows: {reason}" for reason, count in reasons)
        raise InputError(f"only {len(assay.variants)} measured variants in column {args.column or 'enrichment'} "
                         f"({assay.rows} rows{': ' + why if why else ''}); at least 3 are needed to fit",
                         source=Path(args.measured).name)
    sites = _structure_sites(args, doc) if args.regressor == "structure-gp" else None
    zeroshot, zeroshot_source = _zeroshot_provider(args, doc) if "zeroshot" in features else (None, None)
    feature_set = FeatureSet(doc.wild_type, tuple(features), _embedder(args, doc) if "embeddings" in features else None,
                             zeroshot)
    provenance = {"measured": assay.name, "rows_used": assay.rows_used, "numbering": assay.numbering,
                  "input": doc.name}
    if zeroshot_source:
        provenance["zeroshot"] = zeroshot_source
    if "embeddings" in features:
        provenance["embeddings"] = args.model
    from protein_studio.cli.terminal import StatusLine
    from protein_studio.core.job_context import JobContext

    status = StatusLine("protein-studio fit")
    model = fit(doc.wild_type, assay.variants, assay.values, features=feature_set, regressor=args.regressor,
                alpha=args.alpha, cv_scheme=None if args.cv == "none" else args.cv, k=args.folds, seed=args.seed,
                provenance=provenance, sites=sites, ctx=JobContext(on_progress=status, on_warning=status.warn))
    if model.cv is not None:
        print(model.cv.line())
        print(f"protein-studio fit: {model.cv.describe()}", file=sys.stderr)
    if args.regressor == "structure-gp":
        from protein_studio.engines.structure_gp import describe

        print(f"protein-studio fit: kernel: {describe(model.estimator)}", file=sys.stderr)
    model.save(args.out)
    print(f"protein-studio fit: {args.regressor} on {'+'.join(features)} features of {len(model.variants)} "
          f"variants; wrote {args.out}", file=sys.stderr)
    return 0


def run_propose(args) -> int:
    """Handler of ``protein-studio propose``."""
    from protein_studio.cli.folding import check_output
    from protein_studio.cli.scoring import format_score, load_input_document, write_csv
    from protein_studio.core.provenance import table_provenance
    from protein_studio.engines.learning import model_from_dict, propose, read_model_json

    check_output(args.out)
    doc = load_input_document(args)
    source_name = Path(args.model_file).name
    saved = read_model_json(args.model_file)  # read once: the feature names say what it needs, then it is built
    try:
        names = [str(n) for n in saved["features"]["names"]]
        source = saved.get("provenance", {}).get("zeroshot", {})
        source = source if isinstance(source, dict) else {}
    except (KeyError, TypeError, AttributeError):
        raise InputError("not a model written by protein-studio fit", source=source_name) from None
    if "zeroshot" in names and not (args.zeroshot_model or args.zeroshot_column):
        if source.get("kind") == "model":
            args.zeroshot_model, args.zeroshot_strategy = source["name"], source.get("strategy", "wt-marginals")
        else:
            raise UserError("the model uses a zero-shot score from a table: give --zeroshot-table FILE "
                            "--zeroshot-column COL covering the candidates, or --zeroshot-model NAME")
    if "embeddings" in names and not args.model:
        raise UserError("the model uses ESM embeddings: give the same --model NAME")
    zeroshot, _ = _zeroshot_provider(args, doc) if "zeroshot" in names else (None, None)
    model = model_from_dict(saved, embedder=_embedder(args, doc) if "embeddings" in names else None,
                            zeroshot=zeroshot, source=source_name)
    if model.wild_type != doc.wild_type:
        raise InputError(f"the model was fitted on another sequence ({len(model.wild_type)} residues) than "
                         f"{doc.name} ({len(doc)} residues)", source=source_name)
    skip = set(doc.excluded)
    if args.exclude:
        skip.update(doc.scheme.parse_positions(args.exclude))
    chosen = propose(model, args.n, per_position=args.per_position, min_distance=args.min_distance,
                     explore=args.explore, skip=frozenset(skip), allow_start=args.allow_start,
                     combinations=args.combinations)
    for warning in chosen.warnings:
        print(printable(f"protein-studio propose: warning: {warning}"), file=sys.stderr)
    if not chosen.proposals:
        raise UserError(f"no proposals: {chosen.reason}")
    rows = [[rank, doc.name_mutant(p.variant), str(p.variant), len(p.variant.mutations), format_score(p.predicted),
             format_score(p.std), format_score(p.gain), format_score(p.interval[0]), format_score(p.interval[1]),
             format_score(p.acquisition), p.extrapolation, p.tied]
            for rank, p in enumerate(chosen, start=1)]
    spread = {"structure-gp": "the Gaussian process's posterior (covariance with the wild type included)",
              "gp": "the Gaussian process's posterior (covariance with the wild type included)",
              "ridge": "the root-mean-square error of the cross-validation"}[model.regressor]
    provenance = table_provenance(doc, f"{model.regressor} on {'+'.join(names)}",
                                  f"fitted on {len(model.variants)} measured variants ({Path(args.model_file).name})",
                                  diversity=f"at most {args.per_position} per position, min distance "
                                            f"{args.min_distance}, explore {args.explore}",
                                  gain=f"predicted minus the wild type's prediction; 95 % interval from {spread}",
                                  excluded=(args.exclude or "") + ("" if args.allow_start or doc.wild_type[:1] != "M"
                                                                   else " (and Met1, the start codon)"),
                                  combinations=args.combinations)
    if chosen.warnings:
        provenance["warnings"] = list(chosen.warnings)
    write_csv(args, rows, ["rank", "mutant", "sequence_mutant", "mutations", "predicted", "std", "gain",
                           "gain_lower_95", "gain_upper_95", "acquisition", "extrapolation", "tied_with"], provenance)
    if args.out != "-":
        print(f"protein-studio propose: wrote {len(rows)} proposals to {args.out}", file=sys.stderr)
    return 0


def _input_arguments(parser) -> None:
    from protein_studio.cli.scoring import bfactor_column_argument

    parser.add_argument("--sequence", metavar="SEQ", help="the protein sequence itself instead of INPUT")
    parser.add_argument("--structure", metavar="FILE", help="a structure to align a FASTA INPUT to")
    parser.add_argument("--chain", metavar="ID", help="chain of a structure file")
    parser.add_argument("--record", metavar="NAME|N", help="record of a FASTA file")
    parser.add_argument("--numbering", nargs="+", metavar="SCHEME",
                        help="how positions are named: structure, sequence, reference FILE, offset N, table FILE")
    parser.add_argument("--offset", type=whole(-1_000_000, 1_000_000), default=0, metavar="N", help="short for --numbering offset N")
    bfactor_column_argument(parser)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--zeroshot-model", metavar="NAME", help="zero-shot scores from this ESM model's scan")
    parser.add_argument("--zeroshot-strategy", default="wt-marginals", choices=("wt-marginals", "masked-marginals"),
                        help="the zero-shot scan's strategy (default: wt-marginals, one pass)")
    parser.add_argument("--zeroshot-column", metavar="COL", help="zero-shot scores from this column of a table")


def register(subparsers) -> None:
    """Add ``fit`` and ``propose``."""
    from protein_studio.engines.methods import CV_SCHEMES, REGRESSORS, STRUCTURE_GP_MODEL as STRUCTURE_MODEL

    fit_parser = subparsers.add_parser(
        "fit", help="learn from measured variants (ridge or Gaussian process, cross-validated)",
        description="Fit a supervised model on a measured column of a DMS/assay table: one-hot, ESM-embedding "
                    "and/or zero-shot features; ProteinGym's random, contiguous or modulo cross-validation.")
    fit_parser.add_argument("measured", metavar="MEASURED.csv", help="the assay table (mutants in the numbering used)")
    fit_parser.add_argument("input", nargs="?", metavar="INPUT", help="FASTA, PDB or mmCIF of the measured protein")
    group = fit_parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--column", metavar="COL", help="the measured column")
    group.add_argument("--enrichment", nargs=2, metavar=("SELECTED", "INPUT"),
                       help="two count columns: the value is log((selected+0.5)/(input+0.5))")
    fit_parser.add_argument("--mutant-column", metavar="COL", help="the mutants' column (default: found by name)")
    fit_parser.add_argument("--features", default="onehot", metavar="LIST",
                            help="comma-separated: onehot (default), embeddings (needs --model), zeroshot (needs "
                                 "--zeroshot-model or --zeroshot-column)")
    fit_parser.add_argument("--model", metavar="NAME", help="ESM model for embedding features")
    fit_parser.add_argument("--regressor", choices=REGRESSORS, default="ridge",
                            help="ridge (default), gp, or structure-gp (the structure-aware Gaussian process: needs a "
                                 "structure, read with ProteinMPNN)")
    fit_parser.add_argument("--structure-model", default=STRUCTURE_MODEL, metavar="NAME",
                            help=f"the ProteinMPNN weights structure-gp reads the structure with (default "
                                 f"{STRUCTURE_MODEL})")
    fit_parser.add_argument("--alpha", type=number(0, 1e9, above=True), default=1.0, help="ridge regularisation (default 1.0)")
    fit_parser.add_argument("--cv", choices=CV_SCHEMES + ("none",), default="random",
                            help="cross-validation split scheme (default random)")
    fit_parser.add_argument("--folds", type=whole(2, 100), default=5, help="folds (default 5)")
    fit_parser.add_argument("--seed", type=whole(0, 2**32 - 1), default=0, help="seed of the random folds")
    fit_parser.add_argument("--out", required=True, metavar="model.json", help="the fitted model (JSON)")
    _input_arguments(fit_parser)
    fit_parser.set_defaults(handler=run_fit)

    propose_parser = subparsers.add_parser(
        "propose", help="propose the next round from a fitted model",
        description="Rank every single substitution not yet measured by the model's prediction, keep a diverse "
                    "set, and write it as CSV.")
    propose_parser.add_argument("model_file", metavar="model.json")
    propose_parser.add_argument("input", nargs="?", metavar="INPUT", help="the same protein the model was fitted on")
    propose_parser.add_argument("--n", type=whole(1, 100_000), default=24, help="how many to propose (default 24)")
    propose_parser.add_argument("--per-position", type=whole(1, 19), default=1, help="at most this many per position")
    propose_parser.add_argument("--min-distance", type=whole(0, 100_000), default=0,
                                help="chosen positions at least this far apart along the sequence")
    propose_parser.add_argument("--explore", type=number(0, 100), default=0.0,
                                help="GP only: rank by mean + EXPLORE * std (upper confidence bound)")
    propose_parser.add_argument("--exclude", metavar="POSITIONS",
                                help="never mutate these positions, in the numbering used (e.g. 1-23 for a signal "
                                     "peptide, 1-23,70)")
    propose_parser.add_argument("--allow-start", action="store_true",
                                help="allow mutating Met1 (the start codon; left out by default)")
    propose_parser.add_argument("--combinations", type=whole(0, 10_000), default=0, metavar="N",
                                help="also propose N double mutants pairing the model's best 12 singles (measured "
                                     "ones too), scored as pairs")
    propose_parser.add_argument("--model", metavar="NAME", help="ESM model, when the fit used embeddings")
    propose_parser.add_argument("--zeroshot-table", metavar="FILE", help="table with the candidates' zero-shot scores")
    propose_parser.add_argument("--out", required=True, metavar="CSV", help="next round ('-' for standard output)")
    _input_arguments(propose_parser)
    propose_parser.set_defaults(handler=run_propose)
