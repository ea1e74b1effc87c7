"""3D structure viewer: a QWebEngineView on a local 3Dmol.js page.

The page (``resources/web/viewer.html``) loads ``vendor/3Dmol-min.js`` from disk (fetched by ``make``,
never from a CDN) and ``qwebchannel.js`` from Qt's resources; a :class:`LocalOnlyInterceptor` blocks any
other request. Structures, colours and residue lists travel to the page as JSON through the
:class:`~protein_studio.gui.panels.web_bridge.ViewerBridge`, never as script text, so a file whose names or
remarks contain ``</script>``, quotes or template syntax runs nothing. Calls made before the page is
ready are queued and replayed.

A structure is given as a loaded :class:`~protein_studio.core.molecules.structures.Structure` (its confidence is
taken from its chains, nothing is parsed again) or as PDB text. Residues are given as objects with
``chain``, ``number`` and ``insertion`` attributes (the core ``ResidueId``) or as
``(chain, number, insertion)`` tuples.

Test hooks on the page (run them with ``viewer.page.runJavaScript``):

* ``window.studio.simulateClick(chain, number, insertion)`` clicks the residue's CA atom through the
  same code path as a mouse click, so the residue is selected and ``residueClicked`` is emitted exactly
  as for a real click. It returns the residue's key (``"A:42"``, ``"A:42B"``) or ``""`` when the residue
  is not in the structure.
* ``window.studio.status()`` describes what is shown (name, atom count, selection, mutated residues,
  surface, colouring); wrap it in ``JSON.stringify`` to get it back as text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer, QUrl, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.structures import Structure, viewer_text
from protein_studio.gui.panels.structure_colours import (CONFIDENCE_BINS, OVERLAY_COLOR, REFERENCE_COLOR,
                                                         bfactor_colors, chain_confidence, confidence_color,
                                                         confidence_from_pdb, residue_key, residue_triple,
                                                         score_color, score_colors)
from protein_studio.gui.panels.web_bridge import LocalOnlyInterceptor, LocalPage, ViewerBridge, no_webrtc_script

__all__ = ["WEB_DIR", "COLOR_MODES", "StructureViewer"]

#: Folder of the viewer page; ``vendor/3Dmol-min.js`` inside it is fetched by ``make``.
WEB_DIR = Path(str(resources.files("protein_studio.resources") / "web"))
#: Colour modes accepted by :meth:`StructureViewer.set_color_mode`.
COLOR_MODES = ("chain", "confidence", "score")
_MISSING_3DMOL = "3Dmol.js not found: run make\n(expected {path})"


class StructureViewer(QWidget):
    """3D view of one structure: cartoon, sticks for selected and mutated residues, optional surface.

    Parameters
    ----------
    parent : QWidget, optional
        Qt parent.
    web_dir : Path, optional
        Folder holding ``viewer.html`` (default :data:`WEB_DIR`); when its ``vendor/3Dmol-min.js`` is
        missing the widget shows "3Dmol.js not found: run make" instead of the 3D view.

    Signals
    -------
    residueClicked(str, int, str)
        The user clicked an atom: chain, residue number, insertion code (``""`` when none).
    ready()
        The page and its channel are up (queued calls have been replayed).
    drawn()
        A render showing a structure finished (after a load, a colour change, a highlight ...) and
        its frame has reached Qt, so a grab of the window shows it.
    failed(str)
        The page could not do what was asked (e.g. no atoms could be read).
    """

    residueClicked = Signal(str, int, str)  # noqa: N815 (Qt signal naming)
    ready = Signal()
    drawn = Signal()
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, web_dir: Path | None = None) -> None:
        super().__init__(parent)
        self._web_dir = Path(web_dir) if web_dir is not None else WEB_DIR
        self._page_file = self._web_dir / "viewer.html"
        self._pdb_text = ""
        self._format = "pdb"  # of _pdb_text: "pdb", or "cif" for atoms PDB cannot hold
        self._confidence: dict[Any, float] | None = None  # of the shown structure; None: not read yet
        self._confidence_kind: str | None = None  # "plddt", "bfactor" or None (see Structure.confidence_kind)
        self._name = ""
        self._color_mode = "chain"
        self._color_values: dict[Any, float] | None = None
        self._color_limit: float | None = None
        self._selected: list[tuple[str, int, str]] = []
        self._mutated: list[tuple[str, int, str]] = []
        self._surface = False
        #: (rectangle, colour) of the legend swatches drawn into the last exported image
        self.legend_swatches: list = []
        self._overlay: tuple[str, str, str, str | None] | None = None  # pdb text, name, colour, base colour
        self._renderer_restarts = 0
        self._is_ready = False

        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._message = QLabel(self)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setStyleSheet("color: #b00020; background: white; padding: 12px;")
        self._stack.addWidget(self._message)

        self.bridge = ViewerBridge(self)
        self.interceptor = LocalOnlyInterceptor(self)
        self._view: QWebEngineView | None = None
        self._page: LocalPage | None = None

        vendor = self._web_dir / "vendor" / "3Dmol-min.js"
        if not vendor.is_file():
            self._message.setText(_MISSING_3DMOL.format(path=vendor))
            self._stack.setCurrentWidget(self._message)
            return

        self._view = QWebEngineView(self)
        self._refuse_drops()
        self._view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self._home = QUrl.fromLocalFile(str(self._page_file))
        self._page = LocalPage(self._home, self._view)
        self._page.setUrlRequestInterceptor(self.interceptor)
        settings = self._page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.JavascriptCanOpenWindows, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.WebGLEnabled, True)
        self._page.scripts().insert(no_webrtc_script())
        self._channel = QWebChannel(self._page)
        self._channel.registerObject("bridge", self.bridge)
        self._page.setWebChannel(self._channel)
        self._view.setPage(self._page)
        self._stack.addWidget(self._view)
        self._stack.setCurrentWidget(self._view)

        self.bridge.ready.connect(self._on_page_ready)
        self.bridge.residueClicked.connect(self._on_residue_clicked)
        self.bridge.residueClicked.connect(self.residueClicked)
        self.bridge.rendered.connect(self.drawn)
        self.bridge.failed.connect(self.failed)
        self._page.loadFinished.connect(self._on_load_finished)
        self._page.renderProcessTerminated.connect(self._on_renderer_gone)
        self._page.load(self._home)

    # ------------------------------------------------------------------ state

    @property
    def available(self) -> bool:
        """False when 3Dmol.js is missing and the widget only shows a message."""
        return self._view is not None

    @property
    def is_ready(self) -> bool:
        """True once the page is loaded and its channel connected."""
        return self._is_ready

    @property
    def structure_name(self) -> str:
        """Name of the structure shown (``""`` when none)."""
        return self._name

    @property
    def color_mode(self) -> str:
        """Current colour mode, one of :data:`COLOR_MODES`."""
        return self._color_mode

    @property
    def overlay_name(self) -> str:
        """Name of the structure superposed on the shown one (``""`` when none)."""
        return self._overlay[1] if self._overlay is not None else ""

    @property
    def page(self) -> QWebEnginePage | None:
        """The web page (None when 3Dmol.js is missing); tests run JavaScript on it."""
        return self._page

    @property
    def message(self) -> str:
        """Text shown instead of the 3D view (``""`` while the view is shown)."""
        return self._message.text() if self._stack.currentWidget() is self._message else ""

    # ------------------------------------------------------------------ public API

    def load_structure(self, structure: Structure | str, name: str) -> None:
        """Show a structure, coloured in the current mode, nothing selected.

        Parameters
        ----------
        structure : Structure or str
            A loaded structure (colouring by confidence uses its chains' values), or PDB file contents
            (multi-model files show their first model; the B-factors are read once, the first time
            colouring by confidence needs them).
        name : str
            Shown in the view's corner.

        Raises
        ------
        InputError
            A Structure whose atoms do not fit the PDB format.
        """
        if isinstance(structure, str):
            self._pdb_text, self._confidence, self._confidence_kind = structure, None, None
            self._format = "pdb"
        else:  # PDB text, or mmCIF for atoms PDB cannot hold (two-character chains, > 99,999 atoms)
            (self._pdb_text, self._format), self._confidence = viewer_text(structure), chain_confidence(structure)
            self._confidence_kind = structure.confidence_kind
        self._name = name
        self._selected, self._mutated = [], []
        self._overlay = None
        self._renderer_restarts = 0
        colors, legend = self._colors_and_legend()
        self.bridge.call("loadStructure", self._pdb_text, name, colors, legend, self._format)

    def set_color_mode(self, mode: str, values: Mapping[Any, float] | None = None, *,
                       limit: float | None = None) -> None:
        """Colour by chain, by confidence or by a per-residue score.

        Parameters
        ----------
        mode : {"chain", "confidence", "score"}
            ``"confidence"`` colours ``values`` (pLDDT) or, when ``values`` is None, the structure's
            B-factor column by what it holds: AlphaFold's four pLDDT colours (> 90, 70-90, 50-70, < 50)
            for a predicted model, a blue-white-red B-factor scale (square angstroms) for an experimental
            one, and nothing (chain colours, no legend) when the column is empty.
            ``"score"`` maps ``values`` on a diverging red-white-blue scale centred on 0.
        values : mapping of ResidueId (or tuple) to float, optional
            Per-residue values; residues without one are grey. Required for ``"score"``.
        limit : float, optional
            For ``"score"``: the value drawn at full colour (default: the largest absolute value).

        Raises
        ------
        ValueError
            Unknown mode, or ``"score"`` without values.
        """
        if mode not in COLOR_MODES:
            raise ValueError(f"unknown colour mode {mode!r}; use one of {', '.join(COLOR_MODES)}")
        if mode == "score" and values is None:
            raise ValueError("colouring by score needs per-residue values")
        self._color_mode = mode
        self._color_values = dict(values) if values is not None else None
        self._color_limit = limit
        colors, legend = self._colors_and_legend()
        if self._overlay is not None:  # the page colours the first structure by the mode again; the legend
            self._overlay = self._overlay[:3] + (None,)  # names the superposed structure's colour too
            legend = self._overlay_legend()
        self.bridge.call("setColors", colors, legend)

    def set_overlay(self, pdb_text: str, name: str, color: str = OVERLAY_COLOR,
                    reference_color: str | None = REFERENCE_COLOR) -> None:
        """Superpose a second structure on the shown one (a comparison), drawn as a cartoon in ``color``.

        The coordinates must already be in the shown structure's frame (e.g. a comparison's
        ``superimposed`` atoms). Loading another structure removes the overlay; choosing a colour mode
        afterwards colours the first structure by that mode again and keeps the overlay.

        Parameters
        ----------
        pdb_text : str
            PDB text of the second structure.
        name : str
            Shown in the legend and the title.
        color : str
            ``"#RRGGBB"`` of the second structure.
        reference_color : str or None
            One colour for the first structure while the overlay is shown (None: keep its colour mode).
        """
        self._overlay = (pdb_text, name, color, reference_color)
        self.bridge.call("setOverlay", pdb_text, name, color, reference_color, self._overlay_legend())

    def clear_overlay(self) -> None:
        """Remove the superposed structure; the first one gets its colour mode back."""
        self._overlay = None
        _colors, legend = self._colors_and_legend()
        self.bridge.call("setOverlay", "", "", None, None, legend)

    def highlight(self, residues: Iterable[Any], center: bool = True) -> None:
        """Show these residues as sticks (replacing the previous selection) and optionally centre them.

        Parameters
        ----------
        residues : iterable of ResidueId (or tuples)
            An empty list clears the selection.
        center : bool
            Zoom onto the residues, keeping their surroundings in view.
        """
        self._selected = [residue_triple(r) for r in residues]
        self.bridge.call("setSelected", [list(r) for r in self._selected], bool(center))

    def set_residue_labels(self, labels: Mapping[Any, str]) -> None:
        """How the window names each residue (ResidueId -> text, in the document's numbering): shown when the
        mouse rests on a residue and beside the selected ones."""
        self.bridge.call("setResidueLabels", {residue_key(r): str(text) for r, text in labels.items()})

    def set_mutated(self, residues: Iterable[Any]) -> None:
        """Show mutated residues as sticks with magenta carbons (replacing the previous set)."""
        self._mutated = [residue_triple(r) for r in residues]
        self.bridge.call("setMutated", [list(r) for r in self._mutated])

    def set_surface(self, on: bool) -> None:
        """Show or hide a translucent molecular surface coloured like the cartoon."""
        self._surface = bool(on)
        self.bridge.call("setSurface", self._surface)

    def set_active_chain(self, chain: str | None) -> None:
        """Draw the chains other than ``chain`` in light grey (``None``: every chain in its colour)."""
        self.bridge.call("setActiveChain", chain or "")

    def reset_view(self) -> None:
        """Fit the whole molecule in view again (after zooming or centring on a selection)."""
        self.bridge.call("resetView")

    def clear(self) -> None:
        """Remove the structure."""
        self._pdb_text = ""
        self._confidence = None
        self._confidence_kind = None
        self._name = ""
        self._selected, self._mutated = [], []
        self._overlay = None
        self.bridge.call("clear")

    def grab_image(self, path: str | Path) -> Path:
        """Save what the viewer shows as an image (PNG, or another format by extension).

        Takes the 3D canvas from 3Dmol (``pngURI``) at its full resolution, with the colour legend the page
        shows drawn in its lower left corner; when the page is not up (3Dmol.js missing, page still
        loading) it saves a grab of the widget instead.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Path
            ``path``.

        Raises
        ------
        UserError
            The image could not be written (an earlier file of that name stays whole).
        """
        from protein_studio.gui.images import paint_legend, save_image

        path = Path(path)
        image = self.canvas_image()
        if image is None:
            image = self.grab().toImage()
        elif self.legend:  # the page draws its legend over the canvas: the image gets the same one
            image = image.convertToFormat(QImage.Format.Format_ARGB32)
            self.legend_swatches = paint_legend(image, self.legend)
        save_image(image, path)
        return path

    # ------------------------------------------------------------------ internals

    def _overlay_legend(self) -> dict | None:
        _pdb, name, color, reference_color = self._overlay
        if reference_color is None:  # the first structure keeps its colouring: its legend, and the overlay's colour
            base = self._colors_and_legend()[1]
            if base is None:
                return {"title": "Superposed", "items": [[color, name]]}
            return {**base, "items": list(base.get("items") or []) + [[color, name]]}
        return {"title": "Superposed", "items": [[reference_color, self._name], [color, name]]}

    @property
    def confidence_kind(self) -> str | None:
        """What colouring by confidence shows for the loaded structure: ``"plddt"``, ``"bfactor"`` or None."""
        if self._confidence is None and self._pdb_text and self._format == "pdb":
            self._confidence, self._confidence_kind = confidence_from_pdb(self._pdb_text)
        return self._confidence_kind if self._confidence else None

    @property
    def legend(self) -> dict | None:
        """The legend the page shows now (None: none), for tests and image exports."""
        if self._overlay is not None:
            return self._overlay_legend()
        return self._colors_and_legend()[1]

    def _colors_and_legend(self) -> tuple[dict[str, str] | None, dict | None]:
        mode, values = self._color_mode, self._color_values
        if mode == "chain":
            return None, None
        if mode == "confidence":
            kind = "plddt"
            if values is None:
                if self._confidence is None:
                    self._confidence, self._confidence_kind = (confidence_from_pdb(self._pdb_text)
                                                               if self._pdb_text else ({}, None))
                values, kind = self._confidence, self._confidence_kind
            if kind is None or not values:
                return None, None  # nothing to colour by: chain colours and no legend
            if kind == "bfactor":
                colors, (low, high) = bfactor_colors(values)
                legend = {"title": "B-factor (\u00c5\u00b2)",
                          "gradient": [score_color(x) for x in (1.0, 0.5, 0.0, -0.5, -1.0)],
                          "labels": [f"{low:.0f}", f"{(low + high) / 2:.0f}", f"{high:.0f}"]}
                return colors, legend
            colors = {residue_key(r): confidence_color(float(v)) for r, v in values.items()}
            legend = {"title": "Confidence (pLDDT)",
                      "items": [[color, label] for _, color, label in CONFIDENCE_BINS]}
            return colors, legend
        colors, limit = score_colors(values, self._color_limit)
        legend = {"title": "Score",
                  "gradient": [score_color(x) for x in (-1.0, -0.5, 0.0, 0.5, 1.0)],
                  "labels": [f"{-limit:.3g}", "0", f"{limit:.3g}"]}
        return colors, legend

    def canvas_image(self, timeout_ms: int = 5000) -> QImage | None:
        """The 3D canvas as an image at full resolution (3Dmol's ``pngURI``), without the overlays.

        Waits for the page in a local event loop (at most ``timeout_ms``).

        Returns
        -------
        QImage or None
            None when the page is not ready or did not answer.
        """
        if not self._is_ready:
            return None
        result: dict[str, Any] = {}
        loop = QEventLoop()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)

        def done(value: Any) -> None:
            result["uri"] = value
            loop.quit()

        self._page.runJavaScript("window.studio ? window.studio.pngURI() : ''", 0, done)
        if "uri" not in result:
            timer.start(timeout_ms)
            loop.exec()
            timer.stop()
        uri = result.get("uri") or ""
        prefix = "data:image/png;base64,"
        if not isinstance(uri, str) or not uri.startswith(prefix):
            return None
        image = QImage()
        image.loadFromData(base64.b64decode(uri[len(prefix):]), "PNG")
        return None if image.isNull() else image

    def _on_page_ready(self, info: dict) -> None:
        if not info.get("has3Dmol", False):
            self._message.setText(_MISSING_3DMOL.format(path=self._web_dir / "vendor" / "3Dmol-min.js"))
            self._stack.setCurrentWidget(self._message)
            return
        self._is_ready = True
        self.ready.emit()

    def _on_residue_clicked(self, chain: str, number: int, insertion: str) -> None:
        self._selected = [(chain, number, insertion)]

    def _on_renderer_gone(self, status, exit_code: int) -> None:
        """The page's renderer process died (crash, out of memory): reload once and restore the view."""
        self._is_ready = False
        self.bridge.reset()
        if self._renderer_restarts >= 1:
            text = (f"The 3D view stopped twice while showing {self._name or 'this structure'} "
                    f"(renderer exit code {exit_code}); open the structure again to retry.")
            self._message.setText(text)
            self._stack.setCurrentWidget(self._message)
            self.failed.emit(text)
            return
        self._renderer_restarts += 1
        self.bridge.call("setSurface", self._surface)
        if self._pdb_text:
            colors, legend = self._colors_and_legend()
            self.bridge.call("loadStructure", self._pdb_text, self._name, colors, legend, self._format)
            self.bridge.call("setMutated", [list(r) for r in self._mutated])
            self.bridge.call("setSelected", [list(r) for r in self._selected], False)
            if self._overlay is not None:
                self.bridge.call("setOverlay", *self._overlay, self._overlay_legend())
        else:
            colors, legend = self._colors_and_legend()
            self.bridge.call("setColors", colors, legend)
        self._page.load(self._home)

    def _refuse_drops(self) -> None:
        """Let dropped files fall through to the window (which opens them) instead of the page.

        QtWebEngine's input widget inside the view accepts drops itself and is created with the
        page, so this runs again after every load.
        """
        if self._view is None:
            return
        self._view.setAcceptDrops(False)
        for child in self._view.findChildren(QWidget):
            child.setAcceptDrops(False)

    def _on_load_finished(self, ok: bool) -> None:
        self._refuse_drops()
        if not ok:
            self._message.setText(f"The structure viewer page could not be loaded ({self._page_file}).")
            self._stack.setCurrentWidget(self._message)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Refuse drops again: the page's input widget may have been recreated."""
        self._refuse_drops()
        super().showEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Stop the page so its renderer shuts down with the widget."""
        if self._page is not None:
            self._page.triggerAction(QWebEnginePage.WebAction.Stop)
        super().closeEvent(event)
