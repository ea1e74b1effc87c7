"""The documents a window works on, with Qt-free events the views subscribe to.

A :class:`Session` holds the open documents, each a :class:`DocumentState`: the :class:`Document`
(name, wild-type sequence, current sequence with the user's edits, numbering map, optional structure),
its scan (:class:`~protein_studio.core.documents.scans.ScanState`, filled chunk by chunk while a scan runs),
the variant list and every result. Views never change it behind their back: they call its operations
(which the GUI wraps in undo commands) and redraw when an :class:`Event` fires.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from protein_studio.core.documents.document import (Document, default_scheme, excluded_residues, mutant_fits,
                                                    numbering_for, sequence_from_text)
from protein_studio.core.documents.scans import ScanState
from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import MultiMutant, validate_mutant
from protein_studio.core.molecules.numbering import NumberingMap, NumberingScheme
from protein_studio.core.molecules.sequences import AMINO_ACIDS

__all__ = ["Event", "DocumentState", "Session", "VariantScore"]

_AA_INDEX = {aa: i for i, aa in enumerate(AMINO_ACIDS)}


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
class VariantScore:
    """A variant's score by one model and method (``"masked-marginals, joint"``), with where it came from."""

    score: float
    model: str
    method: str
    provenance: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.model, self.method


@dataclass(frozen=True)
class _Snapshot:
    document: Document | None
    scans: tuple = ()
    active_scan: int = -1
    variants: tuple = ()
    notes: tuple = ()
    model_scores: tuple = ()


