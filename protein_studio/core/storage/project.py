"""Projects: a whole design session in one SQLite file (``.psproj``), written in one transaction.

A project holds every open document (name, wild type, edited sequence, numbering scheme, chain, FASTA
record, and the bytes of the files it was opened from), its scan (the matrix, which positions are done,
model, strategy, weights identity and the rest of its provenance), its variants with free-text notes and
model scores, its results (predictions, comparisons, generated sets: plain data plus numpy arrays) and its
view settings. Arrays are stored as ``.npy`` bytes (``allow_pickle=False``); nothing is pickled.

Saving replaces the project's contents in a single transaction (SQLite's rollback journal), so a kill or
a full disk at any moment leaves the previous committed state, never a mixture. Large byte strings
(structure files) are stored once by their SHA-256 in ``blobs`` and not rewritten while unchanged.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`, ``PRAGMA application_id`` = :data:`APPLICATION_ID`)::

    meta(key PRIMARY KEY, value)                   application version, created, modified, active document
    blobs(sha256 PRIMARY KEY, data)                file bytes and arrays, by content
    documents(id, position, name, wild_type, sequence, chain, record, scheme JSON, view JSON,
              saved_sequence, paths JSON, undo JSON, undo_index,   undo: steps of [index, old, new] edits
              confidence, active_scan)          what the B-factor column holds (the user's word), the scan shown
    sources(document_id, position, file_name, sha256 -> blobs)
    scans(id, document_id, position, model, strategy, sequence, scores -> blobs, final -> blobs,
          excluded JSON, random_weights, complete, provenance JSON, created)        every scan of a document
    variants(id, document_id, position, mutant, note)            mutant in 1-based sequence positions
    variant_scores(variant_id, position, score, model, method, provenance JSON)   one per model and method
    results(id, document_id, position, kind, name, data JSON, arrays JSON name -> blobs, provenance JSON)

Version 2 keeps every scan of a document (version 1 kept one) and every model's score of a variant (one), and
the B-factor column choice and the chosen scan; :data:`MIGRATIONS` brings version-1 files to it.

Migrations: :data:`MIGRATIONS` maps a schema version to the SQL that brings a file from it to the next;
opening an older file migrates a copy in memory and saving writes the current schema. A file from a newer
version is refused, never overwritten.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import parse_mutant
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.provenance import provenance_now

__all__ = [
    "SCHEMA_VERSION", "APPLICATION_ID", "PROJECT_SUFFIX", "MIGRATIONS", "ProjectError", "ProjectSnapshot",
    "snapshot", "save_project", "load_project", "merge_states", "merge_into", "primer_record", "project_summary", "array_bytes", "array_from_bytes",
    "prediction_record", "generated_record",
]

#: Version of the schema this application writes and reads.
SCHEMA_VERSION = 2
#: SQLite application id of Protein Studio projects ("PStu").
APPLICATION_ID = 0x50537475
PROJECT_SUFFIX = ".psproj"
#: schema version -> SQL that upgrades a file from it to the next version.
MIGRATIONS: dict[int, str] = {
    1: """
ALTER TABLE documents ADD COLUMN confidence TEXT;
ALTER TABLE documents ADD COLUMN active_scan INTEGER NOT NULL DEFAULT 0;
CREATE TABLE scans_2 (
    id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, model TEXT NOT NULL, strategy TEXT NOT NULL, sequence TEXT NOT NULL,
    scores TEXT NOT NULL REFERENCES blobs(sha256), final TEXT NOT NULL REFERENCES blobs(sha256),
    excluded TEXT NOT NULL DEFAULT '[]', random_weights INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0, provenance TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL DEFAULT '');
INSERT INTO scans_2 (document_id, position, model, strategy, sequence, scores, final, excluded, random_weights,
                     complete, provenance, created)
    SELECT document_id, 0, model, strategy, sequence, scores, final, excluded, random_weights, complete, provenance,
           COALESCE(json_extract(provenance, '$.date'), '') FROM scans;
DROP TABLE scans;
ALTER TABLE scans_2 RENAME TO scans;
CREATE TABLE variant_scores_2 (
    variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    score REAL NOT NULL, model TEXT NOT NULL, method TEXT NOT NULL, provenance TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (variant_id, model, method));
INSERT INTO variant_scores_2 (variant_id, position, score, model, method, provenance)
    SELECT variant_id, 0, score, model, method, provenance FROM variant_scores;
