"""How responsive the window stays while work runs: a 10 ms timer's gaps on the GUI thread during a scan
(TEM-1, 263 residues, random-weight ESM-2 8M, masked marginals: chunks stream in and autosave writes the
project meanwhile), against the same window idle in the same run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_latency_bench.py [--seconds 2]

Prints one JSON line per condition (median, 99th percentile and longest gap in ms) and one with the ratios
of the busy window's to the idle window's. A gap is how late the event loop came back to a 10 ms timer: the
window cannot answer a click sooner than that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _gaps(app, seconds: float) -> list[float]:
    from PySide6.QtCore import QTimer

    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    probe = QTimer(interval=10, timeout=tick)
    probe.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    probe.stop()
    return gaps


def _summary(gaps: list[float]) -> dict:
    import numpy as np

    ms = np.asarray(gaps) * 1000
    return {"ticks": len(gaps), "median_ms": round(float(np.median(ms)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "max_ms": round(float(ms.max()), 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each measurement")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    os.environ.setdefault("PROTEIN_STUDIO_RANDOM_MODELS", "1")
    os.environ.setdefault("PROTEIN_STUDIO_CONFIG_DIR", str(Path("/tmp") / f"gui-latency-bench-{os.getpid()}"))
    sys.path.insert(0, str(REPO))
    from protein_studio.gui.application import _application

    app = _application()
    from protein_studio.gui.main_window import MainWindow

    window = MainWindow(files=[REPO / "tests" / "data" / "1btl.pdb"])
    window.auto_warm_up = False
    window.show()
    idle = _summary(_gaps(app, args.seconds))
    print(json.dumps({"bench": "gui_latency", "condition": "idle window", **idle}), flush=True)
    window.scans.start_scan("random-esm2-8M")
    while window.session.scan is None or window.session.scan.positions_done < 1:  # the model is loaded
        app.processEvents()
        time.sleep(0.005)
    busy = _summary(_gaps(app, args.seconds))
    streamed = window.session.scan.positions_done
    window.jobs.cancel_jobs()
    print(json.dumps({"bench": "gui_latency", "condition": "scan streaming, autosave on",
                      "positions_done": streamed, **busy}), flush=True)
    print(json.dumps({"bench": "gui_latency", "ratio": "scan / idle",
                      **{key: round(busy[key] / max(idle[key], 0.1), 2) for key in ("median_ms", "p99_ms", "max_ms")}}),
          flush=True)
    window.projects.close()
    os._exit(0)  # the web engine's teardown is not what is measured


if __name__ == "__main__":
    raise SystemExit(main())
