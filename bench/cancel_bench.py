"""How long a cancelled scan keeps computing: the ESM-2 650M architecture (random weights) at 300 residues.

A masked-marginal scan runs on a thread; once its first pass is under way (0.5 s after the first progress
report), Cancel is pressed and the time until the thread stops is measured. The same run measures the same
scan with the per-layer cancellation checks switched off (the reference: a cancel then waits for the pass to
end) and prints both and their ratio.

    .venv/bin/python bench/cancel_bench.py [--arch 650M] [--length 300] [--threads N] [--repeats 3]
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
    from protein_studio.jobs.context import JobContext

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="650M")
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import numpy as np
    import torch

    import protein_studio.engines.scoring as scoring
    from protein_studio.core.sequences import AMINO_ACIDS
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
