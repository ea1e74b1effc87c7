"""The document a window works on, with Qt-free events the views subscribe to.

A :class:`Session` holds one :class:`Document` (name, wild-type sequence, current sequence with the
user's edits, numbering map, optional structure), the scan shown on the heatmap (:class:`ScanState`,
filled chunk by chunk while a scan runs) and the variant list. Views never change it behind its back:
they call its operations (which the GUI wraps in undo commands) and redraw when an :class:`Event` fires.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.formats import FASTA_SUFFIXES
from protein_studio.core.formats import STRUCTURE_SUFFIXES as _STRUCTURE_SUFFIXES
from protein_studio.core.mutations import MultiMutant, Mutation, validate_mutant
from protein_studio.core.numbering import NumberingMap, NumberingScheme
from protein_studio.core.sequences import AMINO_ACIDS, clean_sequence, read_fasta

__all__ = [
    "Event", "Document", "DocumentState", "ScanState", "Session", "load_document", "load_sources", "additive_scores",
    "document_from_sources",
    "substitution_mask", "substitution_ranks",
    "scheme_for", "FASTA_SUFFIXES", "STRUCTURE_SUFFIXES",
]

STRUCTURE_SUFFIXES = tuple(_STRUCTURE_SUFFIXES)
_AA_INDEX = {aa: i for i, aa in enumerate(AMINO_ACIDS)}


def substitution_mask(sequence: str) -> np.ndarray:
    """L x 20 booleans: True for every cell that is not ``sequence``'s own residue."""
    mask = np.ones((len(sequence), len(AMINO_ACIDS)), dtype=bool)
    for i, aa in enumerate(sequence):
        if aa in _AA_INDEX:
            mask[i, _AA_INDEX[aa]] = False
    return mask


def additive_scores(scores: np.ndarray | None, variants: Sequence[MultiMutant]) -> np.ndarray:
    """Each variant's additive score from a scan matrix (L x 20): the sum of its single-site scores, as
    ProteinGym scores multi-mutants; a synonymous mutation adds 0. NaN where a mutated position is not
    scanned or is off the matrix, and for every variant when there is no scan (``scores`` None)."""
    out = np.full(len(variants), np.nan)
    if scores is None:
        return out
    scores = np.asarray(scores, dtype=float)
    for k, variant in enumerate(variants):
        total = 0.0
        for m in variant.mutations:
            i = m.position - 1
            if not 0 <= i < len(scores) or m.mt not in _AA_INDEX:
                total = float("nan")
                break
            total += 0.0 if m.wt == m.mt else scores[i, _AA_INDEX[m.mt]]
        out[k] = total
    return out


def substitution_ranks(scores: np.ndarray, sequence: str) -> np.ndarray:
    """L x 20 ranks of the scored substitutions of ``sequence``, 1 = highest score (ties: sequence
    order, then AMINO_ACIDS order); 0 for the wild-type residue and unscored (NaN) cells."""
    values = np.where(substitution_mask(sequence), np.asarray(scores, dtype=float), np.nan).ravel()
    scored = np.flatnonzero(~np.isnan(values))
    ranks = np.zeros(values.size, dtype=int)
    ranks[scored[np.argsort(-values[scored], kind="stable")]] = np.arange(1, scored.size + 1)
    return ranks.reshape(len(sequence), len(AMINO_ACIDS))


