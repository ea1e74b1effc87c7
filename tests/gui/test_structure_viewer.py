"""StructureViewer: the 3Dmol.js page renders real pixels offscreen, talks to Python only through the
QWebChannel, never reaches the network and runs nothing a structure file contains."""

from __future__ import annotations

import http.server
import json
import math
import os
import signal
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from protein_studio.core.molecules.structures import ResidueId, load_structure
from protein_studio.gui.panels import structure_colours
from protein_studio.gui.panels.structure_colours import (CONFIDENCE_BINS, MISSING_COLOR, bfactor_colors,
                                                         confidence_color, confidence_from_pdb, residue_key,
                                                         score_colors)
from protein_studio.gui.panels.structure_viewer import WEB_DIR, StructureViewer
from protein_studio.gui.panels.web_bridge import LocalOnlyInterceptor
from predicted import PABP, predicted_pabp, predicted_pabp_text  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
PDB_FILES = sorted(DATA.glob("*.pdb"))
TIMEOUT = 20000

pytestmark = pytest.mark.skipif(not (WEB_DIR / "vendor" / "3Dmol-min.js").is_file(),
                                reason="3Dmol.js not fetched (run make)")


# ---------------------------------------------------------------- helpers

def _run_js(qtbot, page: QWebEnginePage, expression: str):
    """Value of a JavaScript expression, passed back as JSON text (objects and arrays included)."""
    result = {}
    page.runJavaScript(f"JSON.stringify({expression})", 0, lambda value: result.setdefault("value", value))
    qtbot.waitUntil(lambda: "value" in result, timeout=TIMEOUT)
    return json.loads(result["value"]) if result["value"] else None


def _status(qtbot, viewer: StructureViewer) -> dict:
    return _run_js(qtbot, viewer.page, "window.studio.status()")


def _rgb(image: QImage) -> np.ndarray:
    """Height x width x 3 array of an image's RGB values."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8)[: stride * height].reshape(height, stride)
    return raw[:, : width * 3].reshape(height, width, 3).astype(int)


def _pixels(viewer: StructureViewer, tmp_path: Path, name: str = "shot.png") -> np.ndarray:
    """Pixels of the image :meth:`StructureViewer.grab_image` saves."""
    return _rgb(QImage(str(viewer.grab_image(tmp_path / name))))


def _foreground(pixels: np.ndarray) -> np.ndarray:
    """Pixels that differ from the white background."""
    return np.any(pixels < 235, axis=2)


def _n_colours(pixels: np.ndarray, min_share: float = 0.002) -> int:
    """Distinct colours (quantised to 8 levels per channel) covering at least min_share of the image."""
    quantised = (pixels // 32).reshape(-1, 3)
    counts = np.bincount(quantised[:, 0] * 64 + quantised[:, 1] * 8 + quantised[:, 2], minlength=512)
    return int(np.sum(counts >= min_share * len(quantised)))


def _reddish(p: np.ndarray) -> np.ndarray:
    return (p[..., 0] > p[..., 1] + 60) & (p[..., 0] > p[..., 2] + 60)


def _bluish(p: np.ndarray) -> np.ndarray:
    return (p[..., 2] > p[..., 0] + 80) & (p[..., 2] > p[..., 1] + 20)


def _green(p: np.ndarray) -> np.ndarray:
    return (p[..., 1] > p[..., 0] + 80) & (p[..., 1] > p[..., 2] + 80)


def _magenta(p: np.ndarray) -> np.ndarray:
    return (p[..., 0] > p[..., 1] + 80) & (p[..., 2] > p[..., 1] + 80)


def _with_insertion_codes(text: str) -> str:
    """1UBQ with residues 10, 11, 12 renumbered 9A, 9B, 9C (as in Kabat-numbered antibodies)."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("ATOM", "HETATM")) and line[21] == "A" and int(line[22:26]) in (10, 11, 12):
            code = "ABC"[int(line[22:26]) - 10]
            line = line[:22] + f"{9:4d}" + code + line[27:]
        lines.append(line)
    return "\n".join(lines) + "\n"


