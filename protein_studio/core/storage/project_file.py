"""The project file as untrusted input: opening it, checking it is what a project is, and decoding its values.

A ``.psproj`` file is an SQLite database, and an SQLite file can carry more than tables: views and triggers
run SQL of the file's author when a table is read or written, and a view can recurse without end. A project
received from someone else, or damaged on disk, is therefore checked before anything of it is read:

- only regular files are opened; a read opens the file read-only (``mode=ro``; a WAL-mode file without its
  ``-wal`` file as ``immutable``), so reading (``project info``, the recovery scan, ``--project``'s look at
  what is there) never changes a byte of it, nor removes a stray journal beside it;
- the schema must be exactly the tables of a project of its version, with exactly their columns and SQLite's
  own indexes: no view, trigger, virtual table, generated column or index of the author's;
- ``trusted_schema`` is off, ``query_only`` is on for reads, values are limited to the input size cap
  (:func:`~protein_studio.core.files.max_input_bytes`), and a progress handler stops any use of the file that
  runs longer than :data:`STATEMENT_SECONDS`;
- a file left with a hot journal (a save killed half-way) is reported as an interrupted save that the window
  rolls back when it opens the file, not as damage;
- every value read is checked (:func:`json_value`, :func:`array_value`): JSON of the expected kind and depth,
  arrays of numbers whose declared size is checked against the bytes before any memory is taken.

Writes take SQLite's write lock first (``BEGIN IMMEDIATE``) and read what is there inside the same
transaction, so two processes adding to one project take turns and neither loses the other's work.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from protein_studio.core.errors import InputError

__all__ = ["SCHEMA_VERSION", "APPLICATION_ID", "PROJECT_SUFFIX", "MIGRATIONS", "SCHEMA", "TABLE_COLUMNS",
           "STATEMENT_SECONDS", "WRITE_WAIT_SECONDS", "ProjectError", "reading", "writing", "sqlite_error",
           "json_value", "array_value", "array_bytes"]

#: Version of the schema this application writes and reads.
SCHEMA_VERSION = 2
#: SQLite application id of Protein Studio projects ("PStu").
APPLICATION_ID = 0x50537475
PROJECT_SUFFIX = ".psproj"
#: Longest any one open of a project file may keep working (reading, migrating a copy, or writing), seconds.
STATEMENT_SECONDS = 120.0
#: How long a write waits for another process's write to the same project to end, seconds.
WRITE_WAIT_SECONDS = 60.0
#: Deepest JSON nesting a project value may have (the application writes at most a handful of levels).
MAX_JSON_DEPTH = 64

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

#: The tables of a new project (schema :data:`SCHEMA_VERSION`).
SCHEMA = """
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

_V1_COLUMNS = {
    "meta": ("key", "value"),
    "blobs": ("sha256", "data"),
    "documents": ("id", "position", "name", "wild_type", "sequence", "chain", "record", "scheme", "view",
                  "saved_sequence", "paths", "undo", "undo_index"),
    "sources": ("document_id", "position", "file_name", "sha256"),
    "scans": ("document_id", "model", "strategy", "sequence", "scores", "final", "excluded", "random_weights",
              "complete", "provenance"),
    "variants": ("id", "document_id", "position", "mutant", "note"),
    "variant_scores": ("variant_id", "score", "model", "method", "provenance"),
    "results": ("id", "document_id", "position", "kind", "name", "data", "arrays", "provenance"),
}
#: schema version -> table -> its columns, in order: what a project file of that version holds, exactly.
TABLE_COLUMNS: dict[int, dict[str, tuple[str, ...]]] = {
    1: _V1_COLUMNS,
    2: {**_V1_COLUMNS,
        "documents": _V1_COLUMNS["documents"] + ("confidence", "active_scan"),
        "scans": ("id", "document_id", "position", "model", "strategy", "sequence", "scores", "final", "excluded",
                  "random_weights", "complete", "provenance", "created"),
        "variant_scores": ("variant_id", "position", "score", "model", "method", "provenance")},
}
#: Tables SQLite itself may add (ANALYZE's statistics); they hold no code.
_SQLITE_TABLES = {"sqlite_stat1", "sqlite_stat4", "sqlite_sequence"}
_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")


class ProjectError(InputError):
    """A project file that cannot be opened or written; the message names the file and why."""


