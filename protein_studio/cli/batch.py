"""``protein-studio batch scan|score|fold|generate INPUTS... --out DIR``: many proteins, one output each.

See :mod:`protein_studio.jobs.batch` for what is written, how a rerun resumes and how the engines work.
No torch at import time.
"""

from __future__ import annotations

import argparse
import sys

from protein_studio.engines.methods import MULTI_METHODS, PRECISIONS, STRATEGIES
from protein_studio.cli.options import number, whole

__all__ = ["register", "run"]

_DEFAULT_MODEL = {"fold": "esmfold_v1", "generate": "protgpt2"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch", help="scan, score, fold or generate for many proteins (Parquet outputs, resumable, Ray)",
        description="Run one operation over many proteins: every record of a FASTA file, every structure "
                    "file of a folder, or every row of a CSV with a 'sequence' column ('name' and "
                    "'mutants' optional). Each protein gets OUT/<id>.<operation>.parquet and a record "
                    "<id>.<operation>.json; OUT/manifest.json lists them all. A rerun skips what is complete "
                    "for the same settings and verified; a failing protein is recorded with its error and the "
                    "batch goes on (the exit status is then 1).")
    parser.add_argument("operation", choices=("scan", "score", "fold", "generate"))
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="FASTA files, structure files or folders, CSV files")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (made if needed)")
    parser.add_argument("--model", action="append", metavar="NAME",
                        help="model (scan/score: repeat for an ensemble; default fold esmfold_v1, generate protgpt2)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="masked-marginals")
    parser.add_argument("--multi", choices=MULTI_METHODS, default="additive")
    parser.add_argument("--mutants", metavar="LIST", help="score: mutants for proteins whose CSV row has none")
    parser.add_argument("--chain", metavar="ID", help="chain of the structure files (default: the first)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--batch-size", type=whole(1, 4096), default=None, metavar="N",
                        help="masked copies per forward pass (default 1 on a CPU, 32 on a GPU: fixed, so that "
                             "reruns and every engine give the same numbers)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: this machine (default); ray: a Ray cluster (pip install "
                             "\"protein-studio[cluster]\")")
    parser.add_argument("--ray-address", default="auto", metavar="auto|HOST:PORT", help="the Ray cluster")
    parser.add_argument("--workers", type=whole(1, 4096), metavar="N",
                        help="Ray actors (default: one per GPU, else one per 4 CPUs)")
    parser.add_argument("--shard", metavar="I/N", help="run only every N-th protein from the I-th (Slurm arrays)")
    generation = parser.add_argument_group("generate (each input sequence is the prompt)")
    generation.add_argument("--n", type=whole(1, 100_000), default=20, help="sequences sampled per prompt")
    generation.add_argument("--max-length", type=whole(1, 100_000), default=400)
    generation.add_argument("--temperature", type=number(0, 100, above=True), default=1.0)
    generation.add_argument("--seed", type=whole(0, 2**32 - 1), default=0)
    parser.set_defaults(handler=run)


def _settings(args):
    from protein_studio.core.errors import UserError
    from protein_studio.jobs.batch import BatchSettings

    models = tuple(dict.fromkeys(args.model or ([_DEFAULT_MODEL[args.operation]]
                                                if args.operation in _DEFAULT_MODEL else [])))
    if not models:
        raise UserError(f"batch {args.operation} needs --model NAME")
    if args.operation in ("fold", "generate") and len(models) > 1:
        raise UserError(f"batch {args.operation} takes one --model")
    from protein_studio.core.molecules.mutations import split_mutants
    from protein_studio.models.catalog import get_spec

    task = {"scan": "scoring", "score": "scoring", "fold": "folding", "generate": "generation"}[args.operation]
    for name in models:
        spec = get_spec(name)
        if spec.task != task:
            raise UserError(f"{name} is a {spec.task} model; batch {args.operation} needs a {task} model")
    batch_size = args.batch_size
    if batch_size is None and args.operation in ("scan", "score"):
        batch_size = 32 if args.device.startswith("cuda") else 1
    generate = ({"n": args.n, "max_length": args.max_length, "temperature": args.temperature, "seed": args.seed}
                if args.operation == "generate" else {})
    return BatchSettings(args.operation, models, args.strategy, args.multi, args.device, args.precision, batch_size,
                         tuple(split_mutants(args.mutants)) if args.mutants else (), generate)


def run(args: argparse.Namespace) -> int:
    from protein_studio.jobs.batch import LocalEngine, RayEngine, check_output_folder, parse_shard, read_tasks, run_batch

    which = parse_shard(args.shard)
    settings = _settings(args)
    check_output_folder(args.out)  # before any protein is read or model loaded
    tasks = read_tasks(args.inputs, chain=args.chain)
    engine = (RayEngine(settings, args.ray_address, args.workers) if args.engine == "ray"
              else LocalEngine(settings))
    try:
        manifest = run_batch(tasks, settings, args.out, engine, which)
    finally:
        engine.close()
    counts = manifest["counts"]
    print(f"protein-studio batch {args.operation}: {counts['done']} of {counts['tasks']} proteins done "
          f"({counts['computed']} computed now, {counts['failed']} failed) in {args.out}", file=sys.stderr)
    return 1 if counts["failed"] else 0
