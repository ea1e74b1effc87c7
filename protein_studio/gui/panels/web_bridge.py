"""Python side of the structure viewer page: the QWebChannel bridge and the local-only request filter.

The viewer page (``resources/web/viewer.html``) and Python exchange data only through a
:class:`ViewerBridge` registered on a :class:`~PySide6.QtWebChannel.QWebChannel` as ``bridge``:

* Python -> page: the :attr:`ViewerBridge.command` signal carries a command name and its arguments as
  one JSON string. The page parses the JSON and calls its handler, so structure text, names and
  residue lists are always data, never script source.
* page -> Python: the page calls the slots :meth:`~ViewerBridge.pageReady`,
  :meth:`~ViewerBridge.atomClicked`, :meth:`~ViewerBridge.renderDone` and
  :meth:`~ViewerBridge.reportFailure`, which emit the Qt signals ``ready``, ``residueClicked``,
  ``rendered`` and ``failed``.

Commands issued before the page has connected are queued and replayed in order once it is ready
(the pattern of Orange3's web view bridge).

:class:`LocalOnlyInterceptor` blocks every request whose scheme is not ``file``, ``qrc`` or ``data``,
so the page can never reach the network, whatever a structure file contains.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtWebEngineCore import (QWebEnginePage, QWebEngineScript, QWebEngineUrlRequestInfo,
                                    QWebEngineUrlRequestInterceptor)

__all__ = ["ALLOWED_SCHEMES", "LocalOnlyInterceptor", "ViewerBridge", "LocalPage", "WEBRTC_INTERFACES", "no_webrtc_script"]

#: URL schemes the viewer page may load: its own files, Qt's resources and inline data.
ALLOWED_SCHEMES = frozenset({"file", "qrc", "data"})


class LocalOnlyInterceptor(QWebEngineUrlRequestInterceptor):
    """Block every request that would leave the machine.

    Parameters
    ----------
    parent : QObject, optional
        Qt parent.

    Attributes
    ----------
    blocked : list of str
        URLs refused so far, oldest first (for diagnostics and tests).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blocked: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 (Qt override)
        """Let local requests through and block the rest."""
        url = info.requestUrl()
        if url.scheme().lower() not in ALLOWED_SCHEMES:
            info.block(True)
            self.blocked.append(url.toString())


class ViewerBridge(QObject):
    """The object the viewer page sees as ``channel.objects.bridge``.

    Signals
    -------
    command(str, str)
        Python -> page: command name and JSON-encoded argument list.
    ready(dict)
        The page connected; the dict is what it reported (``{"has3Dmol": bool}``).
    residueClicked(str, int, str)
        An atom was clicked: chain, residue number, insertion code (``""`` when none).
    rendered()
        The page finished a render that shows a structure.
    failed(str)
        The page could not carry out a command (e.g. no atoms could be read).
    """

    command = Signal(str, str)
    ready = Signal(dict)
    residueClicked = Signal(str, int, str)  # noqa: N815 (Qt signal naming)
    rendered = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._connected = False
        self._pending: list[tuple[str, str]] = []

    @property
    def connected(self) -> bool:
        """True once the page has connected and commands go straight through."""
        return self._connected

    @property
    def pending(self) -> list[str]:
        """Names of the commands waiting for the page, oldest first."""
        return [name for name, _ in self._pending]

    def call(self, name: str, *args: Any) -> None:
        """Run page command ``name`` with ``args`` (JSON-serialisable), now or once the page is ready.

        Parameters
        ----------
        name : str
            A command of ``viewer.js``'s ``COMMANDS`` table.
        *args
            Its arguments; they are JSON-encoded, never turned into script text.
        """
        payload = json.dumps(list(args), allow_nan=False)
        if self._connected:
            self.command.emit(name, payload)
        else:
            self._pending.append((name, payload))

    def reset(self) -> None:
        """Forget the connection and the queue (the page is being reloaded); later calls queue again."""
        self._connected = False
        self._pending = []

    @Slot(str)
    def pageReady(self, info: str) -> None:  # noqa: N802 (called from JavaScript)
        """Called by the page once its channel is up: replay queued commands, then report ready."""
        self._connected = True
        pending, self._pending = self._pending, []
        for name, payload in pending:
            self.command.emit(name, payload)
        try:
            details = json.loads(info)
        except ValueError:
            details = {}
        self.ready.emit(details if isinstance(details, dict) else {})

    @Slot(str, int, str)
    def atomClicked(self, chain: str, number: int, insertion: str) -> None:  # noqa: N802
        """Called by the page when an atom is clicked (really or through ``studio.simulateClick``)."""
        self.residueClicked.emit(chain, int(number), insertion)

    @Slot()
    def renderDone(self) -> None:  # noqa: N802 (called from JavaScript)
        """Called by the page after ``viewer.render()`` finished with a structure shown."""
        self.rendered.emit()

    @Slot(str)
    def reportFailure(self, message: str) -> None:  # noqa: N802 (called from JavaScript)
        """Called by the page when a command failed."""
        self.failed.emit(message)