# ---------------------------------------------------------------------------------------------- errors
def sqlite_error(exc: BaseException, source: str) -> ProjectError:
    """The one line a user reads for an SQLite error on ``source``."""
    text = str(exc)
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_INTERRUPT" or "interrupted" in text:
        return ProjectError(f"reading or writing it took longer than {STATEMENT_SECONDS:.0f} s and was stopped: the "
                            f"file is damaged or not an ordinary project", source=source)
    if name == "SQLITE_READONLY_ROLLBACK":
        return _interrupted(source)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or name.startswith("SQLITE_BUSY")):
        return ProjectError("is in use: another program (or another Protein Studio) is writing it; try again when "
                            "it is done", source=source)
    if name == "SQLITE_TOOBIG" or "too big" in text:
        return ProjectError("holds a value larger than the input limit (raise it with PROTEIN_STUDIO_MAX_INPUT_MB)",
                            source=source)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return ProjectError(f"cannot be written here ({text}); save the project in a folder you can write to",
                            source=source)
    if "disk is full" in text or "database or disk is full" in text:
        return ProjectError("the disk is full: nothing was changed in the project", source=source)
    if isinstance(exc, sqlite3.DatabaseError):
        return ProjectError(f"not a readable Protein Studio project: damaged, truncated or not an SQLite file "
                            f"({text})", source=source)
    return ProjectError(f"cannot use the project ({type(exc).__name__}: {text})", source=source)


def _interrupted(source: str) -> ProjectError:
    return ProjectError("its last save was interrupted (a journal of the unfinished save is beside it): open it "
                        "in the window to roll it back to the last complete save", source=source)


# ---------------------------------------------------------------------------------------------- guards
def _guard(con: sqlite3.Connection, seconds: float) -> None:
    """Untrusted-file settings: no schema code runs with the file's authority, no value is larger than the
    input cap, and nothing runs longer than ``seconds``."""
    from protein_studio.core.files import max_input_bytes

    con.execute("PRAGMA trusted_schema = OFF")
    con.execute("PRAGMA cell_size_check = ON")
    con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, min(max_input_bytes(), 2**31 - 1))
    deadline = time.monotonic() + seconds
    con.set_progress_handler(lambda: int(time.monotonic() > deadline), 20000)


def _check_schema(con: sqlite3.Connection, source: str, *, empty_ok: bool) -> int:
    """The file's schema version after checking that its schema is exactly a project's (0: an empty file)."""
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        application = con.execute("PRAGMA application_id").fetchone()[0]
        objects = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    except sqlite3.Error as exc:
        raise sqlite_error(exc, source) from None
    if not objects and empty_ok and version == 0 and application in (0, APPLICATION_ID):
        return 0
    tables = {name for kind, name, _t, _s in objects if kind == "table"}
    if application != APPLICATION_ID or "documents" not in tables:
        raise ProjectError("an SQLite file, but not a Protein Studio project", source=source)
    if version > SCHEMA_VERSION:
        raise ProjectError(f"was written by a newer Protein Studio (project schema {version}; this version reads "
                           f"up to {SCHEMA_VERSION}); open it with that version", source=source)
    if version not in TABLE_COLUMNS:
        raise ProjectError(f"has no valid schema version ({version}; a project has 1 to {SCHEMA_VERSION}): it is "
                           f"damaged or was changed by another program", source=source)
    expected = TABLE_COLUMNS[version]
    for kind, name, table, sql in objects:
        if kind in ("view", "trigger"):
            raise ProjectError(f"holds a {kind} ({name!r} on {table!r}), which a project never has: it is not "
                               f"opened, because reading it would run the file's own SQL", source=source)
        if kind == "index" and not str(name).startswith("sqlite_autoindex_"):
            raise ProjectError(f"holds an index of its own ({name!r}), which a project never has: it is not opened",
                               source=source)
        if kind == "table" and name not in expected and name not in _SQLITE_TABLES:
            raise ProjectError(f"holds a table a project does not have ({name!r}): it is not opened", source=source)
        if kind == "table" and not str(sql or "").lstrip().upper().startswith("CREATE TABLE"):
            raise ProjectError(f"its table {name!r} is not a plain table: it is not opened", source=source)
    for name, columns in expected.items():
        if name not in tables:
            raise ProjectError(f"lacks the table {name!r} of a schema-{version} project: damaged", source=source)
        try:
            info = con.execute(f"PRAGMA table_xinfo({name})").fetchall()
        except sqlite3.Error as exc:
            raise sqlite_error(exc, source) from None
        found = tuple(row[1] for row in info)
        if found != columns or any(row[6] != 0 for row in info):  # hidden: generated or virtual columns
            raise ProjectError(f"its table {name!r} has other columns than a schema-{version} project "
                               f"({', '.join(found)}): it is not opened", source=source)
    return version


