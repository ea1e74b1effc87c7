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

A project file is untrusted input: :mod:`protein_studio.core.storage.project_file` opens it (read-only for
every read), checks its schema is exactly a project's and decodes every value with a check; what cannot be
used is one :class:`ProjectError` naming the file, the document and what is wrong.

Several writers: every save counts up the ``revision`` in ``meta`` under SQLite's write lock. A save that
finds another revision than the one it last read or wrote (another process added to the project meanwhile)
merges that process's additions into what it writes (:func:`write_project`), so no committed work is lost;
``--project`` (:func:`merge_into`) reads and writes in one locked transaction.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import parse_mutant
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.storage.project_file import (APPLICATION_ID, MIGRATIONS, PROJECT_SUFFIX, SCHEMA_VERSION,
                                                      WRITE_WAIT_SECONDS, ProjectError, array_bytes, array_value,
                                                      json_value, reading, sqlite_error, writing)

__all__ = [
    "SCHEMA_VERSION", "APPLICATION_ID", "PROJECT_SUFFIX", "MIGRATIONS", "ProjectError", "ProjectSnapshot",
    "SaveReport", "snapshot", "copy_snapshot", "save_project", "write_project", "load_project", "project_revision",
    "merge_states", "merge_into", "project_summary", "array_bytes", "array_from_bytes",
]

_TABLES = ("results", "variant_scores", "variants", "scans", "sources", "documents")


def array_from_bytes(data: bytes) -> np.ndarray:
    """The array of :func:`array_bytes`; never unpickles, and checks the declared size against the bytes."""
    return array_value(data, "an array", "project")


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
        Extra key/value pairs for the ``meta`` table (strings); a loaded project's include its ``revision``.
    """

    states: tuple
    active: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def revision(self) -> int:
        """The file's revision this snapshot was read at (0: not read from a file)."""
        try:
            return int(self.meta.get("revision", 0))
        except (TypeError, ValueError):
            return 0


def snapshot(session, meta: dict | None = None) -> ProjectSnapshot:
    """A :class:`ProjectSnapshot` of ``session`` that later edits do not change (cheap: arrays copied,
    immutable parts shared)."""
    return ProjectSnapshot(tuple(_copy_state(state) for state in session.states), max(session.active, 0),
                           dict(meta or {}))


def copy_snapshot(project: ProjectSnapshot) -> ProjectSnapshot:
    """A copy of ``project`` that changes to its states (a window working on them) leave as it is."""
    return ProjectSnapshot(tuple(_copy_state(s) for s in project.states), project.active, dict(project.meta))


def _copy_state(state):
    from dataclasses import replace

    return replace(state, scans=[scan.copy() for scan in state.scans], variants=list(state.variants),
                   notes=dict(state.notes), undo=json.loads(json.dumps(state.undo)),
                   model_scores={k: dict(v) for k, v in state.model_scores.items()},
                   results=[_copy_result(r) for r in state.results], view=json.loads(json.dumps(state.view)))


def _copy_result(result: dict) -> dict:
    return {"kind": result["kind"], "name": result["name"], "data": json.loads(json.dumps(result.get("data", {}))),
            "arrays": {k: np.array(v, copy=True) for k, v in result.get("arrays", {}).items()},
            "provenance": dict(result.get("provenance", {}))}


# -------------------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class SaveReport:
    """What :func:`write_project` did.

    Attributes
    ----------
    path : Path
    revision : int
        The file's revision now (this save's).
    theirs : tuple of DocumentState
        When another process had written the file since the revision the caller knew: what the file held
        then (its additions are merged into what was written; the window merges them into its session too,
        with :func:`merge_states` and the same ``base``). Empty otherwise.
    notes : tuple of str
        One line for each document that had to be renamed while merging.
    states : tuple of DocumentState
        What was written (the caller's states, with ``theirs``' additions when there were any).
    base : tuple of DocumentState
        The ``base`` the additions were judged against (what to hand :func:`merge_states` with ``theirs``).
    """

    path: Path
    revision: int
    theirs: tuple = ()
    notes: tuple = ()
    states: tuple = ()
    base: tuple = ()