def _three_chains(text: str) -> str:
    """1UBQ's protein atoms three times, as chains A, B and C side by side."""
    protein = [line for line in text.splitlines() if line.startswith("ATOM")]
    lines = []
    for chain, (dx, dy) in zip("ABC", [(0.0, 0.0), (40.0, 0.0), (0.0, 40.0)]):
        for line in protein:
            x, y = float(line[30:38]) + dx, float(line[38:46]) + dy
            lines.append(line[:21] + chain + line[22:30] + f"{x:8.3f}{y:8.3f}" + line[46:])
        lines.append("TER")
    return "\n".join(lines + ["END"]) + "\n"


HOSTILE_NAME = "</script><script>window.pwned=1</script>'); window.pwned=1; ('`${window.pwned=1}`"


def _hostile(text: str) -> str:
    header = [
        "HEADER    </script><script>window.pwned=1</script>",
        "TITLE     '); window.pwned=1; ('  \"); window.pwned=1; (\"",
        "REMARK   1 `${window.pwned=1}` <img src=x onerror=\"window.pwned=1\">",
        "REMARK   2 \\\"); window.pwned=1; //  </textarea><svg onload=window.pwned=1>",
    ]
    return "\n".join(header) + "\n" + text


@pytest.fixture(scope="module")
def shared_viewer(qapp, dispose):
    """One viewer for the tests that each load their own structure (page start-up costs ~1 s)."""
    viewer = StructureViewer()
    viewer.resize(360, 300)  # small: software WebGL renders every pixel on the CPU
    viewer.show()
    deadline = 40
    while not viewer.is_ready and deadline:
        QTest.qWait(500)
        deadline -= 1
    assert viewer.is_ready, "viewer page did not become ready"
    yield viewer
    dispose(viewer)


@pytest.fixture()
def viewer(qtbot, shared_viewer):
    """The shared viewer, emptied (so nothing renders late), in chain colours without surface."""
    shared_viewer.clear()
    shared_viewer.set_color_mode("chain")
    shared_viewer.highlight([], center=False)
    shared_viewer.set_mutated([])
    shared_viewer.set_surface(False)
    return shared_viewer


def _load(qtbot, viewer: StructureViewer, text: str, name: str) -> None:
    with qtbot.waitSignal(viewer.drawn, timeout=TIMEOUT):
        viewer.load_structure(text, name)


def _after(qtbot, viewer: StructureViewer, action) -> None:
    with qtbot.waitSignal(viewer.drawn, timeout=TIMEOUT):
        action()


UBQ = (DATA / "1ubq.pdb").read_text()


# ---------------------------------------------------------------- colour helpers (no page)

def test_confidence_colours_follow_alphafold_bins():
    assert confidence_color(95.0) == "#0053D6"
    assert confidence_color(90.0) == "#65CBF3"
    assert confidence_color(70.5) == "#65CBF3"
    assert confidence_color(55.0) == "#FFDB13"
    assert confidence_color(12.0) == "#FF7D45"
    assert confidence_color(float("nan")) == MISSING_COLOR
    assert [bin_[1] for bin_ in CONFIDENCE_BINS] == ["#0053D6", "#65CBF3", "#FFDB13", "#FF7D45"]


def test_score_colours_diverge_around_zero():
    values = {ResidueId("A", 1): -2.0, ResidueId("A", 2): 0.0, ResidueId("A", 3): 1.0,
              ResidueId("A", 4, "B"): math.nan}
    colors, limit = score_colors(values)
    assert limit == 2.0
    rgb = {key: tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for key, c in colors.items()}
    red, white, blue = rgb["A:1"], rgb["A:2"], rgb["A:3"]
    assert red[0] > red[2] + 80  # negative: red
    assert min(white) > 230  # zero: white
    assert blue[2] > blue[0] + 30  # positive: blue, paler than the full-scale red
    assert colors["A:4B"] == MISSING_COLOR
    assert score_colors(values, limit=1.0)[0]["A:3"] != colors["A:3"]