DROP TABLE variant_scores;
ALTER TABLE variant_scores_2 RENAME TO variant_scores
""",
}

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL, wild_type TEXT NOT NULL,
    sequence TEXT NOT NULL, chain TEXT, record INTEGER NOT NULL DEFAULT 0, scheme TEXT NOT NULL,
    view TEXT NOT NULL DEFAULT '{}', saved_sequence TEXT, paths TEXT NOT NULL DEFAULT '[]',
    undo TEXT NOT NULL DEFAULT '[]', undo_index INTEGER NOT NULL DEFAULT 0, confidence TEXT,
    active_scan INTEGER NOT NULL DEFAULT 0);
CREATE TABLE sources (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    file_name TEXT NOT NULL, sha256 TEXT NOT NULL REFERENCES blobs(sha256));
CREATE TABLE scans (
    id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, model TEXT NOT NULL, strategy TEXT NOT NULL, sequence TEXT NOT NULL,
    scores TEXT NOT NULL REFERENCES blobs(sha256), final TEXT NOT NULL REFERENCES blobs(sha256),
    excluded TEXT NOT NULL DEFAULT '[]', random_weights INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0, provenance TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL DEFAULT '');
CREATE TABLE variants (
    id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, mutant TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
CREATE TABLE variant_scores (
    variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    score REAL NOT NULL, model TEXT NOT NULL, method TEXT NOT NULL, provenance TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (variant_id, model, method));
CREATE TABLE results (
    id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}',
    arrays TEXT NOT NULL DEFAULT '{}', provenance TEXT NOT NULL DEFAULT '{}');
"""
_TABLES = ("results", "variant_scores", "variants", "scans", "sources", "documents")


class ProjectError(InputError):
    """A project file that cannot be opened or written; the message names the file and why."""