def _blob(con: sqlite3.Connection, data: bytes, keep: set[str]) -> str:
    digest = hashlib.sha256(data).hexdigest()
    con.execute("INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?, ?)", (digest, sqlite3.Binary(data)))
    keep.add(digest)
    return digest


def _disk_revision(con: sqlite3.Connection, source: str) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
    try:
        return int(row[0]) if row is not None else 0
    except (TypeError, ValueError):
        raise ProjectError(f"its revision ({str(row[0])[:40]!r}) is not a number: damaged", source=source) from None


def write_project(path: str | Path, project: ProjectSnapshot, *, known_revision: int | None = None,
                  base: ProjectSnapshot | None = None, wait: float = WRITE_WAIT_SECONDS) -> SaveReport:
    """Write ``project`` to ``path`` (created or replaced) in one transaction under the file's write lock.

    ``known_revision``: the revision the caller last read or wrote (None: replace whatever is there, as Save
    As onto a chosen file does). When the file holds another revision, another process wrote it meanwhile:
    what it added since ``base`` (what the caller last read or wrote) is merged into what is written, and
    returned in :attr:`SaveReport.theirs`. ``wait``: how long to wait for another process's write to end.

    Raises
    ------
    ProjectError
        The file is not a project (it is left untouched), is from a newer version, is locked, or cannot be
        written (read-only folder, full disk); the previous contents stay as they were.
    """
    path = Path(path)
    with writing(path, wait=wait) as (con, source, version):
        revision = _disk_revision(con, source) if version else 0
        states, theirs, notes = list(project.states), (), []
        if version and known_revision is not None and revision != known_revision:
            loaded, _meta, _active = _load_states(con, source)
            theirs = tuple(loaded)
            states, notes = merge_states([_copy_state(s) for s in states], [_copy_state(s) for s in loaded],
                                         base=base.states if base is not None else ())
        _replace_contents(con, source, version, states, project.meta, project.active)
    return SaveReport(path, revision + 1, theirs, tuple(notes), tuple(states),
                      tuple(base.states) if base is not None else ())


def _replace_contents(con: sqlite3.Connection, source: str, version: int, states: Sequence, meta: dict,
                      active: int) -> int:
    """Write ``states`` as the whole contents of the project open for writing; its revision counts up by one
    (returned)."""
    from protein_studio import __version__

    revision = _disk_revision(con, source) if version else 0
    for table in _TABLES:
        con.execute(f"DELETE FROM {table}")
    keep: set[str] = set()
    for position, state in enumerate(states):
        _write_state(con, position, state, keep)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    values = {**{str(k): str(v) for k, v in meta.items()}, "application": "protein-studio", "version": __version__,
              "modified": now, "active": str(min(max(active, 0), max(len(states) - 1, 0))),
              "revision": str(revision + 1)}
    if con.execute("SELECT 1 FROM meta WHERE key = 'created'").fetchone() is None:
        values["created"] = now
    con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())
    stored = [row[0] for row in con.execute("SELECT sha256 FROM blobs")]
    con.executemany("DELETE FROM blobs WHERE sha256 = ?", [(d,) for d in stored if d not in keep])
    return revision + 1


def save_project(path: str | Path, project: ProjectSnapshot, *, wait: float = WRITE_WAIT_SECONDS) -> Path:
    """Write ``project`` to ``path`` (created or replaced) in one transaction: :func:`write_project`
    replacing whatever the file holds.

    Raises
    ------
    ProjectError
        See :func:`write_project`.
    """
    return write_project(path, project, wait=wait).path


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


# -------------------------------------------------------------------------------------------- reading
class _Blobs:
    """Blobs by digest, each checked, at most the input cap in all (a project cannot fill the memory)."""

    def __init__(self, con: sqlite3.Connection, source: str):
        from protein_studio.core.files import max_input_bytes

        self._con, self._source = con, source
        self._left = 4 * max_input_bytes()  # a project holds several inputs

    def bytes(self, digest, what: str) -> bytes:
        if not isinstance(digest, str):
            raise ProjectError(f"{what}: its data reference is not text: damaged", source=self._source)
        row = self._con.execute("SELECT length(data) FROM blobs WHERE sha256 = ?", (digest,)).fetchone()
        if row is None:
            raise ProjectError(f"{what}: its data ({digest[:12]}) is missing from the file: damaged",
                               source=self._source)
        size = int(row[0] or 0)
        if size > self._left:
            raise ProjectError(f"{what}: the project holds more data than four times the input limit (raise it with "
                               f"PROTEIN_STUDIO_MAX_INPUT_MB)", source=self._source)
        self._left -= size
        data = self._con.execute("SELECT data FROM blobs WHERE sha256 = ?", (digest,)).fetchone()[0]
        if not isinstance(data, bytes):
            raise ProjectError(f"{what}: its data is not bytes: damaged", source=self._source)
        return data

    def array(self, digest, what: str) -> np.ndarray:
        return array_value(self.bytes(digest, what), what, self._source)