class Event:
    """A list of callbacks; ``emit(*args)`` calls each in the order they connected."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., None]) -> None:
        self._callbacks = [cb for cb in self._callbacks if cb != callback]

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


@dataclass(frozen=True)
class Document:
    """One protein: its sequences, numbering and (optionally) structure.

    Positions inside the application are 0-based indices (1-based in :class:`MultiMutant` objects,
    which engines read); the user sees and types labels of :attr:`scheme`, the one numbering object
    every view, command and export goes through.

    Parameters
    ----------
    name : str
    wild_type : str
        The sequence as opened; mutations are counted against it.
    sequence : str
        The current sequence (same length as ``wild_type``).
    numbering : NumberingMap
        Sequence index <-> structure residue (or plain numbers when there is no structure).
    structure : Structure, optional
    chain : str, optional
        The structure chain the sequence belongs to.
    paths : tuple of Path
        Files it was read from.
    notes : tuple of str
        What the user should know about how it was read (e.g. "opened the first of 3 sequences").
    scheme : NumberingScheme, optional
        The numbering shown; default: the structure's author numbering when there is a structure,
        else the FASTA record's own range (``/26-290`` in its name) or the sequence index.
    records : tuple of str
        Names of the records of the FASTA file it came from (a record picker offers them).
    record : int
        Which of ``records`` this is (0-based).
    excluded : mapping of int to str
        0-based indices left out of scans and rankings, with the reason (a chromophore's residues).
    sources : tuple of (str, bytes)
        The files it was read from, by name, as they were when opened (a project keeps them, so it
        opens the same document after the files changed or moved).
    """

    name: str
    wild_type: str
    sequence: str
    numbering: Any
    structure: Any = None
    chain: str | None = None
    paths: tuple = ()
    notes: tuple = ()
    scheme: Any = None
    records: tuple = ()
    record: int = 0
    excluded: Mapping[int, str] = field(default_factory=dict)
    sources: tuple = field(default=(), repr=False)

    def __post_init__(self):
        if self.scheme is None:
            object.__setattr__(self, "scheme", NumberingScheme.sequence(len(self.sequence)))
        if len(self.scheme) != len(self.sequence):
            raise ValueError(f"numbering of {len(self.scheme)} positions for a sequence of {len(self.sequence)}")

    def __len__(self) -> int:
        return len(self.sequence)

    def position(self, index: int) -> int:
        """The 1-based sequence index of 0-based ``index`` (what MultiMutant objects and engines use)."""
        return index + 1

    def label(self, index: int) -> str:
        """How the ruler, tables and mutation names call ``index`` in the scheme shown (``"42"``,
        ``"42A"``; ``"(12)"``, the sequence index, where the scheme has no number)."""
        return self.scheme.display(index)

    def labels(self) -> list[str]:
        return [self.scheme.display(i) for i in range(len(self))]

    @property
    def breaks(self) -> tuple[int, ...]:
        """0-based indices ``i`` with a chain break (missing residues in the structure) after ``i``."""
        return tuple(getattr(self.numbering, "breaks", ()))

    def schemes(self) -> dict[str, NumberingScheme]:
        """The numberings this document can be shown in, by name: sequence, structure (when there is
        one) and the one shown."""
        out = {"sequence": NumberingScheme.sequence(len(self))}
        if self.structure is not None and getattr(self.numbering, "mapped", 0):
            out["structure"] = NumberingScheme.from_structure(self.numbering, self.structure.name)
        out[self.scheme.kind] = self.scheme
        return out

    def residue_text(self, index: int) -> str:
        """``"E104 (sequence 102, A:79)"``: letter and label, with the sequence index and the structure
        residue where they differ from the label."""
        text = f"{self.sequence[index]}{self.label(index)}"
        extra = []
        if self.scheme.kind != "sequence" and self.scheme.label(index) is not None:
            extra.append(f"sequence {index + 1}")
        residue = self.numbering.residue_at(index) if self.numbering is not None else None
        if residue is not None:
            extra.append(str(residue))
        if index in self.excluded:
            extra.append(self.excluded[index])
        return f"{text} ({', '.join(extra)})" if extra else text

    def name_mutant(self, mutant: MultiMutant | Mutation) -> str:
        """A mutant (1-based sequence positions) named in the scheme shown."""
        return self.scheme.name_mutant(mutant)

    def parse_mutant(self, text: str, against: str | None = None) -> MultiMutant:
        """Read a mutant typed in the scheme shown; checked against ``against`` (default the wild type)."""
        return self.scheme.parse_mutant(text, self.wild_type if against is None else against, self.schemes())

    def mutated_indices(self) -> list[int]:
        """0-based indices where the current sequence differs from the wild type."""
        return [i for i, (a, b) in enumerate(zip(self.wild_type, self.sequence)) if a != b]

    def mutations(self) -> MultiMutant | None:
        """The current sequence as a multi-mutant of the wild type in 1-based sequence positions (``None``
        when unchanged).

        Positions whose wild-type residue is non-standard (X, ...) cannot be named and are left out.
        """
        mutations = tuple(Mutation(self.position(i), self.wild_type[i], self.sequence[i])
                          for i in self.mutated_indices()
                          if self.wild_type[i] in _AA_INDEX and self.sequence[i] in _AA_INDEX)
        return MultiMutant(mutations) if mutations else None

    def scannable(self) -> list[int]:
        """0-based indices a scan scores: all but :attr:`excluded`."""
        return [i for i in range(len(self)) if i not in self.excluded]


@dataclass
class ScanState:
    """A (possibly still running) saturation scan of ``sequence``: ``scores`` is L x 20, NaN = not yet."""

    model: str
    strategy: str
    sequence: str
    scores: np.ndarray
    random_weights: bool = False
    complete: bool = False
    #: 0-based indices a scan leaves out (chromophore residues): final from the start, never scored
    excluded: frozenset = frozenset()
    #: where the numbers came from: model, weights identity, strategy, precision, device, windowing,
    #: application version, date (see :func:`protein_studio.engines.scoring.scan_provenance`)
    provenance: dict = field(default_factory=dict)
    #: per position: True once its row comes from ``strategy`` itself, False while it is empty or still
    #: shows the one-pass wt-marginal preview that a masked-marginal scan sends first
    final: np.ndarray | None = None
    _ranks: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        self.excluded = frozenset(int(i) for i in self.excluded)
        if self.final is None:
            self.final = ~np.all(np.isnan(self.scores), axis=1)
        self._mark_excluded()

    def _mark_excluded(self) -> None:
        if self.excluded:
            index = np.fromiter(self.excluded, dtype=int)
            self.scores[index] = np.nan
            self.final[index] = True

    @classmethod
    def empty(cls, model: str, strategy: str, sequence: str, random_weights: bool = False,
              excluded: Iterable[int] = ()) -> "ScanState":
        return cls(model, strategy, sequence, np.full((len(sequence), len(AMINO_ACIDS)), np.nan),
                   random_weights, excluded=frozenset(excluded))

    def update(self, positions: Sequence[int], rows: np.ndarray, final: bool = True) -> None:
        """Store the score rows of ``positions`` (0-based): final rows, or preview rows (``final=False``)
        that a later final row replaces."""
        index = np.asarray(positions, dtype=int)
        rows = np.asarray(rows, dtype=float).reshape(len(index), len(AMINO_ACIDS))
        if not final:  # a preview never overwrites a final row
            keep = ~self.final[index]
            index, rows = index[keep], rows[keep]
        self.scores[index] = rows
        self.final[index] = final
        self._ranks = None

    def replace_scores(self, scores: np.ndarray) -> None:
        """Replace every row with ``scores`` (L x 20); rows that are not all NaN become final."""
        self.scores = np.array(scores, dtype=float)
        self.final = ~np.all(np.isnan(self.scores), axis=1)
        self._mark_excluded()
        self._ranks = None

    def drop_preview(self) -> None:
        """Forget preview rows that were not refined (a cancelled or failed scan keeps only final rows,
        so no number on screen comes from a method other than the one named)."""
        self.scores[~self.final] = np.nan
        self._ranks = None

    @property
    def positions_done(self) -> int:
        """Positions with their final scores (positions left out are not counted)."""
        return int(np.count_nonzero(self.final)) - len(self.excluded)

    @property
    def positions_to_scan(self) -> int:
        """Positions the scan scores: all but the excluded ones."""
        return len(self.sequence) - len(self.excluded)

    @property
    def positions_in_preview(self) -> int:
        """Positions showing the wt-marginal preview, still to be refined."""
        return int(np.count_nonzero(~self.final & ~np.all(np.isnan(self.scores), axis=1)))

    def substitution_mask(self) -> np.ndarray:
        """L x 20 booleans: True for every cell that is not the scanned sequence's own residue."""
        return substitution_mask(self.sequence)

    def summary(self) -> np.ndarray:
        """Per-position mean score of the 19 substitutions (NaN where not scanned)."""
        values = np.where(self.substitution_mask(), self.scores, np.nan)
        out = np.full(len(self.sequence), np.nan)
        done = ~np.all(np.isnan(values), axis=1)
        out[done] = np.nanmean(values[done], axis=1)
        return out

    def ranks(self) -> np.ndarray:
        """L x 20 ranks among all scored substitutions, 1 = highest score; 0 for wild-type or unscored."""
        if self._ranks is None:
            self._ranks = substitution_ranks(self.scores, self.sequence)
        return self._ranks

    def score(self, index: int, aa: str) -> float:
        return float(self.scores[index, _AA_INDEX[aa]])

    def additive_score(self, mutant: MultiMutant) -> float:
        """Sum of single-site scores of ``mutant`` (1-based sequence positions; NaN when one is not
        scanned or off the sequence)."""
        return float(additive_scores(self.scores, [mutant])[0])


@dataclass(frozen=True)
class _Snapshot:
    document: Document | None
    scan: ScanState | None
    variants: tuple = ()
    notes: tuple = ()
    model_scores: tuple = ()


@dataclass
class DocumentState:
    """One open document with everything done on it: what a project saves for each document.

    Attributes
    ----------
    document : Document
    scan : ScanState or None
        The scan shown on the heatmap (possibly partial).
    variants : list of MultiMutant
        The variant list, in 1-based sequence positions.
    notes : dict of str to str
        Free-text note of a variant, by its canonical name (``str(variant)``).
    model_scores : dict of str to (float, str, str)
        Score, model and method of each variant from the last Score Variants job, by canonical name.
    score_provenance : dict of str to dict
        Where each model score came from (model, weights, strategy, method, version, date).
    results : list of dict
        Predictions, comparisons and generated sets: ``{"kind", "name", "data", "arrays",
        "provenance"}`` (plain data and numpy arrays; see :mod:`protein_studio.core.project`).
    view : dict
        View settings worth keeping (colouring, ranked-table filters, selection).
    saved_sequence : str or None
        The sequence as last saved to FASTA (or opened), to know about unsaved edits.
    undo : list
        The undo history as plain data, oldest first: each step a list of ``[index, old, new]`` residue
        edits (a point mutation, an applied variant, a reversion). Filled by the window when the project is
        written; history before a paste or a change of chain or record is not kept.
    undo_index : int
        How many of :attr:`undo`'s steps are done (the rest can be redone).
    """

    document: Document
    scan: ScanState | None = None
    variants: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    model_scores: dict = field(default_factory=dict)
    score_provenance: dict = field(default_factory=dict)
    results: list = field(default_factory=list)
    view: dict = field(default_factory=dict)
    saved_sequence: str | None = None
    undo: list = field(default_factory=list)
    undo_index: int = 0
    #: the live model of the last fit on the measurements (not saved: the project keeps its "fit" record)
    fitted: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.saved_sequence is None:
            self.saved_sequence = self.document.sequence


class Session:
    """The open document, its scan and variant list, with events for the views.

    Events
    ------
    document_changed()
        A new document (or a new wild type) replaced the old one; redraw everything.
    sequence_changed(indices)
        Residues at ``indices`` of the current sequence changed.
    scan_changed(positions)
        Scan rows changed (``positions`` finished, or ``None`` when the whole scan was replaced/cleared).
    variants_changed()
        The variant list changed.
    numbering_changed()
        The document is shown in another numbering scheme (labels changed everywhere, nothing else).
    documents_changed()
        A document was opened, closed, renamed or activated (the document list redraws).
    modified()
        Anything a project saves changed (autosave listens to this one event).

    A session holds several documents (:attr:`states`); :attr:`document`, :attr:`scan` and
    :attr:`variants` are those of the active one, and every operation works on it.
    """

    def __init__(self) -> None:
        self.states: list[DocumentState] = []
        self.active: int = -1
        self.document_changed = Event()
        self.sequence_changed = Event()
        self.scan_changed = Event()
        self.variants_changed = Event()
        self.numbering_changed = Event()
        self.documents_changed = Event()
        self.modified = Event()
        for event in (self.document_changed, self.sequence_changed, self.scan_changed, self.variants_changed,
                      self.numbering_changed, self.documents_changed):
            event.connect(lambda *_args: self.modified.emit())

    # the active document's state ----------------------------------------------------------------
    @property
    def state(self) -> DocumentState | None:
        """The active document's state (None when nothing is open)."""
        return self.states[self.active] if 0 <= self.active < len(self.states) else None

    @property
    def document(self) -> Document | None:
        state = self.state
        return state.document if state is not None else None

    @document.setter
    def document(self, document: Document) -> None:
        self._require_state().document = document

    @property
    def scan(self) -> ScanState | None:
        state = self.state
        return state.scan if state is not None else None

    @scan.setter
    def scan(self, scan: ScanState | None) -> None:
        self._require_state().scan = scan

    @property
    def variants(self) -> list:
        state = self.state
        return state.variants if state is not None else []

    @variants.setter
    def variants(self, variants) -> None:
        self._require_state().variants = list(variants)

    def _require_state(self) -> DocumentState:
        state = self.state
        if state is None:
            raise InputError("no protein is open")
        return state

    # documents --------------------------------------------------------------------------------
    def open(self, document: Document | DocumentState) -> None:
        """Add ``document`` (or a whole saved state) as a new document and show it; the documents
        already open stay as they are."""
        state = document if isinstance(document, DocumentState) else DocumentState(document)
        self.states.append(state)
        self.activate(len(self.states) - 1)

    def activate(self, index: int) -> None:
        """Show document ``index`` (0-based in :attr:`states`)."""
        if not 0 <= index < len(self.states):
            raise IndexError(f"no document {index}")
        self.active = index
        self.documents_changed.emit()
        self._redraw_all()

    def close(self, index: int) -> DocumentState:
        """Close document ``index``; the one before it (or the next) becomes active. Returns its state."""
        state = self.states.pop(index)
        if not self.states:
            self.active = -1
        elif self.active >= index:
            self.active = max(0, self.active - 1)
        self.documents_changed.emit()
        self._redraw_all()
        return state

    def replace_states(self, states: Iterable[DocumentState], active: int = 0) -> None:
        """Replace every open document (opening a project)."""
        self.states = list(states)
        self.active = min(max(active, 0), len(self.states) - 1) if self.states else -1
        self.documents_changed.emit()
        self._redraw_all()

    def _redraw_all(self) -> None:
        self.document_changed.emit()
        self.scan_changed.emit(None)
        self.variants_changed.emit()

    def set_scheme(self, scheme: NumberingScheme) -> None:
        """Show the document in another numbering (same length); scans and variants stay as they are."""
        doc = self._require()
        if len(scheme) != len(doc):
            raise InputError(f"the numbering has {len(scheme)} positions, the sequence {len(doc)}")
        self.document = replace(doc, scheme=scheme)
        self.numbering_changed.emit()

    def _require(self) -> Document:
        if self.document is None:
            raise InputError("no protein is open")
        return self.document

    # edits ------------------------------------------------------------------------------------
    def set_residue(self, index: int, residue: str) -> str:
        """Put ``residue`` at 0-based ``index`` of the current sequence; returns the letter it replaced.

        Raises
        ------
        InputError
            A letter that is not one of the 20 standard amino acids (the wild type's own letter, even
            X, may always come back: undo), or an index off the sequence.
        """
        doc = self._require()
        residue = residue.upper()
        if not 0 <= index < len(doc.sequence):
            raise InputError(f"sequence index {index + 1} is outside the sequence (1-{len(doc.sequence)})")
        if residue not in _AA_INDEX and residue != doc.wild_type[index]:
            raise InputError(f"'{residue}' is not one of the 20 standard amino acids ({AMINO_ACIDS})",
                             position=index + 1)
        old = doc.sequence[index]
        if old != residue:
            self.document = replace(doc, sequence=doc.sequence[:index] + residue + doc.sequence[index + 1:])
            self.sequence_changed.emit([index])
        return old

    def apply_mutant(self, mutant: MultiMutant | str) -> list[tuple[int, str]]:
        """Apply a (multi-)mutant; returns ``[(index, old letter), ...]``.

        Text is read in the document's numbering scheme; a MultiMutant is in 1-based sequence positions.
        The mutant's wild-type letters are checked against the current sequence.
        """
        doc = self._require()
        if isinstance(mutant, str):
            mutant = doc.parse_mutant(mutant, against=doc.sequence)
        validate_mutant(mutant, doc.sequence)
        return [(m.position - 1, self.set_residue(m.position - 1, m.mt)) for m in mutant.mutations]

    def snapshot(self) -> _Snapshot:
        """Everything :meth:`replace_sequence` and :meth:`replace_document` may change, for undo."""
        state = self.state
        return _Snapshot(self.document, self.scan, tuple(self.variants),
                         tuple(state.notes.items()) if state else (), tuple(state.model_scores.items()) if state else ())

    def restore(self, snapshot: _Snapshot) -> None:
        state = self._require_state()
        state.document = snapshot.document
        state.scan = snapshot.scan
        state.variants = list(snapshot.variants)
        state.notes = dict(snapshot.notes)
        state.model_scores = dict(snapshot.model_scores)
        self.documents_changed.emit()
        self._redraw_all()

    def replace_document(self, document: Document) -> None:
        """Show ``document`` in place of the active one (another chain or record of the same files): its
        scan and model scores go, variants that still fit stay. Undo with :meth:`snapshot`/:meth:`restore`."""
        state = self._require_state()
        state.document = document
        state.scan = None
        state.model_scores = {}
        state.variants = [v for v in state.variants if _fits(v, document.wild_type)]
        state.notes = {k: v for k, v in state.notes.items() if k in {str(m) for m in state.variants}}
        state.saved_sequence = document.sequence
        self.documents_changed.emit()
        self._redraw_all()

    def replace_sequence(self, text: str) -> None:
        """Paste a sequence (raw letters or FASTA text).

        Same length as now: it becomes the current sequence (its differences count as mutations).
        Another length: it becomes the new wild type, realigned to the structure (nothing is mapped when
        it does not match), and the scan is dropped.
        """
        doc = self._require()
        sequence, name = _sequence_from_text(text)
        if len(sequence) == len(doc.sequence) and name is None:
            changed = [i for i, (a, b) in enumerate(zip(doc.sequence, sequence)) if a != b]
            if changed:
                self.document = replace(doc, sequence=sequence)
                self.sequence_changed.emit(changed)
            return
        try:
            numbering, chain = _numbering_for(sequence, doc.structure, doc.chain)
        except InputError:
            # not this structure's protein: keep showing the structure, map nothing onto it
            numbering, chain = NumberingMap(sequence, [None] * len(sequence), doc.chain or "A"), doc.chain
        if len(sequence) == len(doc.sequence) and doc.scheme.kind in ("offset", "table", "reference"):
            scheme = doc.scheme  # the same protein's numbering still fits
        else:
            scheme = _default_scheme(sequence, numbering, doc.structure, 1)
        self.document = replace(doc, name=name or doc.name, wild_type=sequence, sequence=sequence,
                                numbering=numbering, chain=chain, scheme=scheme, records=(), record=0,
                                excluded=_excluded(numbering, doc.structure))
        self.scan = None
        self.variants = [v for v in self.variants if _fits(v, sequence)]
        self.document_changed.emit()
        self.scan_changed.emit(None)
        self.variants_changed.emit()

    # scans ------------------------------------------------------------------------------------
    def begin_scan(self, model: str, strategy: str, random_weights: bool = False) -> ScanState:
        """Start an empty scan of the current sequence; chunks fill it in."""
        doc = self._require()
        self.scan = ScanState.empty(model, strategy, doc.sequence, random_weights, excluded=doc.excluded)
        self.scan_changed.emit(None)
        return self.scan

    def add_scan_chunk(self, positions: Sequence[int], rows: np.ndarray, final: bool = True,
                       scan: ScanState | None = None) -> None:
        """Rows of finished positions of a running scan (``final=False``: preview rows).

        ``scan``: the scan they belong to (default the active document's); a scan of a document that is
        not shown fills in all the same."""
        scan = self.scan if scan is None else scan
        if scan is None:
            return
        scan.update(positions, rows, final)
        if scan is self.scan:
            self.scan_changed.emit(list(positions))
        else:
            self.modified.emit()

    def finish_scan(self, scores: np.ndarray | None = None, scan: ScanState | None = None) -> None:
        """A scan ended; ``scores`` (L x 20) replaces what the chunks filled when given (rows that are all
        NaN in ``scores``, positions a resumed scan did not compute, keep what they had)."""
        scan = self.scan if scan is None else scan
        if scan is None:
            return
        if scores is not None and np.shape(scores) == scan.scores.shape:
            computed = ~np.all(np.isnan(scores), axis=1)
            merged = scan.scores.copy()
            merged[~scan.final] = np.nan  # previews go; final rows stay unless recomputed
            merged[computed] = np.asarray(scores, dtype=float)[computed]
            scan.replace_scores(merged)
        scan.drop_preview()
        scan.complete = bool(scan.final.all())
        if scan is self.scan:
            self.scan_changed.emit(None)
        else:
            self.modified.emit()

    def resumable_positions(self, model: str, strategy: str) -> list[int] | None:
        """The positions a new scan with ``model`` and ``strategy`` still has to compute when the active
        document holds a partial scan of the same sequence with them; None when it must start afresh."""
        doc, scan = self.document, self.scan
        if (doc is None or scan is None or scan.complete or scan.model != model or scan.strategy != strategy
                or scan.sequence != doc.sequence or scan.positions_done == 0):
            return None
        return [i for i in doc.scannable() if not scan.final[i]]

    # variants ---------------------------------------------------------------------------------
    def add_variant(self, mutant: MultiMutant | str) -> bool:
        """Add a (multi-)mutant to the variant list (checked against the wild type); False if present.

        Text is read in the document's numbering scheme; a MultiMutant is in 1-based sequence positions.
        """
        doc = self._require()
        if isinstance(mutant, str):
            mutant = doc.parse_mutant(mutant)
        validate_mutant(mutant, doc.wild_type)
        if mutant in self.variants:
            return False
        self.variants.append(mutant)
        self.variants_changed.emit()
        return True

    def remove_variant(self, mutant: MultiMutant) -> None:
        if mutant in self.variants:
            self.variants.remove(mutant)
            self.variants_changed.emit()

    def set_note(self, mutant: MultiMutant, note: str) -> None:
        """Attach a free-text note to a variant of the list (empty text removes it)."""
        state = self._require_state()
        if mutant not in state.variants:
            raise InputError(f"{state.document.name_mutant(mutant)} is not in the variant list")
        if note.strip():
            state.notes[str(mutant)] = note.strip()
        else:
            state.notes.pop(str(mutant), None)
        self.variants_changed.emit()


def _sequence_from_text(text: str) -> tuple[str, str | None]:
    """The sequence of pasted text and, for a FASTA record, its name (``None`` for bare letters)."""
    stripped = text.strip()
    if stripped.startswith(">"):
        from protein_studio.core.sequences import parse_fasta_text

        records = parse_fasta_text(stripped)
        if not records:
            raise InputError("the pasted FASTA text holds no sequence")
        return records[0].sequence, records[0].name
    sequence, _problems = clean_sequence(stripped, source="pasted text")
    return sequence, None


def _fits(mutant: MultiMutant, sequence: str) -> bool:
    try:
        validate_mutant(mutant, sequence)
    except InputError:
        return False
    return True


def _numbering_for(sequence: str, structure: Any, chain_id: str | None):
    if structure is None or not structure.chains:
        return NumberingMap(sequence, [None] * len(sequence), "A"), None
    chain = structure.chain(chain_id) if chain_id else structure.chains[0]
    return NumberingMap.align(sequence, chain), chain.chain_id


def _default_scheme(sequence: str, numbering: NumberingMap, structure: Any, first_residue: int) -> NumberingScheme:
    """The structure's author numbering when a structure is open, else the record's own range, else the
    sequence index."""
    if structure is not None and numbering.mapped:
        return NumberingScheme.from_structure(numbering, structure.name)
    if first_residue != 1:
        return NumberingScheme.with_offset(len(sequence), first_residue - 1)
    return NumberingScheme.sequence(len(sequence))


def _excluded(numbering: NumberingMap, structure: Any) -> dict[int, str]:
    """Indices of chromophore residues (and why) through the structure map."""
    if structure is None:
        return {}
    groups = {group.residue: group for chain in structure.chains for group in chain.groups}
    out = {}
    for i, residue in enumerate(numbering.residues):
        group = groups.get(residue) if residue is not None else None
        if group is not None:
            out[i] = f"part of chromophore {group.name} {group.residue}"
    return out


def scheme_for(document: Document, kind: str, value: Any = None) -> NumberingScheme:
    """A numbering scheme of ``document``: ``"sequence"``, ``"structure"``, ``"offset"`` (``value``: the
    offset N, residue i is numbered i + N), ``"reference"`` (``value``: a FASTA file or a
    :class:`ProteinSequence`) or ``"table"`` (``value``: a CSV of sequence index -> label).

    Raises
    ------
    InputError
        No structure for ``"structure"``; an unreadable or unmatched reference or table.
    """
    from protein_studio.core.numbering import load_numbering_table
    from protein_studio.core.sequences import ProteinSequence

    n = len(document)
    if kind == "sequence":
        return NumberingScheme.sequence(n)
    if kind == "structure":
        if document.structure is None or not getattr(document.numbering, "mapped", 0):
            raise InputError("structure numbering needs a structure whose chain matches the sequence")
        return NumberingScheme.from_structure(document.numbering, document.structure.name)
    if kind == "offset":
        try:
            return NumberingScheme.with_offset(n, int(value))
        except (TypeError, ValueError):
            raise InputError(f"offset must be a whole number, not {value!r}") from None
    if kind == "reference":
        if isinstance(value, ProteinSequence):
            record = value
        else:
            records = read_fasta(Path(value))
            if not records:
                raise InputError("no sequence in the reference file", source=str(value))
            record = records[0]
        return NumberingScheme.from_reference(document.wild_type, record.sequence, record.name, record.first_residue)
    if kind == "table":
        return load_numbering_table(Path(value), n)
    raise InputError(f"unknown numbering '{kind}' (sequence, structure, offset, reference, table)")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(STRUCTURE_SUFFIXES):
        return "structure"
    if name.endswith(FASTA_SUFFIXES):
        return "fasta"
    try:
        with open(path, "rb") as handle:
            head = handle.read(256).lstrip()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=path.name) from None
    if head.startswith(b">"):
        return "fasta"
    raise InputError("unknown file type (expected FASTA .fasta/.fa, PDB .pdb, mmCIF .cif or BinaryCIF .bcif)",
                     source=path.name)