# -------------------------------------------------------------------------------------------- arrays
def array_bytes(array: np.ndarray) -> bytes:
    """``.npy`` bytes of an array (no pickles: object arrays are refused)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def array_from_bytes(data: bytes) -> np.ndarray:
    """The array of :func:`array_bytes`; never unpickles."""
    return np.load(io.BytesIO(bytes(data)), allow_pickle=False)


# -------------------------------------------------------------------------------------------- snapshot
@dataclass(frozen=True)
class ProjectSnapshot:
    """What a project holds, copied out of a session so it can be written on another thread.

    Attributes
    ----------
    states : tuple of DocumentState
        Copies of the session's document states (arrays copied).
    active : int
        The active document.
    meta : dict
        Extra key/value pairs for the ``meta`` table (strings).
    """

    states: tuple
    active: int = 0
    meta: dict = field(default_factory=dict)


def snapshot(session, meta: dict | None = None) -> ProjectSnapshot:
    """A :class:`ProjectSnapshot` of ``session`` that later edits do not change (cheap: arrays copied,
    immutable parts shared)."""
    from dataclasses import replace

    states = []
    for state in session.states:
        states.append(replace(state, scans=[scan.copy() for scan in state.scans], variants=list(state.variants),
                              notes=dict(state.notes), undo=json.loads(json.dumps(state.undo)),
                              model_scores={k: dict(v) for k, v in state.model_scores.items()},
                              results=[_copy_result(r) for r in state.results], view=json.loads(json.dumps(state.view))))
    return ProjectSnapshot(tuple(states), max(session.active, 0), dict(meta or {}))


def _copy_result(result: dict) -> dict:
    return {"kind": result["kind"], "name": result["name"], "data": json.loads(json.dumps(result.get("data", {}))),
            "arrays": {k: np.array(v, copy=True) for k, v in result.get("arrays", {}).items()},
            "provenance": dict(result.get("provenance", {}))}


# -------------------------------------------------------------------------------------------- files
def _connect(path: Path, *, write: bool) -> sqlite3.Connection:
    from protein_studio.core.files import describe_path

    source = str(path)
    problem = describe_path(path)
    if problem == "does not exist" and not write:
        raise ProjectError("no such file", source=source)
    if problem is not None and problem.startswith("cannot be read") and write:
        raise ProjectError(f"cannot be written here ({problem.split('(', 1)[-1].rstrip(')')}); save the project in "
                           f"a folder you can write to", source=source)
    if problem is not None and problem != "does not exist":
        raise ProjectError(f"{problem}, not a project file", source=source)
    try:
        con = sqlite3.connect(source, timeout=2.0, isolation_level=None)
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = DELETE")  # one file at rest; a journal only while writing
    except sqlite3.Error as exc:
        raise _error(exc, source) from None
    return con


def _error(exc: BaseException, source: str) -> ProjectError:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return ProjectError("is locked by another program (or another Protein Studio window); try again when "
                            "it is closed", source=source)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return ProjectError(f"cannot be written here ({text}); save the project in a folder you can write to",
                            source=source)
    if "disk is full" in text or "database or disk is full" in text:
        return ProjectError("the disk is full: nothing was changed in the project", source=source)
    if isinstance(exc, sqlite3.DatabaseError):
        return ProjectError(f"not a readable Protein Studio project: damaged, truncated or not an SQLite file "
                            f"({text})", source=source)
    return ProjectError(f"cannot use the project ({type(exc).__name__}: {text})", source=source)


def _check_version(con: sqlite3.Connection, source: str, *, empty_ok: bool) -> int:
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        application = con.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise _error(exc, source) from None
    if not tables and empty_ok:
        return 0
    if application != APPLICATION_ID or "documents" not in tables:
        raise ProjectError("an SQLite file, but not a Protein Studio project", source=source)
    if version > SCHEMA_VERSION:
        raise ProjectError(f"was written by a newer Protein Studio (project schema {version}; this version reads "
                           f"up to {SCHEMA_VERSION}); open it with that version", source=source)
    return version


def _blob(con: sqlite3.Connection, data: bytes, keep: set[str]) -> str:
    digest = hashlib.sha256(data).hexdigest()
    con.execute("INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?, ?)", (digest, sqlite3.Binary(data)))
    keep.add(digest)
    return digest


def save_project(path: str | Path, project: ProjectSnapshot) -> Path:
    """Write ``project`` to ``path`` (created or replaced) in one transaction.

    Raises
    ------
    ProjectError
        The file is not a project (it is left untouched), is from a newer version, is locked, or cannot be
        written (read-only folder, full disk); the previous contents stay as they were.
    """
    from protein_studio import __version__

    path = Path(path)
    source = str(path)
    con = _connect(path, write=True)
    try:
        version = _check_version(con, source, empty_ok=True)
        try:
            con.execute("BEGIN IMMEDIATE")
            if version == 0:
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version < SCHEMA_VERSION:
                _migrate(con, version)
            for table in _TABLES:
                con.execute(f"DELETE FROM {table}")
            keep: set[str] = set()
            for position, state in enumerate(project.states):
                _write_state(con, position, state, keep)
            now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            meta = {"application": "protein-studio", "version": __version__, "modified": now,
                    "active": str(project.active), **{str(k): str(v) for k, v in project.meta.items()}}
            if con.execute("SELECT 1 FROM meta WHERE key = 'created'").fetchone() is None:
                meta["created"] = now
            con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
            stored = [row[0] for row in con.execute("SELECT sha256 FROM blobs")]
            con.executemany("DELETE FROM blobs WHERE sha256 = ?", [(d,) for d in stored if d not in keep])
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise _error(exc, source) from None
    finally:
        con.close()
    return path


def _migrate(con: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to :data:`SCHEMA_VERSION`, one step of :data:`MIGRATIONS` at a time
    (inside the caller's transaction)."""
    while version < SCHEMA_VERSION:
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                con.execute(statement)
        version += 1
        con.execute(f"PRAGMA user_version = {version}")