def test_residue_keys_match_core_residue_ids():
    assert residue_key(ResidueId("A", 42, "B")) == str(ResidueId("A", 42, "B")) == "A:42B"
    assert residue_key(("B", 7, "")) == "B:7"


def test_confidence_read_from_predicted_b_factors():
    values, kind = confidence_from_pdb(predicted_pabp_text())
    assert len(values) == 75 and kind == "plddt"
    assert confidence_from_pdb(PABP.read_text())[1] == "bfactor"  # nothing says it is pLDDT
    assert all(0 <= v <= 100 for v in values.values())
    assert confidence_from_pdb((DATA / "1btl.pdb").read_text()) == ({}, None)  # all B-factors 0: nothing
    values, kind = confidence_from_pdb((DATA / "1ubq.pdb").read_text())  # X-ray: B-factors, not pLDDT
    assert kind == "bfactor" and len(values) == 76


def test_b_factors_get_their_own_scale_and_legend_and_an_empty_column_none(qtbot, viewer):
    ubq = load_structure(DATA / "1ubq.pdb")
    assert ubq.confidence_kind == "bfactor"
    _load(qtbot, viewer, ubq, "1ubq")
    _after(qtbot, viewer, lambda: viewer.set_color_mode("confidence"))
    legend = viewer.legend
    assert legend["title"] == "B-factor (\u00c5\u00b2)" and "items" not in legend  # no pLDDT bins
    values = [float(v) for v in ubq.chains[0].confidence]
    low, high = (float(x) for x in np.percentile(values, [5, 95]))
    assert legend["labels"] == [f"{low:.0f}", f"{(low + high) / 2:.0f}", f"{high:.0f}"]
    colors, _ = bfactor_colors({ResidueId("A", 1): low, ResidueId("A", 2): high, ResidueId("A", 3): float("nan")})
    assert colors["A:1"] != colors["A:2"] and colors["A:3"] == MISSING_COLOR
    blue, red = (int(colors[k][5:7], 16) - int(colors[k][1:3], 16) for k in ("A:1", "A:2"))
    assert blue > 0 > red  # low B blue, high B red
    _load(qtbot, viewer, load_structure(DATA / "1btl.pdb"), "1btl")  # every B-factor 0
    assert viewer.confidence_kind is None
    _after(qtbot, viewer, lambda: viewer.set_color_mode("confidence"))
    assert viewer.legend is None  # no legend for a colouring that is not drawn


# ---------------------------------------------------------------- rendering

def _cases():
    cases = [pytest.param(path.read_text(), path.name, 1, id=path.name) for path in PDB_FILES]
    cases.append(pytest.param(_three_chains(UBQ), "three-chains.pdb", 3, id="three-chains"))
    cases.append(pytest.param(_with_insertion_codes(UBQ), "insertion-codes.pdb", 1, id="insertion-codes"))
    return cases


@pytest.mark.parametrize(("text", "name", "n_chains"), _cases())
def test_each_structure_renders_real_pixels(qtbot, viewer, tmp_path, text, name, n_chains):
    _load(qtbot, viewer, text, name)
    status = _status(qtbot, viewer)
    assert status["name"] == name
    assert status["atoms"] > 400
    pixels = _pixels(viewer, tmp_path)
    assert 0.03 < _foreground(pixels).mean() < 0.9
    assert _n_colours(pixels) >= 4  # shaded cartoon, not a flat fill
    if n_chains == 3:  # coloured by chain: 3Dmol's palette gives A blue, B green, C pink
        for channel in range(3):
            others = [c for c in range(3) if c != channel]
            dominant = ((pixels[..., channel] > pixels[..., others[0]] + 20)
                        & (pixels[..., channel] > pixels[..., others[1]] + 20))
            assert dominant.mean() > 0.005, f"no chain drawn in colour channel {channel}"