def _text(value, what: str, source: str, *, null_ok: bool = False) -> str | None:
    if value is None and null_ok:
        return None
    if not isinstance(value, str):
        raise ProjectError(f"{what} should be text, not {type(value).__name__}: damaged", source=source)
    return value


def _integer(value, what: str, source: str, low: int = 0, high: int = 2**31) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProjectError(f"{what} should be a whole number from {low} to {high}, not {value!r}: damaged",
                           source=source)
    return value


def _undo_steps(steps, length: int, what: str, source: str) -> list:
    """The saved undo history: steps of ``[index, old, new]`` edits inside the sequence."""
    for step in steps:
        if not isinstance(step, list) or not all(
                isinstance(edit, list) and len(edit) == 3 and isinstance(edit[0], int) and not isinstance(edit[0], bool)
                and 0 <= edit[0] < length and all(isinstance(r, str) and len(r) == 1 for r in edit[1:])
                for edit in step):
            raise ProjectError(f"{what}: its undo history holds a step that is not a list of residue edits inside "
                               f"the sequence: damaged", source=source)
    return steps


def _clean_view(view: dict, length: int) -> dict:
    """The saved view settings with what the window reads checked: a selection of positions inside the
    sequence, filters as an object, a colouring name (anything else is dropped, never used)."""
    out = dict(view)
    selection = out.get("selection")
    if selection is not None and not (isinstance(selection, list) and all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < length for i in selection)):
        out.pop("selection")
    for key, kind in (("ranked", dict), ("colour", str), ("assay", str), ("difference", list)):
        if key in out and not isinstance(out[key], kind):
            out.pop(key)
    return out


