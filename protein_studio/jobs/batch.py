"""Batch work over many proteins: ``protein-studio batch scan|score|fold|generate INPUTS... --out DIR``.

A batch is a list of :class:`Task` (one protein each: a FASTA record, a structure file, or a row of a CSV
of sequences and mutant lists), each carrying the bytes of its input so that any machine can run it. Each
task gives one Parquet file (plus the predicted PDB for ``fold``) and a record beside it
(``<id>.<operation>.json``: status, files with their SHA-256, the error of a failed task, provenance, and
the key of the settings it was computed with). The outputs and records are written by the process that
drives the batch, atomically, once per task, whichever engine computed them; ``manifest.json``
(``manifest.shard-I-of-N.json`` for a shard) lists every task of the run.

A rerun skips every task whose record says done for the same settings and whose files still have the
recorded SHA-256; failed and missing ones run again. A failing protein is recorded with its error and
the batch goes on. ``--shard I/N`` keeps every N-th task (the union of the N shards is the whole batch),
for a Slurm job array without Ray.

Engines: :class:`LocalEngine` (this process, each model loaded once) and :class:`RayEngine` (a Ray
cluster, the optional extra ``.[cluster]``: one actor per GPU or per share of CPUs, each loading its models
once; an actor that dies is restarted and its task run again).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from protein_studio.core.errors import InputError, JobCancelled, UserError
from protein_studio.core.files import file_sha256

__all__ = ["OPERATIONS", "Task", "BatchSettings", "read_tasks", "shard", "TaskRecord", "run_batch",
           "LocalEngine", "RayEngine", "run_task", "parse_shard", "BatchProgress"]

OPERATIONS = ("scan", "score", "fold", "generate")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Task:
    """One protein of a batch: ``sources`` are the (file name, bytes) its document is read from."""

    id: str
    name: str
    origin: str
    sources: tuple[tuple[str, bytes], ...]
    chain: str | None = None
    mutants: tuple[str, ...] = ()

    def input_key(self) -> str:
        digest = hashlib.sha256()
        for name, data in self.sources:
            digest.update(name.encode() + b"\0" + data + b"\0")
        digest.update(("|".join(self.mutants) + f"|{self.chain}").encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class BatchSettings:
    """What every task of a batch runs with (its key decides whether an earlier output can be kept)."""

    operation: str
    models: tuple[str, ...]
    strategy: str = "masked-marginals"
    multi: str = "additive"
    device: str = "auto"
    precision: str = "auto"
    batch_size: int | None = None
    mutants: tuple[str, ...] = ()
    generate: dict = field(default_factory=dict, hash=False)

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ tasks
def _task_id(name: str, taken: set[str]) -> str:
    base = _SAFE.sub("_", name).strip("._") or "protein"
    base = base[:80]
    candidate, k = base, 2
    while candidate in taken:
        candidate, k = f"{base}-{k}", k + 1
    taken.add(candidate)
    return candidate


def read_tasks(inputs: Sequence[str | Path], chain: str | None = None) -> list[Task]:
    """The tasks of ``inputs``: every record of a FASTA file, every structure file of a folder (or a single
    structure file), every row of a CSV with a ``sequence`` column (``name`` and ``mutants`` optional;
    mutants separated by commas, mutations of one mutant by ``:``).

    Raises
    ------
    InputError
        A missing or unreadable input, a CSV without a ``sequence`` column, an input without proteins.
    """
    from protein_studio.core.files import describe_path, read_input_bytes, read_input_text
    from protein_studio.core.formats import FASTA_SUFFIXES, STRUCTURE_SUFFIXES

    tasks: list[Task] = []
    taken: set[str] = set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and _is_structure(p, STRUCTURE_SUFFIXES))
            if not files:
                raise InputError("the folder holds no structure files", source=str(path))
            for file in files:
                tasks.append(Task(_task_id(_stem(file), taken), _stem(file), str(file),
                                  ((file.name, read_input_bytes(file, "a structure file")),), chain))
            continue
        problem = describe_path(path)
        if problem is not None:
            raise InputError("file not found" if problem == "does not exist" else problem, source=str(path))
        if _is_structure(path, STRUCTURE_SUFFIXES):
            tasks.append(Task(_task_id(_stem(path), taken), _stem(path), str(path),
                              ((path.name, read_input_bytes(path, "a structure file")),), chain))
        elif path.suffix.lower() == ".csv":
            tasks.extend(_csv_tasks(path, read_input_text(path, "a CSV table"), taken))
        elif path.suffix.lower() in FASTA_SUFFIXES:
            from protein_studio.core.molecules.sequences import read_fasta

            for k, entry in enumerate(read_fasta(path)):
                text = f">{entry.name}\n{entry.sequence}\n".encode()
                tasks.append(Task(_task_id(entry.name, taken), entry.name, f"{path}, record {k + 1}",
                                  ((f"{_SAFE.sub('_', entry.name)[:60] or 'record'}.fasta", text),)))
        else:
            raise InputError("unknown input (expected a FASTA file, a structure file, a folder of structures "
                             "or a CSV of sequences)", source=str(path))
    if not tasks:
        raise InputError("no proteins in the inputs")
    return tasks


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz",):
        name = name.removesuffix(suffix)
    return name.rsplit(".", 1)[0]


def _is_structure(path: Path, suffixes) -> bool:
    suffix = [s.lower() for s in path.suffixes]
    if suffix and suffix[-1] == ".gz":
        suffix = suffix[:-1]
    return bool(suffix) and suffix[-1] in suffixes


def _csv_tasks(path: Path, text: str, taken: set[str]) -> list[Task]:
    from protein_studio.core.molecules.mutations import split_mutants

    from protein_studio.core.tables import csv_field_limit

    reader = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    try:
        with csv_field_limit(131072):  # 128 kB: a protein sequence is far shorter
            rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"cannot read the table: {exc}", source=str(path), line=reader.line_num) from None
    columns = {c.strip().lower(): c for c in reader.fieldnames or []}
    if "sequence" not in columns:
        raise InputError(f"no 'sequence' column (columns: {', '.join(reader.fieldnames or [])})", source=str(path))
    tasks = []
    for line, row in enumerate(rows, start=2):
        sequence = (row.get(columns["sequence"]) or "").strip()
        if not sequence:
            raise InputError("empty sequence", source=str(path), line=line)
        name = (row.get(columns["name"]) or "").strip() if "name" in columns else ""
        name = name or f"{path.stem}_{line - 1}"
        mutants = tuple(split_mutants(row.get(columns["mutants"]) or "")) if "mutants" in columns else ()
        tasks.append(Task(_task_id(name, taken), name, f"{path}, line {line}",
                          ((f"{_SAFE.sub('_', name)[:60] or 'row'}.fasta", f">{name}\n{sequence}\n".encode()),),
                          None, mutants))
    return tasks


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/8"`` -> (2, 8); UserError for anything else (I counts from 1)."""
    if text is None:
        return None
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise UserError(f"--shard takes I/N with 1 <= I <= N (e.g. 3/10), not {text!r}")
    return int(found.group(1)), int(found.group(2))