def test_colour_modes_change_pixels(qtbot, viewer, tmp_path):
    _load(qtbot, viewer, UBQ, "1ubq")
    by_chain = _pixels(viewer, tmp_path, "chain.png")
    assert _reddish(by_chain).mean() < 0.001

    residues = [ResidueId("A", n) for n in range(1, 77)]
    _after(qtbot, viewer, lambda: viewer.set_color_mode("score", {r: -3.0 for r in residues}))
    by_score = _pixels(viewer, tmp_path, "score.png")
    assert _reddish(by_score).mean() > 0.5 * _foreground(by_score).mean()

    _after(qtbot, viewer, lambda: viewer.set_color_mode("confidence", {r: 95.0 for r in residues}))
    by_confidence = _pixels(viewer, tmp_path, "confidence.png")
    assert _bluish(by_confidence).mean() > 0.5 * _foreground(by_confidence).mean()
    assert _reddish(by_confidence).mean() < 0.001
    assert _status(qtbot, viewer)["coloring"] == "values"

    # Confidence from the file's B-factors: a predicted model, mostly very high (dark blue).
    _load(qtbot, viewer, predicted_pabp_text(), "pabp")
    _after(qtbot, viewer, lambda: viewer.set_color_mode("confidence"))
    predicted = _pixels(viewer, tmp_path, "plddt.png")
    assert _bluish(predicted).mean() > 0.3 * _foreground(predicted).mean()

    with pytest.raises(ValueError):
        viewer.set_color_mode("score")
    with pytest.raises(ValueError):
        viewer.set_color_mode("rainbow")


def test_a_loaded_structure_is_coloured_by_its_own_confidence(qtbot, viewer, tmp_path, monkeypatch):
    """A Structure brings its confidence along: colouring by it parses nothing again."""
    structure = load_structure(predicted_pabp(tmp_path))
    monkeypatch.setattr(structure_colours, "structure_from_text",
                        lambda *args, **kwargs: pytest.fail("the structure was parsed again"))
    _load(qtbot, viewer, structure, "pabp")
    _after(qtbot, viewer, lambda: viewer.set_color_mode("confidence"))
    assert _status(qtbot, viewer)["coloring"] == "values"
    predicted = _pixels(viewer, tmp_path, "plddt.png")
    assert _bluish(predicted).mean() > 0.3 * _foreground(predicted).mean()


def _widget_pixels(viewer: StructureViewer) -> np.ndarray:
    return _rgb(viewer.grab().toImage())


def test_widget_grab_right_after_drawn_shows_the_new_frame(qtbot, viewer):
    """`drawn` comes after the frame reached Qt, so window screenshots need no extra wait."""
    _load(qtbot, viewer, UBQ, "1ubq")
    residues = [ResidueId("A", n) for n in range(1, 77)]
    for _ in range(2):
        _after(qtbot, viewer, lambda: viewer.set_color_mode("score", {r: -3.0 for r in residues}))
        assert _reddish(_widget_pixels(viewer)).mean() > 0.02
        _after(qtbot, viewer, lambda: viewer.set_color_mode("chain"))
        assert _reddish(_widget_pixels(viewer)).mean() < 0.001


def test_legend_follows_the_colour_mode(qtbot, viewer):
    _load(qtbot, viewer, UBQ, "1ubq")
    legend = "(() => { const l = document.getElementById('legend'); return [l.hidden, l.textContent]; })()"
    assert _run_js(qtbot, viewer.page, legend)[0] is True
    _after(qtbot, viewer, lambda: viewer.set_color_mode("score", {("A", 1, ""): -2.0, ("A", 2, ""): 1.0}))
    hidden, text = _run_js(qtbot, viewer.page, legend)
    assert not hidden and text.startswith("Score") and "-2" in text and "0" in text
    _after(qtbot, viewer, lambda: viewer.set_color_mode("confidence", {("A", 1, ""): 80.0}))
    hidden, text = _run_js(qtbot, viewer.page, legend)
    assert not hidden and "Very high (> 90)" in text and "Very low (< 50)" in text