def _migrate(con: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to :data:`SCHEMA_VERSION`, one step of :data:`MIGRATIONS` at a time
    (inside the caller's transaction)."""
    while version < SCHEMA_VERSION:
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                con.execute(statement)
        version += 1
        con.execute(f"PRAGMA user_version = {version}")


def _create(con: sqlite3.Connection) -> None:
    for statement in SCHEMA.strip().split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _regular(path: Path, *, must_exist: bool) -> str:
    from protein_studio.core.files import describe_path

    source = str(path)
    problem = describe_path(path)
    if problem == "does not exist":
        if must_exist:
            raise ProjectError("no such file", source=source)
        return source
    if problem is not None and problem.startswith("cannot be read"):
        if not must_exist:
            raise ProjectError(f"cannot be written here ({problem.split('(', 1)[-1].rstrip(')')}); save the project "
                               f"in a folder you can write to", source=source)
        raise ProjectError(problem, source=source)
    if problem is not None:
        raise ProjectError(f"{problem}, not a project file", source=source)
    return source


def _read_uri(path: Path) -> str:
    """``file:`` URI opening ``path`` read-only; a WAL-mode file whose ``-wal`` file is absent (everything in
    the file itself) as ``immutable``, so that SQLite creates no ``-wal`` or ``-shm`` file beside it."""
    from urllib.request import pathname2url

    uri = f"file:{pathname2url(str(path.resolve()))}?mode=ro"
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError:
        return uri
    wal = len(header) == 100 and header[:16] == b"SQLite format 3\x00" and header[18] == 2 and header[19] == 2
    if wal and not Path(str(path) + "-wal").exists():
        uri += "&immutable=1"
    return uri


def _roll_back(path: Path, source: str) -> None:
    """Let SQLite roll back the hot journal of an interrupted save (it does so on the first read with write
    access; no SQL of the file runs)."""
    try:
        con = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
        try:
            _guard(con, STATEMENT_SECONDS)
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise ProjectError(f"its interrupted save cannot be rolled back ({exc})", source=source) from None


@contextlib.contextmanager
def reading(path: str | Path, *, roll_back: bool = False) -> Iterator[tuple[sqlite3.Connection, str]]:
    """A read-only, checked connection to a project inside one read transaction: ``(connection, source)``.

    An older schema is migrated in a copy in memory (the file stays as it is). ``roll_back``: a hot journal
    of an interrupted save is rolled back first (the window does; a read-only look reports it instead).

    Raises
    ------
    ProjectError
        Not a regular file, not a project, a newer or invalid version, a schema that is not a project's, an
        interrupted save (without ``roll_back``), locked, or damaged.
    """
    path = Path(path)
    source = _regular(path, must_exist=True)
    con = None
    try:
        for attempt in (0, 1):
            con = sqlite3.connect(_read_uri(path), uri=True, timeout=5.0, isolation_level=None,
                                  check_same_thread=False)
            _guard(con, STATEMENT_SECONDS)
            con.execute("PRAGMA query_only = ON")
            try:
                version = _check_schema(con, source, empty_ok=False)
                break
            except ProjectError as exc:
                if attempt == 0 and roll_back and "interrupted" in str(exc):
                    con.close()
                    _roll_back(path, source)
                    continue
                raise
        if version < SCHEMA_VERSION:  # upgrade a copy in memory; the file itself stays as it is
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            con.backup(memory)
            con.close()
            con = memory
            _guard(con, STATEMENT_SECONDS)
            con.execute("BEGIN")
            _migrate(con, version)
        else:
            con.execute("BEGIN")  # one consistent read
        yield con, source
    except sqlite3.Error as exc:
        raise sqlite_error(exc, source) from None
    finally:
        if con is not None:
            con.close()


@contextlib.contextmanager
def writing(path: str | Path, *, wait: float = WRITE_WAIT_SECONDS) -> Iterator[tuple[sqlite3.Connection, str, int]]:
    """A checked connection holding the project's write lock (``BEGIN IMMEDIATE``): ``(connection, source,
    version)``, version 0 for a new file (its tables are made) and older schemas migrated in place. What the
    block does is committed when it ends and rolled back when it raises; another process's write waits up to
    ``wait`` seconds for this one (and this one for it).

    Raises
    ------
    ProjectError
        Not a regular file (a folder, pipe or device), not a project (left untouched), newer, locked for longer
        than ``wait``, read-only, or a full disk: the previous contents stay as they were.
    """
    path = Path(path)
    source = _regular(path, must_exist=False)
    try:
        con = sqlite3.connect(source, timeout=wait, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise sqlite_error(exc, source) from None
    try:
        _guard(con, STATEMENT_SECONDS)
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = DELETE")  # one file at rest; a journal only while writing
        con.execute("BEGIN IMMEDIATE")
        version = _check_schema(con, source, empty_ok=True)
        if version == 0:
            _create(con)
        elif version < SCHEMA_VERSION:
            _migrate(con, version)
        yield con, source, version
        con.execute("COMMIT")
    except sqlite3.Error as exc:
        _abandon(con)
        raise sqlite_error(exc, source) from None
    except BaseException:
        _abandon(con)
        raise
    finally:
        con.close()


def _abandon(con: sqlite3.Connection) -> None:
    try:
        if con.in_transaction:
            con.execute("ROLLBACK")
    except sqlite3.Error:
        pass


# ---------------------------------------------------------------------------------------------- values
def _depth(value, limit: int) -> int:
    """Nesting depth of a parsed JSON value (stops counting past ``limit``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def json_value(text, what: str, source: str, kind: type | tuple = (dict, list), *, null_ok: bool = False):
    """A JSON column's value, checked: text that parses, of ``kind``, at most :data:`MAX_JSON_DEPTH` deep.

    Raises
    ------
    ProjectError
        Naming the file and ``what`` ("document 'x': its numbering") and what is wrong.
    """
    import json

    if text is None:
        if null_ok:
            return None
        raise ProjectError(f"{what} is missing (NULL): damaged", source=source)
    if not isinstance(text, str):
        raise ProjectError(f"{what} is not text but {type(text).__name__}: damaged", source=source)
    if text.count("[") + text.count("{") > 10 and _nesting_bound(text) > MAX_JSON_DEPTH:
        raise ProjectError(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep: damaged", source=source)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProjectError(f"{what} is not valid JSON ({str(exc)[:80]}): damaged", source=source) from None
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ProjectError(f"{what} should be a JSON {names.replace('dict', 'object').replace('list', 'list')}, not "
                           f"{type(value).__name__}: damaged", source=source)
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ProjectError(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep: damaged", source=source)
    return value


def _nesting_bound(text: str) -> int:
    """The deepest bracket nesting of JSON text, outside strings (counted before parsing, so a value nested
    100,000 deep is refused without recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def array_bytes(array: np.ndarray) -> bytes:
    """``.npy`` bytes of an array (no pickles: object arrays are refused)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def array_value(data, what: str, source: str) -> np.ndarray:
    """The array of ``.npy`` bytes, checked before any memory is taken: a numeric or boolean dtype (no
    objects, no records), and a declared shape whose size is exactly the bytes that follow the header.

    Raises
    ------
    ProjectError
        Naming the file, ``what`` and what is wrong with the bytes.
    """
    from numpy.lib import format as npy

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProjectError(f"{what} is not array data: damaged", source=source)
    data = bytes(data)
    stream = io.BytesIO(data)
    try:
        version = npy.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(stream, max_header_size=10000)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(stream, max_header_size=10000)
        else:
            raise ValueError(f".npy version {version} is not one a project holds")
    except (ValueError, OSError, SyntaxError, TypeError) as exc:
        raise ProjectError(f"{what} is not a readable array ({str(exc)[:80]}): damaged", source=source) from None
    if dtype.hasobject or dtype.kind not in "biufc" or dtype.fields is not None:
        raise ProjectError(f"{what} has the data type {dtype}, not numbers: damaged", source=source)
    count = 1
    for extent in shape:
        count *= int(extent)
    offset = stream.tell()
    if count * dtype.itemsize != len(data) - offset:
        raise ProjectError(f"{what} declares {count:,} values ({count * dtype.itemsize:,} bytes) but holds "
                           f"{len(data) - offset:,} bytes: damaged", source=source)
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran else "C").copy()