def _load_states(con: sqlite3.Connection, source: str) -> tuple[list, dict, int]:
    """Every document state of an open project, each value checked: ``(states, meta, active)``."""
    from protein_studio.core.documents.document import document_from_sources
    from protein_studio.core.documents.scans import ScanState
    from protein_studio.core.documents.session import DocumentState, VariantScore
    from protein_studio.core.molecules.sequences import AMINO_ACIDS

    blobs = _Blobs(con, source)
    meta = {}
    for key, value in con.execute("SELECT key, value FROM meta"):
        meta[_text(key, "a meta key", source)] = _text(value, f"meta {key!r}", source)
    states = []
    rows = con.execute("SELECT id, name, wild_type, sequence, chain, record, scheme, view, saved_sequence, paths, "
                       "undo, undo_index, confidence, active_scan FROM documents ORDER BY position").fetchall()
    for (doc_id, name, wild_type, sequence, chain, record, scheme, view, saved, paths, undo, undo_index, confidence,
         active_scan) in rows:
        name = _text(name, "a document's name", source)
        what = f"document {name[:80]!r}"
        wild_type = _text(wild_type, f"{what}: its wild type", source)
        sequence = _text(sequence, f"{what}: its sequence", source)
        scheme = json_value(scheme, f"{what}: its numbering", source, dict)
        paths = json_value(paths, f"{what}: its file paths", source, list)
        view = json_value(view, f"{what}: its view settings", source, dict)
        undo = _undo_steps(json_value(undo, f"{what}: its undo history", source, list), len(sequence), what, source)
        sources = []
        for file_name, digest in con.execute(
                "SELECT file_name, sha256 FROM sources WHERE document_id = ? ORDER BY position", (doc_id,)):
            file_name = _text(file_name, f"{what}: a source file's name", source)
            sources.append((file_name, blobs.bytes(digest, f"{what}: its file {file_name[:80]!r}")))
        try:
            document = document_from_sources(
                sources, name=name, wild_type=wild_type, sequence=sequence,
                chain=_text(chain, f"{what}: its chain", source, null_ok=True),
                record=_integer(record, f"{what}: its record", source),
                scheme=NumberingScheme.from_dict(scheme), paths=[str(p) for p in paths],
                confidence=_text(confidence, f"{what}: its B-factor column", source, null_ok=True))
        except ProjectError:
            raise
        except (InputError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
                OverflowError) as exc:
            raise ProjectError(f"{what} cannot be rebuilt: {exc}", source=source) from None
        length = len(document.wild_type)
        scans = []
        for (model, strategy, scan_sequence, scores, final, excluded, random_weights, complete, provenance,
             created) in con.execute("SELECT model, strategy, sequence, scores, final, excluded, random_weights,"
                                     " complete, provenance, created FROM scans WHERE document_id = ?"
                                     " ORDER BY position", (doc_id,)):
            model = _text(model, f"{what}: a scan's model", source)
            label = f"{what}: the scan by {model[:60]!r}"
            scan_sequence = _text(scan_sequence, f"{label}: its sequence", source)
            matrix = blobs.array(scores, f"{label}: its scores")
            done = blobs.array(final, f"{label}: its finished positions")
            if matrix.shape != (len(scan_sequence), len(AMINO_ACIDS)) or done.shape != (len(scan_sequence),):
                raise ProjectError(f"{label}: its scores are {matrix.shape} for {len(scan_sequence)} residues: damaged",
                                   source=source)
            left_out = json_value(excluded, f"{label}: its left-out positions", source, list)
            if not all(isinstance(i, int) and 0 <= i < len(scan_sequence) for i in left_out):
                raise ProjectError(f"{label}: its left-out positions are not positions of the sequence: damaged",
                                   source=source)
            scans.append(ScanState(model, _text(strategy, f"{label}: its strategy", source), scan_sequence,
                                   matrix.astype(float), random_weights=bool(random_weights), complete=bool(complete),
                                   final=done.astype(bool), excluded=frozenset(left_out),
                                   provenance=json_value(provenance, f"{label}: its provenance", source, dict),
                                   created=_text(created, f"{label}: its date", source, null_ok=True) or ""))
        shown = _integer(active_scan, f"{what}: its chosen scan", source, -1) if scans else -1
        state = DocumentState(document, scans=scans, active_scan=min(shown, len(scans) - 1) if scans else -1,
                              view=_clean_view(view, length),
                              saved_sequence=_text(saved, f"{what}: its saved sequence", source, null_ok=True),
                              undo=undo, undo_index=_integer(undo_index, f"{what}: its undo position", source, 0,
                                                             len(undo)))
        for variant_id, mutant, note in con.execute(
                "SELECT id, mutant, note FROM variants WHERE document_id = ? ORDER BY position", (doc_id,)):
            mutant = _text(mutant, f"{what}: a variant", source)
            try:
                variant = parse_mutant(mutant)
            except InputError as exc:
                raise ProjectError(f"{what}: the variant {mutant[:80]!r} cannot be read ({exc.reason})",
                                   source=source) from None
            for m in variant.mutations:
                if not 1 <= m.position <= length or document.wild_type[m.position - 1] != m.wt:
                    raise ProjectError(f"{what}: the variant {mutant[:80]!r} does not fit its wild type at position "
                                       f"{m.position}: damaged", source=source)
            state.variants.append(variant)
            if note:
                state.notes[str(variant)] = _text(note, f"{what}: the note of {mutant[:80]!r}", source)
            for score, model, method, provenance in con.execute(
                    "SELECT score, model, method, provenance FROM variant_scores WHERE variant_id = ? "
                    "ORDER BY position", (variant_id,)):
                if isinstance(score, bool) or not isinstance(score, (int, float)):
                    raise ProjectError(f"{what}: a score of {mutant[:80]!r} is not a number: damaged", source=source)
                state.set_score(str(variant), VariantScore(
                    float(score), _text(model, f"{what}: a score's model", source),
                    _text(method, f"{what}: a score's method", source),
                    json_value(provenance, f"{what}: a score's provenance", source, dict)))
        for kind, result_name, data, arrays, provenance in con.execute(
                "SELECT kind, name, data, arrays, provenance FROM results WHERE document_id = ? ORDER BY position",
                (doc_id,)):
            result_name = _text(result_name, f"{what}: a result's name", source)
            label = f"{what}: the result {result_name[:80]!r}"
            references = json_value(arrays, f"{label}: its arrays", source, dict)
            state.results.append({"kind": _text(kind, f"{label}: its kind", source), "name": result_name,
                                  "data": json_value(data, f"{label}: its data", source, dict),
                                  "arrays": {str(k): blobs.array(d, f"{label}: its array {str(k)[:40]!r}")
                                             for k, d in references.items()},
                                  "provenance": json_value(provenance, f"{label}: its provenance", source, dict)})
        states.append(state)
    try:
        active = int(meta.get("active", "0") or 0)
    except ValueError:
        active = 0
    return states, meta, min(max(active, 0), max(len(states) - 1, 0))