def test_highlight_shows_and_centres_residues(qtbot, viewer, tmp_path):
    _load(qtbot, viewer, UBQ, "1ubq")
    before = _pixels(viewer, tmp_path, "before.png")
    assert _green(before).sum() == 0

    _after(qtbot, viewer, lambda: viewer.highlight([ResidueId("A", 48)], center=True))
    after = _pixels(viewer, tmp_path, "after.png")
    green = _green(after)
    assert green.sum() > 50  # Lys48 as sticks with green carbons
    rows, cols = np.nonzero(green)
    height, width = green.shape
    assert abs(rows.mean() / height - 0.5) < 0.2 and abs(cols.mean() / width - 0.5) < 0.2
    assert _status(qtbot, viewer)["selected"] == [["A", 48, ""]]

    _after(qtbot, viewer, lambda: viewer.set_mutated([("A", 49, "")]))
    assert _magenta(_pixels(viewer, tmp_path, "mutated.png")).sum() > 20

    _after(qtbot, viewer, lambda: viewer.highlight([], center=False))
    assert _status(qtbot, viewer)["selected"] == []


def test_surface_covers_more_of_the_view(qtbot, viewer, tmp_path):
    _load(qtbot, viewer, UBQ, "1ubq")
    plain = _foreground(_pixels(viewer, tmp_path, "plain.png")).mean()
    _after(qtbot, viewer, lambda: viewer.set_surface(True))
    assert _foreground(_pixels(viewer, tmp_path, "surface.png")).mean() > plain * 1.3
    assert _status(qtbot, viewer)["surface"] is True


def test_text_without_atoms_reports_a_failure(qtbot, viewer):
    with qtbot.waitSignal(viewer.failed, timeout=TIMEOUT) as blocker:
        viewer.load_structure("HEADER    NOT A STRUCTURE\nREMARK   1 nothing here\n", "empty.pdb")
    assert blocker.args == ["no atoms could be read from empty.pdb"]
    assert _status(qtbot, viewer)["atoms"] == 0
    assert "No atoms could be read from empty.pdb" in _run_js(
        qtbot, viewer.page, "document.getElementById('message').textContent")


def test_clear_removes_the_structure(qtbot, viewer, tmp_path):
    _load(qtbot, viewer, UBQ, "1ubq")
    viewer.clear()
    qtbot.waitUntil(lambda: _status(qtbot, viewer)["atoms"] == 0, timeout=TIMEOUT)
    assert _foreground(_pixels(viewer, tmp_path)).mean() < 0.001
    assert viewer.structure_name == ""


# ---------------------------------------------------------------- clicks

def test_simulated_click_emits_the_residue(qtbot, viewer):
    _load(qtbot, viewer, UBQ, "1ubq")
    with qtbot.waitSignal(viewer.residueClicked, timeout=TIMEOUT) as blocker:
        assert _run_js(qtbot, viewer.page, "window.studio.simulateClick('A', 48, '')") == "A:48"
    assert blocker.args == ["A", 48, ""]
    assert _status(qtbot, viewer)["selected"] == [["A", 48, ""]]
    assert _run_js(qtbot, viewer.page, "window.studio.simulateClick('A', 999, '')") == ""


def test_click_keeps_insertion_codes(qtbot, viewer):
    _load(qtbot, viewer, _with_insertion_codes(UBQ), "insertions")
    with qtbot.waitSignal(viewer.residueClicked, timeout=TIMEOUT) as blocker:
        assert _run_js(qtbot, viewer.page, "window.studio.simulateClick('A', 9, 'B')") == "A:9B"
    assert blocker.args == ["A", 9, "B"]
    with qtbot.waitSignal(viewer.residueClicked, timeout=TIMEOUT) as blocker:
        _run_js(qtbot, viewer.page, "window.studio.simulateClick('A', 9, '')")
    assert blocker.args == ["A", 9, ""]