def load_document(paths: Iterable[str | Path], chain: str | None = None, record: str | int | None = None,
                  structure: Any = None) -> Document:
    """Read a protein from a FASTA file, a structure file, or one of each.

    With both, the FASTA sequence is the document's sequence and is aligned to the structure chain
    (``chain``, else the first protein chain) so the ruler and the 3D view use the structure's numbers.
    With only a structure, the chain's own sequence is used; with only FASTA, plain numbering (the
    record's own range when its name ends in ``/26-290``).

    Parameters
    ----------
    paths : iterable of path
        One FASTA and/or one structure file.
    chain : str, optional
        The structure chain.
    record : str or int, optional
        The FASTA record: its name, or its 1-based number in the file (default the first).
    structure : Structure, optional
        The structure already loaded from the structure file of ``paths`` (not read again).

    Raises
    ------
    InputError
        Unreadable, unknown or empty files, more than one FASTA or structure file, no such record.
    """
    from protein_studio.core.structures import load_structure

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no file given")
    fasta_paths = []
    structure_paths = []
    from protein_studio.core.files import describe_path

    for path in paths:
        problem = describe_path(path)
        if problem is not None:
            raise InputError("no such file" if problem == "does not exist" else f"{problem}, not a protein file",
                             source=str(path))
        (structure_paths if _kind(path) == "structure" else fasta_paths).append(path)
    if len(fasta_paths) > 1 or len(structure_paths) > 1:
        raise InputError("open one FASTA file and/or one structure file at a time")
    if record is not None and not fasta_paths:
        raise InputError("a record is chosen in a FASTA file; choose a structure's chain instead")

    notes: list[str] = []
    if structure is None and structure_paths:
        structure = load_structure(structure_paths[0])
    if structure is not None and not structure.chains:
        raise InputError("the structure holds no protein chain", source=structure_paths[0].name)
    records: tuple[str, ...] = ()
    chosen = 0
    first = 1
    if fasta_paths:
        entries = read_fasta(fasta_paths[0])
        if not entries:
            raise InputError("the file holds no sequence", source=fasta_paths[0].name)
        chosen = _choose_record(entries, record, fasta_paths[0].name)
        entry = entries[chosen]
        records = tuple(e.name for e in entries)
        sequence = entry.sequence
        name = entry.name
        if len(entries) > 1 and record is None:
            notes.append(f"{fasta_paths[0].name} holds {len(entries)} sequences; opened the first, {entry.name} "
                         f"(choose another with File \u25b8 Choose Record)")
        notes.extend(problem.message for problem in entry.problems)
        first = entry.first_residue if structure is None else 1
        numbering, chain_id = _numbering_for(sequence, structure, chain)
    else:
        chain_info = structure.chain(chain) if chain else structure.chains[0]
        sequence = chain_info.sequence
        name = f"{structure.name} chain {chain_info.chain_id}"
        numbering = NumberingMap.for_chain(chain_info)
        chain_id = chain_info.chain_id
    if structure is not None and len(structure.chains) > 1:
        notes.append(f"showing chain {chain_id} of {len(structure.chains)} protein chains "
                     f"({', '.join(c.chain_id for c in structure.chains)})")
    excluded = _excluded(numbering, structure)
    if excluded:
        groups = sorted({text for text in excluded.values()})
        notes.append(f"{len(excluded)} residues left out of scans: {'; '.join(groups)}")
    from protein_studio.core.files import read_input_bytes

    sources = tuple((path.name, read_input_bytes(path, "a protein file")) for path in paths)
    return Document(name=name, wild_type=sequence, sequence=sequence, numbering=numbering,
                    structure=structure, chain=chain_id, paths=tuple(paths), notes=tuple(notes),
                    scheme=_default_scheme(sequence, numbering, structure, first), records=records,
                    record=chosen, excluded=excluded, sources=sources)