def load_project(path: str | Path, *, roll_back: bool = False) -> ProjectSnapshot:
    """Read a project written by :func:`save_project`; the file is not changed (``roll_back``: except that
    the unfinished part of an interrupted save is rolled back, as SQLite does when it opens such a file to
    write).

    Returns
    -------
    ProjectSnapshot
        With documents rebuilt from their saved files (so they open even where the files no longer are).

    Raises
    ------
    ProjectError
        A missing, damaged, truncated, foreign, newer, hostile or locked file (the message says which).
    """
    with reading(path, roll_back=roll_back) as (con, source):
        try:
            states, meta, active = _load_states(con, source)
            meta["revision"] = str(_disk_revision(con, source))
        except sqlite3.Error as exc:
            raise sqlite_error(exc, source) from None
    return ProjectSnapshot(tuple(states), active, {k: v for k, v in meta.items() if k != "active"})


def project_revision(path: str | Path) -> int:
    """The revision a project file is at (read-only and quick: how the window notices another process's save).

    Raises
    ------
    ProjectError
        As :func:`load_project`.
    """
    with reading(path) as (con, source):
        try:
            return _disk_revision(con, source)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, source) from None


def project_summary(path: str | Path) -> dict[str, Any]:
    """What a project holds, read without rebuilding documents: versions, dates, and for each document its
    length, numbering, scans (model, strategy, positions done), variants, notes and results. The file is
    opened read-only: not a byte of it changes."""
    with reading(path) as (con, source):
        try:
            return _summary(con, source)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, source) from None


def _summary(con: sqlite3.Connection, source: str) -> dict[str, Any]:
    blobs = _Blobs(con, source)
    meta = {_text(k, "a meta key", source): _text(v, f"meta {k!r}", source)
            for k, v in con.execute("SELECT key, value FROM meta")}
    for table, column in (("sources", "sha256"), ("scans", "scores"), ("scans", "final")):
        missing = con.execute(f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT sha256 FROM blobs)"
                              ).fetchone()[0]
        if missing:
            raise ProjectError(f"the data of {missing} of its {table} entries are missing from the file: damaged", source=source)
    documents = []
    for doc_id, name, sequence, scheme, paths, shown, view, undo in con.execute(
            "SELECT id, name, sequence, scheme, paths, active_scan, view, undo FROM documents ORDER BY position"
    ).fetchall():
        what = f"document {_text(name, 'a document name', source)[:80]!r}"
        json_value(view, f"{what}: its view settings", source, dict)
        json_value(undo, f"{what}: its undo history", source, list)
        item: dict[str, Any] = {"name": name, "length": len(_text(sequence, f"{what}: its sequence", source)),
                                "numbering": str(json_value(scheme, f"{what}: its numbering", source, dict)
                                                 .get("description", "")),
                                "files": [Path(str(p)).name for p in json_value(paths, f"{what}: its file paths",
                                                                                 source, list)]}
        item["scans"] = []
        for model, strategy, final, excluded, complete, random_weights, provenance, created in con.execute(
                "SELECT model, strategy, final, excluded, complete, random_weights, provenance, created "
                "FROM scans WHERE document_id = ? ORDER BY position", (doc_id,)).fetchall():
            label = f"{what}: the scan by {str(model)[:60]!r}"
            final = blobs.array(final, f"{label}: its finished positions")
            excluded = len(json_value(excluded, f"{label}: its left-out positions", source, list))
            item["scans"].append({"model": _text(model, f"{label}: its model", source),
                                  "strategy": _text(strategy, f"{label}: its strategy", source),
                                  "complete": bool(complete),
                                  "positions_done": int(np.count_nonzero(final)) - excluded,
                                  "positions": int(final.size) - excluded, "random_weights": bool(random_weights),
                                  "created": created,
                                  "provenance": json_value(provenance, f"{label}: its provenance", source, dict)})
        item["chosen_scan"] = shown if item["scans"] and isinstance(shown, int) else None
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
    return {"file": source, "schema": version, "meta": meta, "revision": _disk_revision(con, source),
            "documents": documents}


