"""The selection mediator: every listener but the sender hears a change, nothing echoes, numbering maps."""

from __future__ import annotations

from protein_studio.core.molecules.numbering import NumberingMap
from protein_studio.core.documents.selection import SelectionMediator
from protein_studio.core.molecules.structures import ResidueId


class View:
    """A view that republishes whatever it hears (the worst case for feedback loops)."""

    def __init__(self, mediator: SelectionMediator, name: str, log: list):
        self.mediator = mediator
        self.name = name
        self.log = log
        self.shown: frozenset = frozenset()
        mediator.subscribe(self, self.on_selection)

    def on_selection(self, indices, source):
        self.log.append((self.name, tuple(sorted(indices)), getattr(source, "name", source)))
        self.shown = indices
        self.mediator.select(set(indices) | {999}, source=self)  # must be ignored, not looped


def test_sender_is_not_notified_and_others_are():
    log = []
    m = SelectionMediator()
    editor, heatmap, viewer = View(m, "editor", log), View(m, "heatmap", log), View(m, "viewer", log)
    assert m.select([3, 1], source=heatmap)
    assert sorted(log) == [("editor", (1, 3), "heatmap"), ("viewer", (1, 3), "heatmap")]
    assert heatmap.shown == frozenset()  # the sender never hears its own event
    assert m.selection == frozenset({1, 3})  # republishing during notification changed nothing
    assert editor.shown == viewer.shown == frozenset({1, 3})


def test_unchanged_selection_notifies_nobody_and_clear_does():
    log = []
    m = SelectionMediator()
    editor = View(m, "editor", log)
    m.select([2], source=None)
    m.select([2], source=None)
    assert log == [("editor", (2,), None)]
    assert m.clear() is True
    assert editor.shown == frozenset()


def test_residues_cross_views_only_through_the_numbering_map():
    # sequence index 0..4 <-> chain B residues 26, 27, 27A, (none), 29
    residues = [ResidueId("B", 26), ResidueId("B", 27), ResidueId("B", 27, "A"), None, ResidueId("B", 29)]
    numbering = NumberingMap("MKTAY", residues, "B")
    m = SelectionMediator(numbering)
    heard = []
    m.subscribe("editor", lambda idx, src: heard.append(sorted(idx)))
    assert m.select_residues([ResidueId("B", 27, "A"), ResidueId("A", 27)], source="viewer")
    assert heard == [[2]]  # A:27 is not in the map and is skipped
    m.select([1, 3, 4], source="editor")
    assert m.selected_residues() == [ResidueId("B", 27), ResidueId("B", 29)]
    m.select_residues([ResidueId("B", 26)], source="viewer", add=True)
    assert m.selection == frozenset({0, 1, 3, 4})


def test_new_numbering_clears_and_out_of_range_indices_are_dropped():
    m = SelectionMediator(NumberingMap.plain(10))
    m.select([2, 50, -1])
    assert m.selection == frozenset({2})
    m.set_numbering(NumberingMap.plain(3))
    assert m.selection == frozenset()
    m.unsubscribe("nobody")  # unknown owners are harmless