#: Removed from the viewer page before any of its scripts runs, and from frames reached through an iframe's
#: contentWindow/contentDocument: a script smuggled into the page finds no peer-connection API (a STUN packet
#: once left the page despite the request filter). The Chromium flag set by ``prepare_environment``
#: (``--force-webrtc-ip-handling-policy=disable_non_proxied_udp``) stops WebRTC UDP whatever a script does.
WEBRTC_INTERFACES = ("RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "RTCSessionDescription",
                     "RTCIceCandidate", "RTCRtpSender", "RTCRtpReceiver")


def no_webrtc_script() -> QWebEngineScript:
    names = ", ".join(f'"{name}"' for name in WEBRTC_INTERFACES)
    script = QWebEngineScript()
    script.setName("protein-studio-no-webrtc")
    script.setSourceCode(
        "(function () {"
        "  function scrub(w) {"
        "    if (!w || w.__noWebRTC) return;"
        f"    for (const name of [{names}]) {{"
        "      try { Object.defineProperty(w, name, {value: undefined, writable: false, configurable: false}); }"
        "      catch (e) {}"
        "    }"
        "    try { Object.defineProperty(w.navigator, 'mediaDevices', {value: undefined, configurable: false}); }"
        "    catch (e) {}"
        "    try { Object.defineProperty(w, '__noWebRTC', {value: true}); } catch (e) {}"
        "  }"
        "  scrub(window);"
        # frames a script makes (about:blank) get no injected script: scrub them when they are reached
        "  const frame = HTMLIFrameElement.prototype;"
        "  for (const key of ['contentWindow', 'contentDocument']) {"
        "    const original = Object.getOwnPropertyDescriptor(frame, key);"
        "    if (!original || !original.get) continue;"
        "    Object.defineProperty(frame, key, {configurable: false, get() {"
        "      const value = original.get.call(this);"
        "      try { scrub(key === 'contentWindow' ? value : value && value.defaultView); } catch (e) {}"
        "      return value; }});"
        "  }"
        "})();")
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(True)
    return script


class LocalPage(QWebEnginePage):
    """Page that stays on the viewer page (links and scripts navigate nowhere) and keeps its console.

    Attributes
    ----------
    console : list of (int, str, int, str)
        JavaScript console messages: level, text, line, source (for diagnostics and tests).
    """

    def __init__(self, home: QUrl, parent=None) -> None:
        super().__init__(parent)
        self._home = home
        self.console: list[tuple[int, str, int, str]] = []

    def acceptNavigationRequest(self, url: QUrl, navigation_type, is_main_frame: bool) -> bool:  # noqa: N802
        return (not is_main_frame) or (url.isLocalFile() and url.toLocalFile() == self._home.toLocalFile())

    def javaScriptConsoleMessage(self, level, message: str, line: int, source: str) -> None:  # noqa: N802
        self.console.append((int(level.value), message, line, source))