def _write_state(con: sqlite3.Connection, position: int, state, keep: set[str]) -> None:
    doc = state.document
    cursor = con.execute(
        "INSERT INTO documents (position, name, wild_type, sequence, chain, record, scheme, view, saved_sequence,"
        " paths, undo, undo_index, confidence, active_scan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (position, doc.name, doc.wild_type, doc.sequence, doc.chain, int(doc.record),
         json.dumps(doc.scheme.to_dict()), json.dumps(state.view), state.saved_sequence,
         json.dumps([str(p) for p in doc.paths]), json.dumps(state.undo), int(state.undo_index), doc.confidence,
         int(state.active_scan)))
    doc_id = cursor.lastrowid
    for k, (file_name, data) in enumerate(doc.sources):
        con.execute("INSERT INTO sources (document_id, position, file_name, sha256) VALUES (?, ?, ?, ?)",
                    (doc_id, k, file_name, _blob(con, bytes(data), keep)))
    for k, scan in enumerate(state.scans):
        con.execute(
            "INSERT INTO scans (document_id, position, model, strategy, sequence, scores, final, excluded,"
            " random_weights, complete, provenance, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, k, scan.model, scan.strategy, scan.sequence, _blob(con, array_bytes(scan.scores), keep),
             _blob(con, array_bytes(scan.final.astype(bool)), keep), json.dumps(sorted(scan.excluded)),
             int(scan.random_weights), int(scan.complete), json.dumps(scan.provenance), scan.created))
    for k, variant in enumerate(state.variants):
        name = str(variant)
        cursor = con.execute("INSERT INTO variants (document_id, position, mutant, note) VALUES (?, ?, ?, ?)",
                             (doc_id, k, name, state.notes.get(name, "")))
        for j, score in enumerate(state.model_scores.get(name, {}).values()):
            con.execute("INSERT INTO variant_scores (variant_id, position, score, model, method, provenance) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (cursor.lastrowid, j, float(score.score), score.model,
                                                      score.method, json.dumps(score.provenance)))
    for k, result in enumerate(state.results):
        arrays = {name: _blob(con, array_bytes(value), keep) for name, value in result.get("arrays", {}).items()}
        con.execute("INSERT INTO results (document_id, position, kind, name, data, arrays, provenance) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (doc_id, k, result["kind"], result["name"], json.dumps(result.get("data", {})),
                     json.dumps(arrays), json.dumps(result.get("provenance", {}))))


def _read(path: str | Path) -> tuple[sqlite3.Connection, str]:
    path = Path(path)
    source = str(path)
    con = _connect(path, write=False)
    try:
        version = _check_version(con, source, empty_ok=False)
        if version < SCHEMA_VERSION:  # upgrade a copy in memory; the file itself stays as it is
            memory = sqlite3.connect(":memory:", isolation_level=None)
            con.backup(memory)
            con.close()
            con = memory
            _migrate(con, version)
        con.execute("BEGIN")  # one consistent read
    except sqlite3.Error as exc:
        con.close()
        raise _error(exc, source) from None
    except ProjectError:
        con.close()
        raise
    return con, source


def load_project(path: str | Path) -> ProjectSnapshot:
    """Read a project written by :func:`save_project`; the file is not changed.

    Returns
    -------
    ProjectSnapshot
        With documents rebuilt from their saved files (so they open even where the files no longer are).

    Raises
    ------
    ProjectError
        A missing, damaged, truncated, foreign, newer or locked file (the message says which).
    """
    from protein_studio.core.documents.document import document_from_sources
    from protein_studio.core.documents.scans import ScanState
    from protein_studio.core.documents.session import DocumentState, VariantScore

    con, source = _read(path)
    try:
        blobs = _BlobReader(con)
        states = []
        meta = dict(con.execute("SELECT key, value FROM meta"))
        rows = con.execute("SELECT id, name, wild_type, sequence, chain, record, scheme, view, saved_sequence, paths, "
                           "undo, undo_index, confidence, active_scan FROM documents ORDER BY position").fetchall()
        for (doc_id, name, wild_type, sequence, chain, record, scheme, view, saved, paths, undo, undo_index, confidence,
             active_scan) in rows:
            sources = [(file_name, blobs[digest]) for file_name, digest in con.execute(
                "SELECT file_name, sha256 FROM sources WHERE document_id = ? ORDER BY position", (doc_id,))]
            try:
                document = document_from_sources(sources, name=name, wild_type=wild_type, sequence=sequence,
                                                  chain=chain, record=record,
                                                  scheme=NumberingScheme.from_dict(json.loads(scheme)),
                                                  paths=json.loads(paths), confidence=confidence)
            except InputError as exc:
                raise ProjectError(f"document '{name}' cannot be rebuilt: {exc}", source=source) from None
            scans = []
            for (model, strategy, scan_sequence, scores, final, excluded, random_weights, complete, provenance,
                 created) in con.execute("SELECT model, strategy, sequence, scores, final, excluded, random_weights,"
                                         " complete, provenance, created FROM scans WHERE document_id = ?"
                                         " ORDER BY position", (doc_id,)):
                scans.append(ScanState(model, strategy, scan_sequence, array_from_bytes(blobs[scores]).astype(float),
                                       random_weights=bool(random_weights), complete=bool(complete),
                                       final=array_from_bytes(blobs[final]).astype(bool),
                                       excluded=frozenset(json.loads(excluded)), provenance=json.loads(provenance),
                                       created=created or ""))
            state = DocumentState(document, scans=scans, active_scan=int(active_scan), view=json.loads(view),
                                  saved_sequence=saved, undo=json.loads(undo), undo_index=int(undo_index))
            for variant_id, mutant, note in con.execute(
                    "SELECT id, mutant, note FROM variants WHERE document_id = ? ORDER BY position", (doc_id,)):
                variant = parse_mutant(mutant)
                state.variants.append(variant)
                if note:
                    state.notes[str(variant)] = note
                for score, model, method, provenance in con.execute(
                        "SELECT score, model, method, provenance FROM variant_scores WHERE variant_id = ? "
                        "ORDER BY position", (variant_id,)):
                    state.set_score(str(variant), VariantScore(float(score), model, method, json.loads(provenance)))
            for kind, result_name, data, arrays, provenance in con.execute(
                    "SELECT kind, name, data, arrays, provenance FROM results WHERE document_id = ? ORDER BY position",
                    (doc_id,)):
                state.results.append({"kind": kind, "name": result_name, "data": json.loads(data),
                                      "arrays": {k: array_from_bytes(blobs[d]) for k, d in json.loads(arrays).items()},
                                      "provenance": json.loads(provenance)})
            states.append(state)
    except sqlite3.Error as exc:
        raise _error(exc, source) from None
    except (ValueError, KeyError, TypeError) as exc:  # json, npy or a missing blob
        raise ProjectError(f"damaged project contents ({type(exc).__name__}: {exc})", source=source) from None
    finally:
        con.close()
    active = int(meta.get("active", "0") or 0)
    return ProjectSnapshot(tuple(states), min(max(active, 0), max(len(states) - 1, 0)),
                           {k: v for k, v in meta.items() if k != "active"})


