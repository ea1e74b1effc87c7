"""The one selection mediator every view publishes to and listens to (no Qt).

Views (sequence editor, heatmap, ranked table, 3D viewer) register a callback under their own identity.
A view that changes the selection publishes it with itself as the ``source``; every *other* listener
hears about it, the sender never does, and a listener that publishes again while it is being notified is
ignored, so no two views can ping-pong.

Selections are sets of 0-based sequence indices of the current document. Structure residues cross into
sequence indices, and back, only through the document's
:class:`~protein_studio.core.molecules.numbering.NumberingMap`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

__all__ = ["SelectionMediator", "SelectionListener"]

SelectionListener = Callable[[frozenset, Any], None]
"""``listener(indices, source)``: the new selection (0-based sequence indices) and who published it."""


class SelectionMediator:
    """Holds the current selection and tells every listener but the sender when it changes.

    Parameters
    ----------
    numbering : NumberingMap, optional
        Maps sequence indices to structure residues; needed by :meth:`select_residues` and
        :meth:`selected_residues`.

    Examples
    --------
    >>> seen = []
    >>> m = SelectionMediator()
    >>> editor, heatmap = object(), object()
    >>> m.subscribe(editor, lambda idx, src: seen.append(("editor", sorted(idx))))
    >>> m.subscribe(heatmap, lambda idx, src: seen.append(("heatmap", sorted(idx))))
    >>> m.select([4, 2], source=editor)
    True
    >>> seen
    [('heatmap', [2, 4])]
    """

    def __init__(self, numbering: Any = None):
        self._numbering = numbering
        self._selection: frozenset = frozenset()
        self._listeners: list[tuple[Any, SelectionListener]] = []
        self._notifying = False

    # listeners --------------------------------------------------------------------------------
    def subscribe(self, owner: Any, listener: SelectionListener) -> None:
        """Call ``listener(indices, source)`` on every change not published by ``owner``."""
        self._listeners.append((owner, listener))

    def unsubscribe(self, owner: Any) -> None:
        """Forget every listener registered by ``owner``."""
        self._listeners = [(o, cb) for o, cb in self._listeners if o is not owner]

    # numbering --------------------------------------------------------------------------------
    @property
    def numbering(self) -> Any:
        """The numbering map of the current document (``None`` before one is open)."""
        return self._numbering

    def set_numbering(self, numbering: Any, source: Any = None) -> None:
        """Switch to a new document's numbering; the selection is cleared (its indices meant another one)."""
        self._numbering = numbering
        self.select((), source=source)

    # selection --------------------------------------------------------------------------------
    @property
    def selection(self) -> frozenset:
        """The selected 0-based sequence indices."""
        return self._selection

    def select(self, indices: Iterable[int], source: Any = None) -> bool:
        """Make ``indices`` the selection and notify every listener except ``source``'s.

        Returns
        -------
        bool
            ``False`` when nothing changed or the call came from inside a notification (a view
            reacting to the selection by publishing it again), in which case nobody is notified.
        """
        new = frozenset(int(i) for i in indices if i is not None and int(i) >= 0)
        if self._numbering is not None:
            n = len(self._numbering)
            new = frozenset(i for i in new if i < n)
        if self._notifying or new == self._selection:
            return False
        self._selection = new
        self._notifying = True
        try:
            for owner, listener in list(self._listeners):
                if owner is not source:
                    listener(new, source)
        finally:
            self._notifying = False
        return True

    def clear(self, source: Any = None) -> bool:
        """Select nothing."""
        return self.select((), source=source)

    def select_residues(self, residues: Iterable[Any], source: Any = None, add: bool = False) -> bool:
        """Select structure residues (``ResidueId``), translated to sequence indices by the numbering map.

        Residues the sequence does not cover (absent from the map) are skipped.
        """
        if self._numbering is None:
            return False
        indices = {self._numbering.index_of(r) for r in residues}
        indices.discard(None)
        if add:
            indices |= self._selection
        return self.select(indices, source=source)

    def selected_residues(self) -> list:
        """The structure residues (``ResidueId``) of the selection, in sequence order; unmapped skipped."""
        if self._numbering is None:
            return []
        out = []
        for i in sorted(self._selection):
            residue = self._numbering.residue_at(i)
            if residue is not None:
                out.append(residue)
        return out
