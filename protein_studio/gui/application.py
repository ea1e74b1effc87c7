"""Starting the window: Qt environment, the QApplication, and the ``--screenshot`` mode.

``run_application(args)`` is called by :func:`protein_studio.app.main` with the parsed window arguments
(``files``, ``screenshot``, ``scan``, ``debug``). Without a display it uses Qt's offscreen platform by
itself; Chromium's flags for QtWebEngine are set before the QApplication exists.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

__all__ = ["run_application", "prepare_environment", "Screenshotter"]

DRAW_TIMEOUT_S = 120  # the structure must be drawn within this; a scan may take as long as it needs


def prepare_environment(headless: bool | None = None) -> None:
    """Set the Qt variables that must exist before the QApplication: platform and Chromium flags.

    Parameters
    ----------
    headless : bool, optional
        Force the offscreen platform; by default used when no X11/Wayland display is set.
    """
    if headless is None:
        headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and \
            sys.platform not in ("win32", "darwin")
    if headless and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
    # WebRTC may send no UDP outside a proxy (there is none): no STUN packets leave the viewer page
    wanted = ["--ignore-gpu-blocklist", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        wanted.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
    for flag in wanted:
        if flag not in flags:
            flags.append(flag)
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(flags)
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("xcb"):
        os.environ.setdefault("QTWEBENGINE_FORCE_USE_GBM", "0")


def _application():
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.AA_ShareOpenGLContexts)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Protein Studio")
        app.setOrganizationName("Protein Studio")
        from protein_studio import __version__

        app.setApplicationVersion(__version__)
    return app


class Screenshotter:
    """Waits for the window to be complete (scan finished, structure drawn), then saves its image.

    Parameters
    ----------
    window : MainWindow
    path : str or Path
        Where the PNG goes.
    scan_model : str, optional
        Run a full scan with this model first.
    """

    def __init__(self, window, path, scan_model: str | None = None, timeout_s: float = DRAW_TIMEOUT_S):
        from PySide6.QtCore import QTimer

        self.window = window
        self.path = Path(path)
        self.scan_model = scan_model
        self.scan_done = scan_model is None
        self.scan_ok = scan_model is None
        self.drawn = window.session.document is None or window.session.document.structure is None \
            or not window.viewer.available
        self.exit_code: int | None = None
        self.problems: list[str] = []
        window.viewer.drawn.connect(self._on_drawn)
        window.viewer.failed.connect(lambda text: self.problems.append(f"3D view: {text}"))
        window.scanFinished.connect(self._on_scan)
        window.jobFailed.connect(lambda text: self.problems.append(text))
        window.worker.progress.connect(self._on_progress)
        self._reported = -1
        self._timeout = QTimer(window, singleShot=True, interval=int(timeout_s * 1000), timeout=self._on_timeout)

    def start(self) -> None:
        self._timeout.start()
        # the picture shows the window at the size it opens with on a desktop, whatever the (offscreen) screen
        self.window.resize(self.window.sizeHint())
        if self.scan_model:
            self.window.models.model_name = self.scan_model  # shown in the status bar; not saved as the default
            if self.window.scans.start_scan(self.scan_model) is None:
                self.scan_done = True
                self.problems.append(self.window.last_error[1] if self.window.last_error else "scan not started")
        self._check()

    def _on_progress(self, _job_id: int, done: float, total: float, text: str, eta: float) -> None:
        """One line on stderr per tenth of the scan, so a long headless run shows it is alive."""
        from protein_studio.gui.worker import format_eta

        if total <= 0:
            return
        tenth = int(10 * done / total)
        if tenth > self._reported:
            self._reported = tenth
            print(f"protein-studio: {text or 'scan'} {100 * done / total:.0f}% {format_eta(eta)}".rstrip(),
                  file=sys.stderr, flush=True)

    def _on_drawn(self) -> None:
        self.drawn = True
        self._check()

    def _on_scan(self, complete: bool) -> None:
        self.scan_done = True
        self.scan_ok = complete
        if not complete:
            self.problems.append("the scan did not cover every position")
        elif self.window.viewer.available and self.window.session.document.structure is not None:
            # show the scan on the structure too, and wait for that render
            self.drawn = False
            self.window.view.set_color_mode("score")
        self._check()

    def _on_timeout(self) -> None:
        if not self.scan_done:  # a scan takes as long as it takes; the timer covers the drawing
            self._timeout.start()
            return
        if not self.drawn:
            self.problems.append(f"the structure was not drawn within {self._timeout.interval() // 1000} s")
        self._save()

    def _check(self) -> None:
        from PySide6.QtCore import QTimer

        if self.scan_done and self.drawn and self.exit_code is None:
            # one more turn of the event loop (and the page's next frame) before grabbing
            QTimer.singleShot(500, self._save)

    def _save(self) -> None:
        if self.exit_code is not None:
            return
        self._timeout.stop()
        from protein_studio.core.errors import UserError
        from protein_studio.gui.images import save_image

        image = grab_window(self.window)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            save_image(image, self.path)
        except (OSError, UserError) as exc:
            self.problems.append(f"could not write {self.path}: {exc}")
        self.exit_code = 0 if not self.problems else 1
        from PySide6.QtWidgets import QApplication

        QApplication.instance().exit(self.exit_code)


def grab_window(window, image=None):
    """The window as an image; the 3D canvas is painted in only where the widget grab left it blank.

    On the offscreen platform QWidget.grab normally includes the QWebEngineView's content (with the
    page's HTML overlays such as the legend); where a platform returns a blank area instead, the
    viewer's own canvas image is composited over it.

    Parameters
    ----------
    window : MainWindow
    image : QImage, optional
        A grab already taken (default: ``window.grab()``).
    """
    from PySide6.QtCore import QPoint, QRect, Qt
    from PySide6.QtGui import QPainter

    image = window.grab().toImage() if image is None else image.copy()
    viewer = window.viewer
    if not viewer.isVisible() or not viewer.available or not viewer.is_ready:
        return image
    origin = viewer.mapTo(window, QPoint(0, 0))
    ratio = image.devicePixelRatio()
    target = QRect(origin, viewer.size())
    area = image.copy(QRect(int(origin.x() * ratio), int(origin.y() * ratio), int(viewer.width() * ratio),
                            int(viewer.height() * ratio)))
    if not _is_blank(area):
        return image
    canvas = viewer.canvas_image()
    if canvas is None or canvas.isNull():
        return image
    painter = QPainter(image)
    painter.drawImage(target, canvas.scaled(viewer.size(), Qt.IgnoreAspectRatio, Qt.SmoothTransformation))
    painter.end()
    return image


def _is_blank(image) -> bool:
    """True when (a sample of) the image is one flat colour."""
    from PySide6.QtGui import QImage

    small = image.scaled(64, 64).convertToFormat(QImage.Format.Format_RGB32)
    colours = {small.pixel(x, y) for x in range(0, 64, 2) for y in range(0, 64, 2)}
    return len(colours) <= 2


def run_application(args) -> int:
    """Open the window (or take a screenshot of it and exit); returns the exit status."""
    screenshot = getattr(args, "screenshot", None)
    prepare_environment(headless=None)
    app = _application()
    from protein_studio.gui.main_window import MainWindow

    files = [Path(f) for f in (getattr(args, "files", None) or [])]
    try:
        window = MainWindow(files=files, open_demo=not files)
    except Exception:  # noqa: BLE001
        if getattr(args, "debug", False):
            raise
        print("protein-studio: the window could not start:\n" + traceback.format_exc(limit=3), file=sys.stderr)
        return 1
    if files and window.session.document is None:
        message = window.last_error[1] if window.last_error else "cannot open the files"
        print(f"protein-studio: {message}", file=sys.stderr)
        if screenshot:
            window.close()
            return 1
    numbering = list(getattr(args, "numbering", None) or [])
    if numbering and window.session.document is not None:
        if not window.numbering.set_numbering(numbering[0], numbering[1] if len(numbering) > 1 else None):
            message = window.last_error[1] if window.last_error else "cannot use that numbering"
            print(f"protein-studio: {message}", file=sys.stderr)
            if screenshot:
                window.close()
                return 1
    if screenshot:
        window.auto_warm_up = False  # a screenshot shows the window as opened, with no housekeeping job
    window.show()
    if not screenshot:
        window.confirm_close = True  # a person is at the window: ask before losing unsaved edits
        try:  # an earlier run that did not close normally left autosaved work
            window.projects.offer_recovery()
        except Exception as exc:  # noqa: BLE001 - nothing in an autosave may stop the window from starting
            window.activity.add_entry(f"Could not look for autosaved work: {type(exc).__name__}: {exc}", error=True)
        return app.exec()

    shooter = Screenshotter(window, screenshot, getattr(args, "scan", None))
    shooter.start()
    code = app.exec()
    for problem in shooter.problems:
        print(f"protein-studio: {problem}", file=sys.stderr)
    if shooter.exit_code == 0:
        print(f"protein-studio: window image saved to {shooter.path}", file=sys.stderr)
    window.close()
    return shooter.exit_code if shooter.exit_code is not None else code