@dataclass
class DocumentState:
    """One open document with everything done on it: what a project saves for each document.

    Attributes
    ----------
    document : Document
    scans : list of ScanState
        Every scan of the document, oldest first (possibly partial); each is named by its model, strategy,
        precision and date (:attr:`ScanState.label`).
    active_scan : int
        The one the heatmap, the ranked table and the 3D colours show (:attr:`scan`); -1 when there is none.
    variants : list of MultiMutant
        The variant list, in 1-based sequence positions.
    notes : dict of str to str
        Free-text note of a variant, by its canonical name (``str(variant)``).
    model_scores : dict of str to dict of (model, method) to VariantScore
        Every model's score of each variant (by canonical name): one per model and method, the latest kept.
    results : list of dict
        Predictions, comparisons and generated sets: ``{"kind", "name", "data", "arrays",
        "provenance"}`` (plain data and numpy arrays; see :mod:`protein_studio.core.storage.project`).
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
    scans: list = field(default_factory=list)
    active_scan: int = -1
    variants: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    model_scores: dict = field(default_factory=dict)
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
        if not 0 <= self.active_scan < len(self.scans):
            self.active_scan = len(self.scans) - 1

    @property
    def scan(self) -> ScanState | None:
        """The scan shown (the chosen one of :attr:`scans`), or None."""
        return self.scans[self.active_scan] if 0 <= self.active_scan < len(self.scans) else None

    def add_scan(self, scan: ScanState) -> ScanState:
        """Keep ``scan`` beside the others and show it."""
        self.scans.append(scan)
        self.active_scan = len(self.scans) - 1
        return scan

    def set_score(self, variant_name: str, score: VariantScore) -> None:
        """Keep ``score`` as the variant's score by its model and method (a newer one replaces it)."""
        self.model_scores.setdefault(variant_name, {})[score.key] = score

    def latest_score(self, variant_name: str) -> VariantScore | None:
        """The variant's most recent model score, or None."""
        scores = self.model_scores.get(variant_name)
        return list(scores.values())[-1] if scores else None

    @property
    def has_work(self) -> bool:
        """Edits, scans, variants or results: work that would be lost with the document."""
        return bool(self.document.mutated_indices() or self.scans or self.variants or self.results)


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
        """The active document's chosen scan."""
        state = self.state
        return state.scan if state is not None else None

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

    def adopt(self, states: Iterable[DocumentState]) -> None:
        """The open documents become ``states`` (after a merge: those open, changed in place, then new ones);
        the document shown stays shown."""
        shown = self.state
        self.states = list(states)
        self.active = next((k for k, s in enumerate(self.states) if s is shown), 0 if self.states else -1)
        self.documents_changed.emit()
        self._redraw_all()

    def _redraw_all(self) -> None:
        self.document_changed.emit()
        self.scan_changed.emit(None)
        self.variants_changed.emit()

    def update_document(self, document: Document) -> None:
        """Put an equivalent of the active document in its place (the same sequences and numbering map; a
        structure read otherwise, a PAE attached): its scans, variants and results stay."""
        doc = self._require()
        if document.wild_type != doc.wild_type or document.sequence != doc.sequence:
            raise InputError("update_document keeps the sequence; use replace_document for another one")
        self.document = document
        self.documents_changed.emit()
        self.document_changed.emit()

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
        if state is None:
            return _Snapshot(None)
        return _Snapshot(self.document, tuple(state.scans), state.active_scan, tuple(self.variants),
                         tuple(state.notes.items()), tuple((k, dict(v)) for k, v in state.model_scores.items()))

    def restore(self, snapshot: _Snapshot) -> None:
        state = self._require_state()
        state.document = snapshot.document
        state.scans = list(snapshot.scans)
        state.active_scan = snapshot.active_scan
        state.variants = list(snapshot.variants)
        state.notes = dict(snapshot.notes)
        state.model_scores = {k: dict(v) for k, v in snapshot.model_scores}
        self.documents_changed.emit()
        self._redraw_all()

    def replace_document(self, document: Document) -> None:
        """Show ``document`` in place of the active one (another chain or record of the same files): its
        scan and model scores go, variants that still fit stay. Undo with :meth:`snapshot`/:meth:`restore`."""
        state = self._require_state()
        state.document = document
        state.scans, state.active_scan = [], -1
        state.model_scores = {}
        state.variants = [v for v in state.variants if mutant_fits(v, document.wild_type)]
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
        sequence, name = sequence_from_text(text)
        if len(sequence) == len(doc.sequence) and name is None:
            changed = [i for i, (a, b) in enumerate(zip(doc.sequence, sequence)) if a != b]
            if changed:
                self.document = replace(doc, sequence=sequence)
                self.sequence_changed.emit(changed)
            return
        try:
            numbering, chain = numbering_for(sequence, doc.structure, doc.chain)
        except InputError:
            # not this structure's protein: keep showing the structure, map nothing onto it
            numbering, chain = NumberingMap(sequence, [None] * len(sequence), doc.chain or "A"), doc.chain
        if len(sequence) == len(doc.sequence) and doc.scheme.kind in ("offset", "table", "reference"):
            scheme = doc.scheme  # the same protein's numbering still fits
        else:
            scheme = default_scheme(sequence, numbering, doc.structure, 1)
        self.document = replace(doc, name=name or doc.name, wild_type=sequence, sequence=sequence,
                                numbering=numbering, chain=chain, scheme=scheme, records=(), record=0,
                                excluded=excluded_residues(numbering, doc.structure))
        self.state.scans, self.state.active_scan = [], -1
        self.variants = [v for v in self.variants if mutant_fits(v, sequence)]
        self.document_changed.emit()
        self.scan_changed.emit(None)
        self.variants_changed.emit()

    # scans ------------------------------------------------------------------------------------
    def begin_scan(self, model: str, strategy: str, random_weights: bool = False) -> ScanState:
        """Start an empty scan of the current sequence beside the document's other scans, and show it;
        chunks fill it in."""
        doc = self._require()
        scan = self._require_state().add_scan(
            ScanState.empty(model, strategy, doc.sequence, random_weights, excluded=doc.excluded))
        self.scan_changed.emit(None)
        return scan

    def choose_scan(self, index: int) -> None:
        """Show scan ``index`` of the active document (heatmap, ranked table, 3D colours)."""
        state = self._require_state()
        if not 0 <= index < len(state.scans):
            raise IndexError(f"no scan {index}")
        if index != state.active_scan:
            state.active_scan = index
            self.scan_changed.emit(None)

    def remove_scan(self, index: int) -> ScanState:
        """Drop scan ``index`` of the active document (the one before it is shown when it was)."""
        state = self._require_state()
        scan = state.scans.pop(index)
        if state.active_scan >= index:
            state.active_scan = max(state.active_scan - 1, 0 if state.scans else -1)
        self.scan_changed.emit(None)
        return scan

    def insert_scan(self, index: int, scan: ScanState, show: bool = True) -> None:
        """Put a scan back at ``index`` (undoing :meth:`remove_scan`)."""
        state = self._require_state()
        state.scans.insert(index, scan)
        if show or state.active_scan >= index:
            state.active_scan = index if show else state.active_scan + 1
        self.scan_changed.emit(None)

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