def shard(tasks: Sequence[Task], which: tuple[int, int] | None) -> list[Task]:
    """Every N-th task from the I-th on (the N shards cover every task exactly once)."""
    if which is None:
        return list(tasks)
    index, count = which
    return [task for k, task in enumerate(tasks) if k % count == index - 1]


# ------------------------------------------------------------------------------------------------ work
class ModelCache:
    """The models a worker has loaded (each once), bound to a document when it needs one (SaProt)."""

    def __init__(self, device: str, precision: str):
        self.device, self.precision = device, precision
        self.loaded: dict[str, object] = {}

    def get(self, name: str):
        if name not in self.loaded:
            from protein_studio.models.loader import load_model

            self.loaded[name] = load_model(name, self.device, self.precision)
        return self.loaded[name]


def _in_user_terms(message: str, task: Task) -> str:
    """An error message about a task's input, naming the user's file and line or record (``designs.csv, line 3``,
    ``designs.fasta, record 2``) instead of the temporary file its bytes were read from."""
    for name, _data in task.sources:
        if name != Path(task.origin).name:
            message = re.sub(rf"\S*{re.escape(name)}(, line \d+)?", lambda _m: task.origin, message)
    return message


def run_task(task: Task, settings: BatchSettings, models: ModelCache) -> dict:
    """Compute one task; returns ``{"files": {suffix: bytes}, "summary": {...}, "provenance": {...}}`` or
    ``{"error": message}`` for a failure the user can act on; any other failure of one task is that task's
    error too (the batch goes on with the others)."""
    from protein_studio.core.documents.document import load_sources
    from protein_studio.core.job_context import JobContext

    started = time.perf_counter()
    try:
        document = load_sources(list(task.sources), chain=task.chain)
        out = _OPERATIONS[settings.operation](task, document, settings, models, JobContext())
    except UserError as exc:
        return {"error": _in_user_terms(str(exc), task), "seconds": time.perf_counter() - started}
    except JobCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - one protein's failure must not end the others'
        return {"error": f"internal error: {type(exc).__name__}: {exc}", "seconds": time.perf_counter() - started}
    out["seconds"] = time.perf_counter() - started
    return out


