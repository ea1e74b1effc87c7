"""How the thread count of a scan behaves on this machine, alone and beside one busy process.

    .venv/bin/python bench/threads_bench.py [--arch 35M] [--length 300] [--positions 30]

For each thread count from 1 to the number of cores, a masked-marginal scan of ``--positions`` positions
runs in a fresh process (``protein-studio``'s own thread setting), once on an idle machine and once while
another process keeps one core busy. Prints one JSON line per run with the seconds and the ratio to one
thread on the idle machine (the reference), and which count the default policy
(:func:`protein_studio.models.devices.default_threads`) picks here.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCAN = """
import os, sys, time, numpy as np
sys.path.insert(0, {repo!r})
from protein_studio.models.devices import apply_threads
apply_threads({threads})
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.engines.scoring import saturation_scan
from protein_studio.core.job_context import JobContext
from protein_studio.models.esm_loading import load_esm
loaded = load_esm("random-esm2-{arch}", "cpu")
sequence = "".join(np.random.default_rng(0).choice(list(AMINO_ACIDS), size={length}))
positions = np.linspace(0, {length} - 1, {positions}).astype(int)
saturation_scan(sequence, loaded, JobContext(), positions=positions[:2], batch_size=1)
started = time.perf_counter()
saturation_scan(sequence, loaded, JobContext(), positions=positions, batch_size=1)
print(time.perf_counter() - started)
"""


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def scan_seconds(threads: int, args) -> float:
    code = SCAN.format(repo=str(REPO), threads=threads, arch=args.arch, length=args.length, positions=args.positions)
    env = {**os.environ, "PROTEIN_STUDIO_RANDOM_MODELS": "1"}
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="35M")
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--positions", type=int, default=30)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from protein_studio.models.devices import available_cores, default_threads

    cores = available_cores()
    os.environ.pop("OMP_NUM_THREADS", None)
    reference = None
    for busy in (False, True):
        for threads in range(1, cores + 1):
            stop = multiprocessing.Event()
            spinner = multiprocessing.Process(target=_spin, args=(stop,)) if busy else None
            if spinner:
                spinner.start()
                time.sleep(0.5)
            try:
                seconds = scan_seconds(threads, args)
            finally:
                if spinner:
                    stop.set()
                    spinner.join()
            reference = reference or seconds
            print(json.dumps({"bench": "threads", "arch": args.arch, "length": args.length, "cores": cores,
                              "threads": threads, "one_core_busy": busy, "seconds": round(seconds, 3),
                              "ratio_to_one_thread_idle": round(seconds / reference, 2),
                              "default_policy_threads": default_threads()}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
