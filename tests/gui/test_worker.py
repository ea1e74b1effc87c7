"""The worker thread, tested with plain Python job functions and a fake model loader."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from protein_studio.core.errors import InputError, JobCancelled
from protein_studio.gui.worker import Job, Worker, format_eta

TIMEOUT = 10000


@pytest.fixture
def worker(qapp):
    loads = []

    def loader(name, device):
        loads.append((name, device))
        return {"name": name, "device": device}

    w = Worker(loader=loader)
    w.loads = loads
    events = {"started": [], "progress": [], "partial": [], "finished": [], "failed": [], "cancelled": [],
              "model": []}
    w.jobStarted.connect(lambda i, t: events["started"].append((i, t)))
    w.progress.connect(lambda i, d, n, text, eta: events["progress"].append((i, d, n, text, eta)))
    w.partial.connect(lambda i, p: events["partial"].append((i, p)))
    w.jobFinished.connect(lambda i, r: events["finished"].append((i, r)))
    w.jobFailed.connect(lambda i, m, d: events["failed"].append((i, m, d)))
    w.jobCancelled.connect(lambda i: events["cancelled"].append(i))
    w.modelChanged.connect(lambda name: events["model"].append(name))
    w.events = events
    yield w
    w.shutdown()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_job_runs_off_the_gui_thread_with_progress_partials_and_result(qtbot, worker):
    gui_thread = threading.get_ident()
    seen = {}

    def run(ctx, loaded):
        seen["thread"] = threading.get_ident()
        for i in range(5):
            ctx.partial([i])
            time.sleep(0.06)
            ctx.progress(i + 1, 5, f"step {i + 1}")
        return "done"

    job_id = worker.submit(Job("Count", run))
    qtbot.waitUntil(lambda: bool(worker.events["finished"]), timeout=TIMEOUT)
    assert seen["thread"] != gui_thread
    assert worker.events["started"] == [(job_id, "Count")]
    assert worker.events["finished"] == [(job_id, "done")]
    assert [p for _, p in worker.events["partial"]] == [[0], [1], [2], [3], [4]]
    last = worker.events["progress"][-1]
    assert last[1:4] == (5.0, 5.0, "step 5")
    # an estimate of time left was given while the job ran
    assert any(0 < eta < 5 for *_, eta in worker.events["progress"][:-1])


def test_model_is_loaded_once_kept_between_jobs_and_released_on_change(qtbot, worker):
    got = []
    for name in ("m1", "m1", "m2"):
        worker.submit(Job("use", lambda ctx, loaded: got.append(loaded["name"]), model=name))
    qtbot.waitUntil(lambda: len(worker.events["finished"]) == 3, timeout=TIMEOUT)
    assert got == ["m1", "m1", "m2"]
    assert worker.loads == [("m1", "auto"), ("m2", "auto")]
    assert worker.events["model"] == ["m1", "", "m2"]
    assert worker.loaded_model == "m2"


def test_failures_become_signals_and_the_worker_carries_on(qtbot, worker):
    def explode(ctx, loaded):
        raise RuntimeError("boom in the engine")

    def refuse(ctx, loaded):
        raise InputError("position 42 is L, not A", source="variants")

    worker.submit(Job("explode", explode))
    worker.submit(Job("refuse", refuse))
    worker.submit(Job("fine", lambda ctx, loaded: 7))
    qtbot.waitUntil(lambda: bool(worker.events["finished"]), timeout=TIMEOUT)
    (_, message1, details1), (_, message2, _) = worker.events["failed"]
    assert message1 == "RuntimeError: boom in the engine"
    assert "Traceback" in details1 and "explode" in details1
    assert message2 == "variants: position 42 is L, not A"
    assert worker.events["finished"][0][1] == 7


@pytest.mark.parametrize("stop", [SystemExit(3), KeyboardInterrupt()])
def test_a_job_raising_systemexit_or_keyboardinterrupt_fails_and_the_worker_takes_the_next_job(qtbot, worker, stop):
    def leave(ctx, loaded):
        raise stop

    worker.submit(Job("leave", leave))
    worker.submit(Job("next", lambda ctx, loaded: "still here"))
    qtbot.waitUntil(lambda: bool(worker.events["finished"]), timeout=TIMEOUT)
    assert worker.events["failed"][0][1].startswith(type(stop).__name__)
    assert worker.events["finished"][0][1] == "still here" and worker.isRunning()


def test_cancel_stops_a_running_job_within_a_second_and_skips_queued_ones(qtbot, worker):
    started = threading.Event()

    def slow(ctx, loaded):
        started.set()
        for i in range(1000):
            time.sleep(0.05)
            ctx.progress(i, 1000)  # reporting checks for cancellation
        return "not cancelled"

    first = worker.submit(Job("slow", slow))
    second = worker.submit(Job("queued", lambda ctx, loaded: "ran"))
    assert started.wait(5)
    t0 = time.monotonic()
    worker.cancel()
    qtbot.waitUntil(lambda: len(worker.events["cancelled"]) == 2, timeout=TIMEOUT)
    assert time.monotonic() - t0 < 1.0
    assert worker.events["cancelled"] == [first, second]
    assert worker.events["finished"] == []
    qtbot.waitUntil(lambda: not worker.busy, timeout=TIMEOUT)  # the thread stops at its next report
    assert worker.events["started"] == [(first, "slow")]  # the queued job never started
    assert worker.events["finished"] == [] and worker.events["cancelled"] == [first, second]


def test_a_job_cancelled_while_its_step_runs_reports_nothing_more(qtbot, worker):
    release = threading.Event()

    def stubborn(ctx, loaded):  # one long step that never looks at the context
        release.wait(5)
        ctx.partial("late")
        return "late result"

    job_id = worker.submit(Job("stubborn", stubborn))
    qtbot.waitUntil(lambda: bool(worker.events["started"]), timeout=TIMEOUT)
    worker.cancel(job_id)
    assert worker.events["cancelled"] == [job_id]  # reported at once, on the GUI thread
    release.set()
    qtbot.waitUntil(lambda: not worker.busy, timeout=TIMEOUT)
    qtbot.wait(50)
    assert worker.events["finished"] == [] and worker.events["partial"] == []
    assert worker.events["cancelled"] == [job_id]


@pytest.mark.parametrize("seconds, text", [(-1, ""), (5, "5 s left"), (65, "1 min 05 s left"),
                                           (3700, "1 h 01 min left")])
def test_format_eta(seconds, text):
    assert format_eta(seconds) == text


def test_cancel_while_the_model_loads_ends_the_job_and_keeps_no_model(qtbot, worker):
    """The worker loads models under the job's cancellation: a loader reaching a cancel point after Cancel
    stops there, the job ends cancelled, no half-loaded model is kept, and the next job runs."""
    from protein_studio.core.job_context import cancel_point

    loading = threading.Event()
    cancelled = threading.Event()
    stopped = []

    def loader(name, device):
        loading.set()
        assert cancelled.wait(5)
        try:
            cancel_point()  # a step of the real loaders (after reading, per submodule, per hashed block)
        except JobCancelled:
            stopped.append(True)
            raise
        stopped.append(False)
        return {"name": name}

    worker._loader = loader
    job = worker.submit(Job("scan", lambda ctx, loaded: "scanned", model="esm2_t6_8M_UR50D"))
    assert loading.wait(5)
    worker.cancel()
    cancelled.set()
    qtbot.waitUntil(lambda: not worker.busy, timeout=TIMEOUT)
    assert stopped == [True]
    assert worker.events["cancelled"] == [job] and worker.events["failed"] == []
    assert worker.loaded_model is None
    worker.submit(Job("next", lambda ctx, loaded: "still here"))
    qtbot.waitUntil(lambda: bool(worker.events["finished"]), timeout=TIMEOUT)
    assert worker.events["finished"][0][1] == "still here"
