"""Benchmark masked-marginal scans: the engine against fair-esm's one-copy-at-a-time loop, same run.

Usage::

    python bench/scan_bench.py --suite cpu     # the three CPU cases of issue 13, with their targets
    python bench/scan_bench.py --suite gpu     # on a CUDA GPU: batch probe, float16/bfloat16 vs float32
    python bench/scan_bench.py [--arch 8M|35M|150M|650M] [--length N] [--positions K] [--device cpu|cuda]
                               [--precision P] [--batch-size N] [--repeat R] [--threads T]

The model is the random-weight ESM-2 of the architecture (``random-esm2-<arch>``: the real layer counts
and widths). The reference is written here: fair-esm's batch converter, one unbatched forward pass of the
whole model per masked position, ProteinGym-style centred windows beyond 1022 residues. The engine is
:func:`protein_studio.engines.scoring.saturation_scan` as the application runs it (SDPA attention, the
last layer at the masked row only, batch size probed on the device). Both score the same positions:
every position, or ``--positions K`` spread evenly along the protein (a full reference scan of 1000
residues takes most of an hour on a 2-core CPU; time per position does not depend on which positions
are scanned). Runs alternate (best of ``--repeat``) so load from other processes hits both alike.

Each case prints one JSON line: ``engine_s``, ``reference_s``, ``ratio`` (reference / engine, higher is
better), ``max_abs_diff`` between the two score matrices, the batch size the probe chose, peak memory.
``--suite gpu`` adds, per precision, the shift from float32 (``max_abs_diff`` and Spearman of all scores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

try:
    import protein_studio  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ARCHS = ("8M", "35M", "150M", "650M")
#: issue 13's CPU cases: (architecture, residues, positions timed, target ratio)
CPU_SUITE = (("8M", 100, None, 1.3), ("35M", 300, 60, 1.2), ("35M", 1000, 24, 2.0))
GPU_SUITE = (("35M", 1000, None), ("150M", 1000, None), ("650M", 1000, None))


def reference_scan(loaded, sequence: str, positions):
    """One masked forward pass per position, nothing batched; the (L x 20) score matrix (NaN elsewhere)."""
    import numpy as np
    import torch

    from protein_studio.core.molecules.sequences import AMINO_ACIDS

    alphabet, model = loaded.alphabet, loaded.model
    width = loaded.spec.max_tokens - 2
    aa = torch.tensor([alphabet.get_idx(a) for a in AMINO_ACIDS], device=loaded.device)
    converter = alphabet.get_batch_converter()
    length = len(sequence)
    scores = np.full((length, len(AMINO_ACIDS)), np.nan)
    with torch.no_grad():
        for i in positions:
            start = 0 if length <= width else min(max(i - width // 2, 0), length - width)
            _, _, tokens = converter([("p", sequence[start:start + width])])
            tokens = tokens.to(loaded.device)
            tokens[0, i - start + 1] = alphabet.mask_idx
            logits = model(tokens)["logits"][0, i - start + 1].float()
            logp = torch.log_softmax(logits, dim=-1)
            scores[i] = (logp[aa] - logp[alphabet.get_idx(sequence[i])]).cpu().numpy()
    return scores


def _synchronise(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _positions(length: int, count: int | None) -> list[int]:
    import numpy as np

    if count is None or count >= length:
        return list(range(length))
    return sorted({int(p) for p in np.linspace(0, length - 1, count)})


def measure(arch: str, length: int, positions: int | None, device: str = "cpu", precision: str = "auto",
            batch_size: int | None = None, repeat: int = 1, seed: int = 0, reference: bool = True) -> dict:
    """One case: the engine and (unless ``reference`` is False) the reference loop, alternated."""
    import numpy as np
    import torch

    from protein_studio.core.molecules.sequences import AMINO_ACIDS
    from protein_studio.engines.scoring import saturation_scan
    from protein_studio.core.job_context import JobContext
    from protein_studio.models.esm_loading import load_esm

    loaded = load_esm(f"random-esm2-{arch}", device, precision)
    dev = torch.device(loaded.device)
    sequence = "".join(np.random.default_rng(seed).choice(list(AMINO_ACIDS), size=length))
    chosen = _positions(length, positions)
    with torch.inference_mode():  # warm-up: kernel selection, allocator
        _, _, tokens = loaded.alphabet.get_batch_converter()([("p", sequence[:min(length, 1022)])])
        loaded.model(tokens.to(dev))
        _synchronise(dev)

    def run_engine():
        started = time.perf_counter()
        result = saturation_scan(sequence, loaded, JobContext(), positions=chosen, batch_size=batch_size)
        _synchronise(dev)
        return result.scores, time.perf_counter() - started, result.provenance

    def run_reference():
        started = time.perf_counter()
        scores = reference_scan(loaded, sequence, chosen)
        _synchronise(dev)
        return scores, time.perf_counter() - started, {}

    timings: dict[str, list[float]] = {"engine": [], "reference": []}
    results, peaks, provenance = {}, {}, {}
    runs = (("engine", run_engine), ("reference", run_reference)) if reference else (("engine", run_engine),)
    for _ in range(repeat):
        for name, run in runs:
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
            results[name], seconds, info = run()
            provenance = info or provenance
            timings[name].append(seconds)
            if dev.type == "cuda":
                peaks[name] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
    engine_s = min(timings["engine"])
    report = {
        "bench": "scan", "arch": arch, "length": length, "positions": len(chosen), "device": str(dev),
        "device_name": (torch.cuda.get_device_name(dev) if dev.type == "cuda"
                        else f"cpu ({torch.get_num_threads()} threads)"),
        "dtype": str(loaded.dtype).replace("torch.", ""), "batch": provenance.get("batch"),
        "engine_s": round(engine_s, 3), "repeat": repeat,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cuda_peak_mb": peaks or None, "torch": torch.__version__,
    }
    if reference:
        reference_s = min(timings["reference"])
        rows = np.array(chosen)
        report.update(reference_s=round(reference_s, 3), ratio=round(reference_s / engine_s, 3),
                      max_abs_diff=float(np.max(np.abs(results["engine"][rows] - results["reference"][rows]))))
    report["_scores"] = results["engine"][np.array(chosen)]
    return report


def _print(report: dict) -> None:
    print(json.dumps({k: v for k, v in report.items() if not k.startswith("_")}), flush=True)


def cpu_suite(repeat: int) -> int:
    summary = []
    for arch, length, positions, target in CPU_SUITE:
        report = measure(arch, length, positions, repeat=repeat)
        report["target_ratio"] = target
        report["meets_target"] = report["ratio"] >= target and report["max_abs_diff"] <= 1e-4
        _print(report)
        summary.append(f"{arch} at {length}: {report['ratio']:.2f}x (target {target}x), "
                       f"max |diff| {report['max_abs_diff']:.1e}")
    print("# " + "; ".join(summary))
    return 0


def gpu_suite(repeat: int) -> int:
    """On CUDA: the engine against the reference in float32, then the shift of float16 and bfloat16."""
    import numpy as np
    from scipy.stats import spearmanr

    for arch, length, positions in GPU_SUITE:
        base = measure(arch, length, positions, device="cuda", precision="float32", repeat=repeat)
        _print(base)
        for precision in ("float16", "bfloat16"):
            report = measure(arch, length, positions, device="cuda", precision=precision, repeat=repeat,
                             reference=False)
            ours, exact = report["_scores"].ravel(), base["_scores"].ravel()
            keep = np.isfinite(ours) & np.isfinite(exact) & (exact != 0)
            report.update(shift_vs_float32={"max_abs_diff": float(np.max(np.abs(ours[keep] - exact[keep]))),
                                            "spearman": round(float(spearmanr(ours[keep], exact[keep])[0]), 6)},
                          speedup_vs_float32=round(base["engine_s"] / report["engine_s"], 3))
            _print(report)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=("cpu", "gpu"), help="run a whole suite (see the module notes)")
    parser.add_argument("--arch", choices=ARCHS, default="35M")
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--positions", type=int, default=None, help="time K positions spread along (default all)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--precision", default="auto", help="auto (float16 on CUDA), float32, float16, bfloat16")
    parser.add_argument("--batch-size", type=int, default=None, help="engine batch size (default: probed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two runs N times, keep the best")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args(argv)

    os.environ["PROTEIN_STUDIO_RANDOM_MODELS"] = "1"
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.suite == "cpu":
        return cpu_suite(args.repeat)
    if args.suite == "gpu":
        return gpu_suite(args.repeat)
    _print(measure(args.arch, args.length, args.positions, args.device, args.precision, args.batch_size,
                   args.repeat, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