# -------------------------------------------------------------------------------------------- merging
def _scan_key(scan) -> tuple:
    return scan.model, scan.strategy, scan.sequence, scan.created


def _result_key(result: dict) -> tuple:
    data = json.dumps(result.get("data", {}), sort_keys=True, default=str)
    return result["kind"], result["name"], hashlib.sha256(data.encode()).hexdigest()


def _state_key(state) -> tuple:
    return state.document.name, state.document.wild_type


def merge_states(existing: Sequence, incoming: Sequence, base: Sequence = ()) -> tuple[list, list[str]]:
    """``existing`` document states with what ``incoming`` adds merged in (``existing``'s states are changed
    in place): a document of the same name and wild type gains the newcomer's scans, variants, notes, model
    scores and results it does not have yet; one of a known name but another sequence is added under a name of
    its own (``"name (2)"``), never in place of the first.

    ``base``: what ``existing`` was when ``incoming`` branched off it (the project as last read or written);
    what ``base`` already held is not added again (``existing`` may have removed it on purpose). A scan in
    both with more positions done in ``incoming`` is taken from there.

    Returns
    -------
    states, notes
        The merged states, and one line for each document that had to be renamed.
    """
    from dataclasses import replace

    known = {_state_key(s): s for s in base}
    out = list(existing)
    notes = []
    for state in incoming:
        doc = state.document
        before = known.get(_state_key(state))
        same = next((s for s in out if _state_key(s) == _state_key(state)), None)
        if same is None:
            if before is not None:
                continue  # the document was closed since: not brought back
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
        old_scans = {_scan_key(s) for s in before.scans} if before is not None else set()
        for scan in state.scans:
            mine = next((s for s in same.scans if _scan_key(s) == _scan_key(scan)), None)
            if mine is not None:
                if int(scan.final.sum()) > int(mine.final.sum()):
                    same.scans[same.scans.index(mine)] = scan
            elif _scan_key(scan) not in old_scans:
                same.add_scan(scan)
        old_variants = set(before.variants) if before is not None else set()
        for variant in state.variants:
            if variant not in same.variants and variant not in old_variants:
                same.variants.append(variant)
        for name, note in state.notes.items():
            if note and not same.notes.get(name) and (before is None or not before.notes.get(name)):
                same.notes[name] = note
        old_scores = {(n, k) for n, scores in (before.model_scores.items() if before is not None else ())
                      for k in scores}
        for name, scores in state.model_scores.items():
            for key, score in scores.items():
                if key not in same.model_scores.get(name, {}) and (name, key) not in old_scores:
                    same.set_score(name, score)
        mine = {_result_key(r) for r in same.results}
        old_results = {_result_key(r) for r in before.results} if before is not None else set()
        for result in state.results:
            key = _result_key(result)
            if key not in mine and key not in old_results:
                same.results.append(result)
                mine.add(key)
    return out, notes


def merge_into(path: str | Path, states: Sequence, meta: dict | None = None) -> tuple[Path, list[str]]:
    """Add document states to a project (created when missing), keeping what it holds (see
    :func:`merge_states`): how batch commands (``--project``) hand their results to the window. What is there
    is read and the merge written in one transaction under the file's write lock, so two processes adding to
    one project at once both keep their work (the second waits for the first).

    Returns
    -------
    path, notes
    """
    path = Path(path)
    with writing(path) as (con, source, version):
        existing, old_meta, active = _load_states(con, source) if version else ([], {}, 0)
        merged, notes = merge_states(existing, list(states))
        _replace_contents(con, source, version, merged, {**old_meta, **(meta or {})}, active)
    return path, notes