class _BlobReader:
    def __init__(self, con: sqlite3.Connection):
        self._con = con

    def __getitem__(self, digest: str) -> bytes:
        row = self._con.execute("SELECT data FROM blobs WHERE sha256 = ?", (digest,)).fetchone()
        if row is None:
            raise KeyError(f"missing data {digest[:12]}")
        return bytes(row[0])


def project_summary(path: str | Path) -> dict[str, Any]:
    """What a project holds, read without rebuilding documents: versions, dates, and for each document its
    length, numbering, scan (model, strategy, positions done), variants, notes and results."""
    con, source = _read(path)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta"))
        documents = []
        for doc_id, name, sequence, scheme, paths in con.execute(
                "SELECT id, name, sequence, scheme, paths FROM documents ORDER BY position").fetchall():
            item: dict[str, Any] = {"name": name, "length": len(sequence),
                                    "numbering": json.loads(scheme).get("description", ""),
                                    "files": [Path(p).name for p in json.loads(paths)]}
            item["scans"] = []
            for model, strategy, final, excluded, complete, random_weights, provenance, created in con.execute(
                    "SELECT model, strategy, final, excluded, complete, random_weights, provenance, created "
                    "FROM scans WHERE document_id = ? ORDER BY position", (doc_id,)).fetchall():
                final = array_from_bytes(_BlobReader(con)[final])
                excluded = len(json.loads(excluded))
                item["scans"].append({"model": model, "strategy": strategy, "complete": bool(complete),
                                      "positions_done": int(np.count_nonzero(final)) - excluded,
                                      "positions": int(final.size) - excluded, "random_weights": bool(random_weights),
                                      "created": created, "provenance": json.loads(provenance)})
            shown = con.execute("SELECT active_scan FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]
            item["chosen_scan"] = int(shown) if item["scans"] else None
            item["variants"] = con.execute("SELECT COUNT(*) FROM variants WHERE document_id = ?", (doc_id,)).fetchone()[0]
            item["notes"] = con.execute("SELECT COUNT(*) FROM variants WHERE document_id = ? AND note != ''",
                                        (doc_id,)).fetchone()[0]
            item["scored_variants"] = con.execute(
                "SELECT COUNT(DISTINCT variant_id) FROM variant_scores JOIN variants ON variants.id = variant_id "
                "WHERE document_id = ?", (doc_id,)).fetchone()[0]
            item["score_models"] = [f"{model}, {method}" for model, method in con.execute(
                "SELECT DISTINCT model, method FROM variant_scores JOIN variants ON variants.id = variant_id "
                "WHERE document_id = ? ORDER BY model, method", (doc_id,))]
            item["results"] = [{"kind": kind, "name": result_name} for kind, result_name in con.execute(
                "SELECT kind, name FROM results WHERE document_id = ? ORDER BY position", (doc_id,))]
            documents.append(item)
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise _error(exc, source) from None
    finally:
        con.close()
    return {"file": source, "schema": version, "meta": meta, "documents": documents}


def merge_states(existing: Sequence, incoming: Sequence) -> tuple[list, list[str]]:
    """``existing`` document states with ``incoming`` ones merged in: a document of the same name and wild type
    gains the newcomer's scans, variants, notes, model scores and results; one of a known name but another
    sequence is added under a name of its own (``"name (2)"``), never in place of the first.

    Returns
    -------
    states, notes
        The merged states, and one line for each document that had to be renamed.
    """
    from dataclasses import replace

    out = list(existing)
    notes = []
    for state in incoming:
        doc = state.document
        same = next((s for s in out if s.document.name == doc.name and s.document.wild_type == doc.wild_type), None)
        if same is None:
            names = {s.document.name for s in out}
            if doc.name in names:
                k = 2
                while f"{doc.name} ({k})" in names:
                    k += 1
                notes.append(f"the project already holds a document named {doc.name!r} with another sequence; this "
                             f"one is added as {doc.name + f' ({k})'!r}")
                state = replace(state, document=replace(doc, name=f"{doc.name} ({k})"))
            out.append(state)
            continue
        for scan in state.scans:
            same.add_scan(scan)
        for variant in state.variants:
            if variant not in same.variants:
                same.variants.append(variant)
        same.notes.update(state.notes)
        for name, scores in state.model_scores.items():
            for score in scores.values():
                same.set_score(name, score)
        same.results.extend(state.results)
    return out, notes


def merge_into(path: str | Path, states: Sequence, meta: dict | None = None) -> tuple[Path, list[str]]:
    """Add document states to a project (created when missing), keeping what it holds (see
    :func:`merge_states`): how batch commands (``--project``) hand their results to the window.

    Returns
    -------
    path, notes
    """
    path = Path(path)
    existing: Iterable = ()
    active = 0
    if path.exists():
        loaded = load_project(path)
        existing, active = loaded.states, loaded.active
    merged, notes = merge_states(list(existing), list(states))
    return save_project(path, ProjectSnapshot(tuple(merged), active, dict(meta or {}))), notes


# ------------------------------------------------------------------------------------------ result records
def prediction_record(result, *, name: str, source: str, wild_type: str | None, numbered: bool) -> dict:
    """The project record of a structure prediction (a FoldResult): the PDB text, pLDDT, pTM and PAE, and
    what made it."""
    return {"kind": "prediction", "name": name,
            "data": {"pdb_text": result.pdb_text, "model": result.model, "sequence": result.sequence,
                     "source": source, "wild_type": wild_type, "numbered": bool(numbered),
                     "mean_plddt": float(result.mean_plddt), "ptm": float(result.ptm),
                     "chain_ids": list(result.chain_ids), "chunk_size": result.chunk_size,
                     "seconds": float(result.seconds)},
            "arrays": {"plddt": np.asarray(result.plddt, dtype=float), "pae": np.asarray(result.pae, dtype=float)},
            "provenance": provenance_now(model=result.model, chunk_size=result.chunk_size)}


def primer_record(designs, protocol: str, conditions, windows, gene) -> dict:
    """The project record of a primer design (PrimerDesigns of core.primers): every variant's codons, notes,
    error and primers, with the protocol, Tm conditions, windows and gene they were made with."""
    return {"kind": "primers", "name": f"{protocol} primers for {len(designs)} variants",
            "data": {"protocol": protocol, "conditions": conditions.describe(),
                     "windows": vars(windows), "gene": {"name": gene.name, "source": gene.source, "dna": gene.dna},
                     "variants": [{"variant": d.variant, "codons": d.codons, "notes": d.notes, "error": d.error,
                                   "primers": [vars(p) for p in d.primers]} for d in designs]},
            "arrays": {}, "provenance": provenance_now()}


def generated_record(result, settings, fasta_text: str, model: str) -> dict:
    """The project record of a generated set (a GenerationResult): its FASTA, the sampling settings and
    the seed that give it again."""
    import dataclasses

    plain = {k: v for k, v in dataclasses.asdict(settings).items() if isinstance(v, (int, float, str, bool, type(None)))}
    seed = plain.get("seed")
    return {"kind": "generated", "name": f"Generated with {model}, seed {seed}",
            "data": {"settings": plain, "kept": len(result.kept), "sampled": len(result.candidates),
                     "fasta": fasta_text},
            "arrays": {}, "provenance": provenance_now(model=model, seed=seed)}
