"""How long a cancelled scan keeps computing: the ESM-2 650M architecture (random weights) at 300 residues.

A masked-marginal scan runs on a thread; once its first pass is under way (0.5 s after the first progress
report), Cancel is pressed and the time until the thread stops is measured. The same run measures the same
scan with the per-layer cancellation checks switched off (the reference: a cancel then waits for the pass to
end) and prints both and their ratio.

With ``--loading`` it measures a Cancel pressed while the model is being loaded instead: a checkpoint of
the 650M architecture (random weights, about 2.6 GB, written to a temporary weights folder) is loaded as
the worker loads it, Cancel is pressed after ``--delay`` seconds, and the time until the loading stops is
compared with the time the whole loading takes.

    .venv/bin/python bench/cancel_bench.py [--arch 650M] [--length 300] [--threads N] [--repeats 3]
    .venv/bin/python bench/cancel_bench.py --loading [--delay 0.5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PROTEIN_STUDIO_RANDOM_MODELS", "1")


def _latency(loaded, sequence: str, delay: float) -> tuple[float, float]:
    """Seconds from Cancel to the scan's end, and the length of one pass before it."""
    from protein_studio.core.errors import JobCancelled
    from protein_studio.engines.scoring import saturation_scan
    from protein_studio.core.job_context import JobContext

    started = threading.Event()
    first_pass: list[float] = []
    ctx = JobContext(on_progress=lambda done, total, text="": (first_pass.append(time.perf_counter()),
                                                              started.set()))
    ended: list[float] = []

    def run():
        try:
            saturation_scan(sequence, loaded, ctx, strategy="masked-marginals")
        except JobCancelled:
            pass
        ended.append(time.perf_counter())

    thread = threading.Thread(target=run)
    thread.start()
    started.wait()
    while len(first_pass) < 2:  # the first masked pass has finished: the next one is running
        time.sleep(0.01)
    pass_seconds = first_pass[1] - first_pass[0]
    time.sleep(delay)
    pressed = time.perf_counter()
    ctx.cancel_event.set()
    thread.join()
    return ended[0] - pressed, pass_seconds


def _loading(args) -> dict:
    """Median seconds from Cancel to the end of a model's loading, and of a whole loading."""
    import tempfile

    import numpy as np

    from protein_studio.core.errors import JobCancelled
    from protein_studio.core.job_context import JobContext, cancellable
    from protein_studio.models import locations, weights
    from protein_studio.models.esm_loading import load_esm
    from protein_studio.models.catalog import get_spec

    sys.path.insert(0, str(REPO / "tests"))
    from fair_esm_format import save_fair_esm_checkpoint

    name = {"650M": "esm2_t33_650M_UR50D", "150M": "esm2_t30_150M_UR50D", "35M": "esm2_t12_35M_UR50D",
            "8M": "esm2_t6_8M_UR50D"}[args.arch]
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROTEIN_STUDIO_WEIGHTS_DIR"] = folder
        path = locations.checkpoint_path(get_spec(name))
        save_fair_esm_checkpoint(load_esm(f"random-esm2-{args.arch}", device="cpu").model, "esm2", path)
        whole, stopped = [], []
        for _ in range(args.repeats):
            for suffix in (".sha256",):  # hashed again each time, as on the first loading of a download
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            started = time.perf_counter()
            with cancellable(JobContext(), modules=True):
                load_esm(name, device="cpu")
            whole.append(time.perf_counter() - started)
            path.with_name(path.name + ".sha256").unlink(missing_ok=True)
            ctx = JobContext()
            ended: list[float] = []

            def run():
                try:
                    with cancellable(ctx, modules=True):
                        load_esm(name, device="cpu")
                except JobCancelled:
                    pass
                ended.append(time.perf_counter())

            thread = threading.Thread(target=run)
            thread.start()
            time.sleep(args.delay)
            pressed = time.perf_counter()
            ctx.cancel_event.set()
            thread.join()
            stopped.append(ended[0] - pressed)
    return {"loading": name, "load_s": round(float(np.median(whole)), 2),
            "cancel_s": round(float(np.median(stopped)), 3), "delay_s": args.delay,
            "speedup": round((float(np.median(whole)) - args.delay) / max(float(np.median(stopped)), 1e-6), 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="650M")
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loading", action="store_true", help="cancel while the model loads")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds of loading before Cancel")
    args = parser.parse_args(argv)
    if args.loading:
        print(json.dumps(_loading(args)))
        return 0
    import numpy as np
    import torch

    import protein_studio.engines.scoring as scoring
    from protein_studio.core.molecules.sequences import AMINO_ACIDS
    from protein_studio.models.esm_loading import load_esm

    torch.set_num_threads(args.threads)
    sequence = "".join(np.random.default_rng(1).choice(list(AMINO_ACIDS), size=args.length))
    started = time.perf_counter()
    loaded = load_esm(f"random-esm2-{args.arch}", device="cpu")
    build = time.perf_counter() - started
    ours, reference, passes = [], [], []
    original = scoring.cancellable_layers
    for _ in range(args.repeats):
        latency, pass_seconds = _latency(loaded, sequence, delay=0.5)
        ours.append(latency)
        passes.append(pass_seconds)
        scoring.cancellable_layers = lambda model, ctx: contextlib.nullcontext()
        try:
            latency, _ = _latency(loaded, sequence, delay=0.5)
            reference.append(latency)
        finally:
            scoring.cancellable_layers = original
    result = {"arch": args.arch, "length": args.length, "threads": args.threads, "build_s": round(build, 2),
              "pass_s": round(float(np.median(passes)), 3), "cancel_s": round(float(np.median(ours)), 3),
              "reference_cancel_s": round(float(np.median(reference)), 3),
              "speedup": round(float(np.median(reference)) / max(float(np.median(ours)), 1e-6), 1)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