def _parquet(columns: dict, metadata: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    table = table.replace_schema_metadata({b"protein_studio": json.dumps(metadata, default=str).encode()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _scores_of(task, document, settings, models, ctx, compute):
    from protein_studio.engines.scoring import check_model_for_document, model_for_document
    from protein_studio.models.catalog import get_spec

    results = []
    for name in settings.models:
        check_model_for_document(get_spec(name), document)
        results.append(compute(model_for_document(models.get(name), document), ctx))
    return results


def _scan(task, document, settings, models, ctx) -> dict:
    import numpy as np

    from protein_studio.core.storage.export import scan_long_rows
    from protein_studio.engines.scoring import ensemble_scans, saturation_scan

    positions = document.scannable()
    results = _scores_of(task, document, settings, models, ctx, lambda loaded, ctx: saturation_scan(
        document.sequence, loaded, ctx, strategy=settings.strategy, positions=positions,
        batch_size=settings.batch_size))
    result = results[0] if len(results) == 1 else ensemble_scans(results)
    rows = list(scan_long_rows(result.scores, document.sequence, document.scheme, result.model, result.strategy,
                               document.numbering, positions=result.positions_done))
    columns = {"mutant": [r[0] for r in rows], "position": [r[1] for r in rows],
               "sequence_index": np.array([int(r[2]) for r in rows], dtype=np.int32),
               "chain": [r[3] for r in rows], "residue_number": [r[4] for r in rows],
               "insertion_code": [r[5] for r in rows], "wt": [r[6] for r in rows], "mt": [r[7] for r in rows],
               "score": np.array([result.scores[int(r[2]) - 1, _column(r[7])] for r in rows], dtype=np.float64),
               "model": [r[9] for r in rows], "strategy": [r[10] for r in rows]}
    provenance = {**result.provenance, "numbering": document.scheme.description, "protein": task.name}
    return {"files": {"parquet": _parquet(columns, provenance)}, "provenance": provenance,
            "summary": {"residues": len(document), "substitutions": len(rows)}}


def _column(amino_acid: str) -> int:
    from protein_studio.core.molecules.sequences import AMINO_ACIDS

    return AMINO_ACIDS.index(amino_acid)


def _score(task, document, settings, models, ctx) -> dict:
    import numpy as np

    from protein_studio.engines.scoring import ensemble_mutant_scores, score_mutants

    texts = list(task.mutants or settings.mutants)
    if not texts:
        raise UserError("no mutants to score (give a 'mutants' column or --mutants)")
    mutants = [document.parse_mutant(text) for text in texts]
    results = _scores_of(task, document, settings, models, ctx, lambda loaded, ctx: score_mutants(
        document.wild_type, mutants, loaded, ctx, multi=settings.multi, strategy=settings.strategy,
        batch_size=settings.batch_size))
    result = results[0] if len(results) == 1 else ensemble_mutant_scores(results)
    columns = {"mutant": [document.name_mutant(m) for m in mutants], "sequence_mutant": [str(m) for m in mutants],
               "score": np.asarray(result.scores, dtype=np.float64), "model": [result.model] * len(mutants),
               "method": [result.method] * len(mutants)}
    provenance = {**result.provenance, "numbering": document.scheme.description, "protein": task.name}
    return {"files": {"parquet": _parquet(columns, provenance)}, "provenance": provenance,
            "summary": {"mutants": len(mutants)}}


def _fold(task, document, settings, models, ctx) -> dict:
    import numpy as np

    from protein_studio.engines.folding import fold_sequence

    result = fold_sequence(document.sequence, models.get(settings.models[0]), ctx, name=task.name)
    provenance = {"model": result.model, "mean_plddt": result.mean_plddt, "ptm": result.ptm,
                  "chunk_size": result.chunk_size, "protein": task.name, "numbering": document.scheme.description}
    # the residues are the document's (a monomer): labelled in its numbering, as the scan's rows are
    columns = {"position": [document.scheme.display(i) for i in range(len(result.plddt))],
               "sequence_index": np.arange(1, len(result.plddt) + 1, dtype=np.int32),
               "residue": list(result.sequence.replace(":", "")), "plddt": np.asarray(result.plddt, dtype=np.float64)}
    return {"files": {"parquet": _parquet(columns, provenance), "pdb": result.pdb_text.encode()},
            "provenance": provenance, "summary": {"mean_plddt": round(float(result.mean_plddt), 2)}}


def _generate(task, document, settings, models, ctx) -> dict:
    from protein_studio.engines.generation import GenerationSettings, generate_sequences

    options = {**settings.generate, "prompt": document.sequence}
    result = generate_sequences(models.get(settings.models[0]), GenerationSettings(**options).validated(), ctx)
    kept = result.kept
    columns = {"name": [c.name for c in kept], "sequence": [c.sequence for c in kept],
               "length": [len(c.sequence) for c in kept], "perplexity": [c.perplexity for c in kept],
               "entropy": [c.entropy for c in kept]}
    provenance = {"model": result.model, "settings": options, "protein": task.name,
                  "candidates": len(result.candidates)}
    return {"files": {"parquet": _parquet(columns, provenance)}, "provenance": provenance,
            "summary": {"kept": len(kept), "sampled": len(result.candidates)}}


_OPERATIONS: dict[str, Callable] = {"scan": _scan, "score": _score, "fold": _fold, "generate": _generate}


# ------------------------------------------------------------------------------------------------ engines
class LocalEngine:
    """Runs the tasks one after another in this process (each model loaded once)."""

    name = "local"

    def __init__(self, settings: BatchSettings):
        self.settings = settings
        self.models = ModelCache(settings.device, settings.precision)

    def map(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, dict]]:
        for task in tasks:
            yield task, run_task(task, self.settings, self.models)

    def close(self) -> None:
        self.models.loaded.clear()


class RayEngine:
    """Runs the tasks on a Ray cluster: ``workers`` actors (default one per GPU, else one per 4 CPUs), each
    loading its models once; an actor that dies is restarted and its task retried (``retries`` times)."""

    name = "ray"

    def __init__(self, settings: BatchSettings, address: str = "auto", workers: int | None = None,
                 retries: int = 3):
        try:
            import ray
        except ImportError:
            raise UserError('the ray engine needs Ray: pip install "protein-studio[cluster]"') from None
        self.ray = ray
        self.settings = settings
        self.started_here = not ray.is_initialized()
        if self.started_here:
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            except Exception as exc:  # noqa: BLE001 - no cluster there, bad address
                first = " ".join(str(exc).split())[:300]
                raise UserError(f"cannot connect to the Ray cluster at {address} ({first})") from None
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        cpus = int(resources.get("CPU", 1))
        count = workers or (gpus if gpus else max(1, cpus // 4))
        share = max(1, cpus // count) if not gpus else max(1, cpus // max(1, gpus))
        actor = ray.remote(_RayWorker).options(num_cpus=share, num_gpus=1 if gpus else 0,
                                               max_restarts=retries, max_task_retries=retries)
        self.actors = [actor.remote(settings, share) for _ in range(count)]
        self.threads = share

    def map(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, dict]]:
        from ray.util import ActorPool

        pool = ActorPool(self.actors)
        by_id = {task.id: task for task in tasks}
        for task_id, result in pool.map_unordered(lambda actor, task: actor.run.remote(task), list(tasks)):
            yield by_id[task_id], result

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.started_here:
            self.ray.shutdown()


class _RayWorker:
    """One Ray actor: its share of CPU threads, its models loaded once."""

    def __init__(self, settings: BatchSettings, threads: int):
        from protein_studio.models.devices import apply_threads

        apply_threads(threads)
        self.settings = settings
        self.models = ModelCache(settings.device, settings.precision)

    def run(self, task: Task) -> tuple[str, dict]:
        return task.id, run_task(task, self.settings, self.models)


# ------------------------------------------------------------------------------------------------ records
@dataclass
class TaskRecord:
    """What ``<id>.<operation>.json`` says of a task."""

    id: str
    name: str
    origin: str
    operation: str
    status: str
    settings_key: str
    input_key: str
    files: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    finished: str = ""


def _record_path(out: Path, task: Task, operation: str) -> Path:
    return out / f"{task.id}.{operation}.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: Largest task record read back (a record is a few kB).
MAX_RECORD_BYTES = 1024 * 1024


def _regular_size(path: Path) -> int | None:
    """The size of a regular file (never following a link), None for anything else: what a rerun finds in
    the output folder is read only when it is a plain file."""
    import stat as stat_module

    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size if stat_module.S_ISREG(info.st_mode) else None


def completed(out: Path, task: Task, settings: BatchSettings) -> TaskRecord | None:
    """The record of ``task`` when it is done for these settings and its files are intact, else None (also
    for a record or output that is damaged, tampered with, a link or a special file: the task runs again)."""
    path = _record_path(out, task, settings.operation)
    size = _regular_size(path)
    if size is None or size > MAX_RECORD_BYTES:
        return None
    try:
        record = TaskRecord(**json.loads(path.read_text()))
        if (record.status != "done" or record.settings_key != settings.key()
                or record.input_key != task.input_key()):
            return None
        for name, facts in record.files.items():
            file = out / Path(str(name)).name
            if _regular_size(file) != int(facts["bytes"]) or file_sha256(file) != facts["sha256"]:
                return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    return record


def _clear(path: Path) -> None:
    """A link or special file where an output of the batch's own goes is removed (never followed, never
    read): the output folder is the batch's, and its file is written anew."""
    if path.is_symlink() or (path.exists() and _regular_size(path) is None and not path.is_dir()):
        path.unlink()


def check_output_folder(out: str | Path) -> Path:
    """The batch's output folder, made when missing (see :func:`~protein_studio.core.files.make_output_folder`)."""
    from protein_studio.core.files import make_output_folder

    return make_output_folder(out)


def _write_result(out: Path, task: Task, settings: BatchSettings, result: dict) -> TaskRecord:
    import datetime

    from protein_studio.core.files import write_bytes_atomically, write_text_atomically

    files = {}
    status = "failed" if "error" in result else "done"
    for suffix, data in (result.get("files") or {}).items():
        name = f"{task.id}.{settings.operation}.{suffix}"
        _clear(out / name)
        write_bytes_atomically(out / name, data)
        files[name] = {"sha256": _sha256(data), "bytes": len(data)}
    record = TaskRecord(task.id, task.name, task.origin, settings.operation, status, settings.key(),
                        task.input_key(), files, result.get("summary", {}), result.get("provenance", {}),
                        result.get("error", ""), round(float(result.get("seconds", 0.0)), 3),
                        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    _clear(_record_path(out, task, settings.operation))
    write_text_atomically(_record_path(out, task, settings.operation),
                          json.dumps(asdict(record), indent=1, default=str))
    return record


class BatchProgress:
    """One line per finished task on stderr: count, failures, elapsed time and the time left."""

    def __init__(self, operation: str, total: int, skipped: int, stream=None):
        self.operation, self.total, self.skipped = operation, total, skipped
        self.stream = stream if stream is not None else sys.stderr
        self.done = self.failed = 0
        self.started = time.monotonic()

    def __call__(self, record: TaskRecord) -> None:
        from protein_studio.core.files import printable

        self.done += 1
        self.failed += record.status == "failed"
        elapsed = time.monotonic() - self.started
        left = (self.total - self.done) * elapsed / self.done
        what = f"failed: {record.error}" if record.status == "failed" else "done"
        self.stream.write(printable(
            f"batch {self.operation}: {self.done}/{self.total} {record.name} {what} "
            f"({self.failed} failed, {self.skipped} already complete; {_clock(elapsed)} elapsed, "
            f"about {_clock(left)} left)") + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def run_batch(tasks: Sequence[Task], settings: BatchSettings, out: str | Path, engine,
              which: tuple[int, int] | None = None,
              on_record: Callable[[TaskRecord], None] | None = None) -> dict:
    """Run the tasks of shard ``which`` that are not already complete with ``engine``; write each output,
    its record and then the manifest. Returns the manifest."""
    import datetime

    from protein_studio import __version__
    from protein_studio.core.files import write_text_atomically

    out = check_output_folder(out)
    mine = shard(tasks, which)
    records: dict[str, TaskRecord] = {}
    todo = []
    for task in mine:
        record = completed(out, task, settings)
        if record is None:
            todo.append(task)
        else:
            records[task.id] = record
    progress = on_record or BatchProgress(settings.operation, len(todo), len(records))
    started = time.monotonic()
    try:
        for task, result in engine.map(todo):
            record = _write_result(out, task, settings, result)
            records[task.id] = record
            progress(record)
    finally:
        manifest = {
            "application": f"protein-studio {__version__}", "operation": settings.operation,
            "settings": asdict(settings), "settings_key": settings.key(), "engine": engine.name,
            "shard": None if which is None else f"{which[0]}/{which[1]}",
            "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - started, 3),
            "counts": {"tasks": len(mine), "computed": len(todo),
                       "done": sum(r.status == "done" for r in records.values()),
                       "failed": sum(r.status == "failed" for r in records.values()),
                       "missing": len(mine) - len(records)},
            "tasks": [asdict(records[t.id]) if t.id in records else {"id": t.id, "name": t.name, "status": "missing"}
                      for t in mine],
        }
        name = "manifest.json" if which is None else f"manifest.shard-{which[0]}-of-{which[1]}.json"
        _clear(out / name)
        write_text_atomically(out / name, json.dumps(manifest, indent=1, default=str))
    return manifest