def load_sources(sources: Sequence[tuple[str, bytes]], chain: str | None = None, record: int = 0) -> Document:
    """:func:`load_document` on the bytes of files (a document's :attr:`Document.sources`): the same
    reading rules, another chain or FASTA record (0-based) if asked."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="protein-studio-") as folder:
        files = []
        for file_name, data in sources:
            target = Path(folder) / Path(file_name).name
            target.write_bytes(data)
            files.append(target)
        has_fasta = any(_kind(f) == "fasta" for f in files)
        doc = load_document(files, chain=chain, record=record + 1 if has_fasta else None)
    return replace(doc, sources=tuple((n, bytes(d)) for n, d in sources))


def document_from_sources(sources: Sequence[tuple[str, bytes]], *, name: str, wild_type: str, sequence: str,
                          chain: str | None = None, record: int = 0, scheme: NumberingScheme | None = None,
                          paths: Sequence[str | Path] = ()) -> Document:
    """Rebuild a document from the bytes of the files it was opened from (a project's copy), with the
    name, wild type, edits and numbering it had.

    The files are read by the same code as :func:`load_document`; a wild type that was replaced by a
    paste is aligned to the structure again.

    Raises
    ------
    InputError
        Files that no longer parse, or a numbering that does not fit the sequence.
    """
    if not sources:  # a sequence typed or pasted with no file behind it
        numbering = NumberingMap(wild_type, [None] * len(wild_type), "A")
        doc = Document(name, wild_type, sequence, numbering)
    else:
        doc = load_sources(sources, chain=chain, record=record)
        if doc.wild_type != wild_type:
            try:
                numbering, chain_id = _numbering_for(wild_type, doc.structure, doc.chain)
            except InputError:
                numbering, chain_id = NumberingMap(wild_type, [None] * len(wild_type), doc.chain or "A"), doc.chain
            doc = replace(doc, wild_type=wild_type, sequence=wild_type, numbering=numbering, chain=chain_id,
                          scheme=_default_scheme(wild_type, numbering, doc.structure, 1), records=(), record=0,
                          excluded=_excluded(numbering, doc.structure))
    if len(sequence) != len(doc.wild_type):
        raise InputError(f"the saved sequence has {len(sequence)} residues, its wild type {len(doc.wild_type)}")
    doc = replace(doc, name=name, sequence=sequence, paths=tuple(Path(p) for p in paths) or doc.paths)
    if scheme is not None:
        doc = replace(doc, scheme=scheme)
    return doc


def _choose_record(entries, record: str | int | None, source: str) -> int:
    if record is None:
        return 0
    text = str(record).strip()
    for k, entry in enumerate(entries):
        if entry.name == text:
            return k
    if text.isascii() and text.isdigit():
        number = int(text)
        if 1 <= number <= len(entries):
            return number - 1
        raise InputError(f"record {number} does not exist: the file holds {len(entries)}", source=source)
    names = ", ".join(e.name for e in entries[:10]) + (", ..." if len(entries) > 10 else "")
    raise InputError(f"no record named '{text}' (records: {names})", source=source)