def test_mouse_click_on_the_molecule_selects_a_residue(qtbot, viewer):
    _load(qtbot, viewer, UBQ, "1ubq")
    _after(qtbot, viewer, lambda: viewer.highlight([ResidueId("A", 48)], center=True))
    view = viewer.findChild(QWebEngineView)
    surface = view.focusProxy() or view
    centre = QPoint(surface.width() // 2, surface.height() // 2)
    clicked = []
    viewer.residueClicked.connect(lambda *args: clicked.append(args))
    for dx, dy in [(0, 0), (4, 0), (-4, 0), (0, 4), (0, -4), (8, 8), (-8, -8)]:
        QTest.mouseClick(surface, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         centre + QPoint(dx, dy))
        QTest.qWait(400)
        if clicked:
            break
    assert clicked, "no residue was picked under the mouse"
    chain, number, insertion = clicked[0]
    assert chain == "A" and 1 <= number <= 76 and insertion == ""


# ---------------------------------------------------------------- safety

def test_dropped_files_fall_through_to_the_window(viewer):
    """No widget inside the viewer accepts drops, so a dropped file reaches the main window."""
    view = viewer.findChild(QWebEngineView)
    widgets = [view, *view.findChildren(QWidget)]
    assert len(widgets) > 1  # the page's input widget exists
    assert not any(widget.acceptDrops() for widget in widgets)


def test_hostile_file_runs_no_script(qtbot, viewer):
    _load(qtbot, viewer, _hostile(UBQ), HOSTILE_NAME)
    status = _status(qtbot, viewer)
    assert status["atoms"] > 400
    assert status["name"] == HOSTILE_NAME
    QTest.qWait(200)
    assert _run_js(qtbot, viewer.page, "typeof window.pwned") == "undefined"
    # the name is shown as text, not parsed as markup
    assert _run_js(qtbot, viewer.page, "document.getElementById('title').textContent") == HOSTILE_NAME
    assert _run_js(qtbot, viewer.page, "document.scripts.length") == 3


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server():
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()
    server.server_close()


def test_viewer_page_cannot_reach_the_network(qtbot, viewer, http_server):
    base, hits = http_server
    script = f"""(() => {{
        fetch({base!r} + '/fetch').catch(() => null);
        const img = document.createElement('img'); img.src = {base!r} + '/img.png';
        document.body.appendChild(img);
        const s = document.createElement('script'); s.src = {base!r} + '/evil.js';
        document.head.appendChild(s);
        window.location.href = {base!r} + '/navigate';
        return 'sent';
    }})()"""
    assert _run_js(qtbot, viewer.page, script) == "sent"
    QTest.qWait(1500)
    assert hits == []
    assert viewer.page.url().isLocalFile()


def _page_with(qtbot, html: str, interceptor: LocalOnlyInterceptor | None) -> QWebEnginePage:
    page = QWebEnginePage()
    if interceptor is not None:
        page.setUrlRequestInterceptor(interceptor)
    with qtbot.waitSignal(page.loadFinished, timeout=TIMEOUT) as blocker:
        page.setHtml(html)  # a data: page, which the interceptor lets through
    assert blocker.args == [True]
    return page


def test_interceptor_blocks_remote_urls(qtbot, http_server):
    base, hits = http_server
    html = f'<img src="{base}/blocked.png">'

    control = _page_with(qtbot, html, None)  # without the interceptor the request gets out ...
    qtbot.waitUntil(lambda: "/blocked.png" in hits, timeout=TIMEOUT)
    hits.clear()

    interceptor = LocalOnlyInterceptor()
    guarded = _page_with(qtbot, html, interceptor)  # ... with it, it does not
    QTest.qWait(800)
    assert hits == []
    assert interceptor.blocked == [f"{base}/blocked.png"]
    for page in (control, guarded):
        page.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# ---------------------------------------------------------------- life cycle

def test_calls_before_ready_are_queued_and_replayed(qtbot, tmp_path, dispose):
    viewer = StructureViewer()
    viewer.resize(400, 300)
    viewer.show()
    try:
        assert not viewer.is_ready
        viewer.load_structure(UBQ, "1ubq")
        viewer.set_color_mode("score", {ResidueId("A", n): -1.0 for n in range(1, 77)})
        viewer.highlight([ResidueId("A", 48)], center=False)
        assert viewer.bridge.pending == ["loadStructure", "setColors", "setSelected"]
        with qtbot.waitSignal(viewer.ready, timeout=TIMEOUT):
            pass
        qtbot.waitUntil(lambda: _status(qtbot, viewer)["selected"] == [["A", 48, ""]], timeout=TIMEOUT)
        status = _status(qtbot, viewer)
        assert status["atoms"] > 400 and status["coloring"] == "values"
        assert viewer.bridge.pending == []
        QTest.qWait(300)
        pixels = _pixels(viewer, tmp_path)
        assert _reddish(pixels).mean() > 0.02
    finally:
        dispose(viewer)


def test_missing_3dmol_shows_a_message(qtbot, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    for name in ("viewer.html", "viewer.js", "viewer.css"):
        shutil.copy(WEB_DIR / name, web / name)
    viewer = StructureViewer(web_dir=web)
    qtbot.addWidget(viewer)
    viewer.resize(400, 300)
    viewer.show()
    assert not viewer.available
    assert viewer.message.startswith("3Dmol.js not found: run make")
    viewer.load_structure(UBQ, "1ubq")  # accepted and kept, nothing breaks
    pixels = _pixels(viewer, tmp_path)
    assert 0.001 < _foreground(pixels).mean() < 0.5  # the message is drawn


def test_view_comes_back_after_the_renderer_dies(qtbot, tmp_path, dispose):
    viewer = StructureViewer()
    viewer.resize(360, 300)
    viewer.show()
    try:
        with qtbot.waitSignal(viewer.drawn, timeout=TIMEOUT):
            viewer.load_structure(UBQ, "1ubq")
        with qtbot.waitSignal(viewer.drawn, timeout=TIMEOUT):
            viewer.highlight([ResidueId("A", 48)], center=False)
        viewer.set_mutated([ResidueId("A", 49)])
        with qtbot.waitSignals([viewer.ready, viewer.drawn], timeout=TIMEOUT, order="strict"):
            os.kill(viewer.page.renderProcessPid(), signal.SIGKILL)
        status = _status(qtbot, viewer)
        assert status["name"] == "1ubq" and status["atoms"] > 400
        assert status["selected"] == [["A", 48, ""]] and status["mutated"] == [["A", 49, ""]]
        assert _foreground(_pixels(viewer, tmp_path)).mean() > 0.03
    finally:
        dispose(viewer)


def _orange(p: np.ndarray) -> np.ndarray:
    return (p[..., 0] > p[..., 2] + 80) & (p[..., 1] > p[..., 2] + 20) & (p[..., 0] > p[..., 1] + 30)


def test_overlay_superposes_a_second_structure_in_its_own_colour(qtbot, viewer, tmp_path):
    _load(qtbot, viewer, UBQ, "1ubq")
    shifted = "\n".join(line[:30] + f"{float(line[30:38]) + 1.5:8.3f}" + line[38:]
                        if line.startswith("ATOM") else line for line in UBQ.splitlines()) + "\n"
    _after(qtbot, viewer, lambda: viewer.set_overlay(shifted, "moved copy"))
    status = _status(qtbot, viewer)
    assert status["overlay"] == "moved copy" and status["overlayAtoms"] == status["atoms"]
    assert status["coloring"] == "overlay" and viewer.overlay_name == "moved copy"
    pixels = _pixels(viewer, tmp_path, "overlay.png")
    assert _orange(pixels).mean() > 0.01 and _bluish(pixels).mean() > 0.01
    legend = _run_js(qtbot, viewer.page, "document.getElementById('legend').textContent")
    assert "1ubq" in legend and "moved copy" in legend

    # a colour mode recolours the first structure and keeps the overlay
    _after(qtbot, viewer, lambda: viewer.set_color_mode("chain"))
    status = _status(qtbot, viewer)
    assert status["coloring"] == "chain" and status["overlayAtoms"] > 0
    assert _orange(_pixels(viewer, tmp_path, "overlay2.png")).mean() > 0.01
    # coloured by confidence, the legend names both what the first structure's colours mean and the overlay's
    # colour (it showed the B-factor scale alone while the copy was drawn in orange)
    _after(qtbot, viewer, lambda: viewer.set_color_mode("confidence"))
    legend = viewer.legend
    assert legend["title"] == "B-factor (\u00c5\u00b2)" and legend["items"][-1][1] == "moved copy"
    shown = _run_js(qtbot, viewer.page, "document.getElementById('legend').textContent")
    assert "B-factor" in shown and "moved copy" in shown
    _after(qtbot, viewer, lambda: viewer.set_color_mode("chain"))

    _after(qtbot, viewer, viewer.clear_overlay)
    assert _status(qtbot, viewer)["overlayAtoms"] == 0 and viewer.overlay_name == ""
    assert _orange(_pixels(viewer, tmp_path, "plain.png")).mean() < 0.001

    # loading another structure drops the overlay
    _after(qtbot, viewer, lambda: viewer.set_overlay(shifted, "moved copy"))
    _load(qtbot, viewer, UBQ, "1ubq again")
    assert _status(qtbot, viewer)["overlayAtoms"] == 0 and viewer.overlay_name == ""


def test_the_viewer_page_has_no_webrtc(qtbot, viewer):
    """A script in the page finds no peer-connection API (a STUN packet once left it): the interfaces are gone
    before the page's scripts run, also in frames it makes and reaches, and Chromium may send no UDP
    outside a proxy."""
    from protein_studio.gui.application import prepare_environment
    from protein_studio.gui.panels.web_bridge import WEBRTC_INTERFACES

    _load(qtbot, viewer, UBQ, "1ubq")
    names = ", ".join(f'typeof window["{name}"]' for name in WEBRTC_INTERFACES)
    assert _run_js(qtbot, viewer.page, f"[{names}]") == ["undefined"] * len(WEBRTC_INTERFACES)
    assert _run_js(qtbot, viewer.page, "typeof navigator.mediaDevices") == "undefined"
    assert _run_js(qtbot, viewer.page, "(() => { window.RTCPeerConnection = function () {}; "
                                       "return typeof window.RTCPeerConnection; })()") == "undefined"  # cannot come back
    frame = _run_js(qtbot, viewer.page, "(() => { const f = document.createElement('iframe'); "
                                        "document.body.appendChild(f); const t = [typeof f.contentWindow.RTCPeerConnection,"
                                        " typeof f.contentDocument.defaultView.RTCDataChannel]; f.remove(); return t; })()")
    assert frame == ["undefined", "undefined"]
    prepare_environment(headless=True)
    import os

    assert "--force-webrtc-ip-handling-policy=disable_non_proxied_udp" in os.environ["QTWEBENGINE_CHROMIUM_FLAGS"]


def _two_letter_chain_cif(tmp_path) -> Path:
    """1UBQ as mmCIF with a two-character chain ID, which the PDB format cannot hold."""
    import biotite.structure.io.pdb as pdb
    import biotite.structure.io.pdbx as pdbx

    atoms = pdb.PDBFile.read(str(DATA / "1ubq.pdb")).get_structure(model=1, extra_fields=["b_factor"])
    atoms.chain_id[:] = "AB"
    cif = pdbx.CIFFile()
    pdbx.set_structure(cif, atoms)
    path = tmp_path / "two_letters.cif"
    cif.write(str(path))
    return path


def test_structures_pdb_cannot_hold_are_drawn_from_mmcif(qtbot, viewer, tmp_path):
    """What the command line reads, the 3D view shows: a two-character chain goes to the page as mmCIF, and
    residues keep their keys (selection and colours reach them)."""
    structure = load_structure(_two_letter_chain_cif(tmp_path))
    assert structure.chain_ids == ["AB"]
    from protein_studio.core.molecules.structures import viewer_text

    assert viewer_text(structure)[1] == "cif" and viewer_text(load_structure(DATA / "1ubq.pdb"))[1] == "pdb"
    _load(qtbot, viewer, structure, "two_letters")
    status = _status(qtbot, viewer)
    assert status["atoms"] == structure.atoms.array_length()
    # the page's atoms carry chain "AB": colouring every residue by key turns the cartoon red
    residues = [ResidueId("AB", n) for n in range(1, 77)]
    _after(qtbot, viewer, lambda: viewer.set_color_mode("score", {r: -3.0 for r in residues}))
    assert _reddish(_pixels(viewer, tmp_path, "cif.png")).mean() > 0.02
