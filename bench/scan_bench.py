"""Benchmark a full masked-marginal saturation scan: the engine against a plain reference loop, same run.

Usage::

    python bench/scan_bench.py [--arch 8M|35M|150M|650M] [--length N] [--device cpu|cuda] [--precision P]

Builds the random-weight ESM-2 model of that architecture (``random-esm2-<arch>``, the real layer counts
and widths), scores every substitution at every position of a random protein of ``--length`` residues
with :func:`protein_studio.engines.scoring.saturation_scan` (with its one-pass wild-type preview, as the
window uses it) and with a one-position-at-a-time loop written here (fair-esm's batch converter, one
unbatched pass per position, ProteinGym-style centred windows beyond 1022 residues), and prints one JSON
line:

``ours_s``, ``reference_s`` (best of ``--repeat`` alternated runs), ``speedup`` (reference / ours), ``max_abs_diff`` between the two matrices,
``first_matrix_s`` (until the complete wild-type-marginal matrix had arrived) and ``forward_pass_s``
(one pass, for scale), peak memory (``peak_rss_mb`` of the process; on CUDA ``cuda_peak_mb_*`` of each
run), and the settings.
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


def reference_scan(loaded, sequence: str):
    """One masked forward pass per position, nothing batched; returns the (L x 20) score matrix."""
    import numpy as np
    import torch

    from protein_studio.core.sequences import AMINO_ACIDS

    alphabet, model = loaded.alphabet, loaded.model
    width = loaded.spec.max_tokens - 2
    aa = torch.tensor([alphabet.get_idx(a) for a in AMINO_ACIDS], device=loaded.device)
    converter = alphabet.get_batch_converter()
    length = len(sequence)
    scores = np.zeros((length, len(AMINO_ACIDS)))
    with torch.no_grad():
        for i in range(length):
            start = 0 if length <= width else min(max(i - width // 2, 0), length - width)
            _, _, tokens = converter([("p", sequence[start:start + width])])
            tokens = tokens.to(loaded.device)
            tokens[0, i - start + 1] = alphabet.mask_idx
            logits = model(tokens)["logits"][0, i - start + 1].float()
            logp = torch.log_softmax(logits, dim=-1)
            row = logp[aa] - logp[alphabet.get_idx(sequence[i])]
            scores[i] = row.cpu().numpy()
    return scores


def _synchronise(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=ARCHS, default="35M")
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--precision", default="auto", help="auto (float16 on CUDA), float32, float16, bfloat16")
    parser.add_argument("--batch-size", type=int, default=None, help="engine batch size (default automatic)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two runs N times, keep the best")
    args = parser.parse_args(argv)

    os.environ["PROTEIN_STUDIO_RANDOM_MODELS"] = "1"
    import numpy as np
    import torch

    from protein_studio.core.sequences import AMINO_ACIDS
    from protein_studio.engines.scoring import saturation_scan
    from protein_studio.jobs.context import JobContext
    from protein_studio.models.esm_loading import load_esm

    loaded = load_esm(f"random-esm2-{args.arch}", args.device, args.precision)
    device = torch.device(loaded.device)
    rng = np.random.default_rng(args.seed)
    sequence = "".join(rng.choice(list(AMINO_ACIDS), size=args.length))

    # warm-up (kernel selection, allocator), then the time of one forward pass for scale
    _, _, tokens = loaded.alphabet.get_batch_converter()([("p", sequence[:loaded.spec.max_tokens - 2])])
    tokens = tokens.to(device)
    passes = []
    with torch.inference_mode():
        for _ in range(4):
            started = time.perf_counter()
            loaded.model(tokens)
            _synchronise(device)
            passes.append(time.perf_counter() - started)
    forward_pass_s = float(np.median(passes[1:]))

    def run_ours():
        """The engine, with the wild-type preview the window shows first; (scores, seconds, first matrix)."""
        covered: set[int] = set()
        first_matrix = []
        started = time.perf_counter()

        def on_partial(chunk):
            if chunk.strategy == "wt-marginals":
                covered.update(int(p) for p in chunk.positions)
                if len(covered) == args.length and not first_matrix:
                    first_matrix.append(time.perf_counter() - started)

        result = saturation_scan(sequence, loaded, JobContext(on_partial=on_partial), wt_first=True,
                                 batch_size=args.batch_size)
        _synchronise(device)
        return result.scores, time.perf_counter() - started, first_matrix[0]

    def run_reference():
        started = time.perf_counter()
        scores = reference_scan(loaded, sequence)
        _synchronise(device)
        return scores, time.perf_counter() - started, None

    # alternate the two (best of --repeat each), so load from other processes hits both alike
    timings = {"ours": [], "reference": []}
    firsts, peaks, results = [], {}, {}
    for _ in range(args.repeat):
        for name, run in (("ours", run_ours), ("reference", run_reference)):
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            results[name], seconds, first = run()
            timings[name].append(seconds)
            if first is not None:
                firsts.append(first)
            if device.type == "cuda":
                peaks[name] = torch.cuda.max_memory_allocated(device) / 2**20
    ours, reference = results["ours"], results["reference"]
    ours_s, reference_s = min(timings["ours"]), min(timings["reference"])
    first_matrix_s = min(firsts)
    cuda_ours, cuda_reference = peaks.get("ours"), peaks.get("reference")

    report = {
        "bench": "scan", "arch": args.arch, "model": loaded.spec.name, "length": args.length,
        "device": str(device), "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                                               else f"cpu ({torch.get_num_threads()} threads)"),
        "dtype": str(loaded.dtype).replace("torch.", ""), "batch_size": args.batch_size or "auto",
        "ours_s": round(ours_s, 3), "reference_s": round(reference_s, 3),
        "speedup": round(reference_s / ours_s, 3),
        "max_abs_diff": float(np.max(np.abs(ours - reference))),
        "first_matrix_s": round(first_matrix_s, 4), "forward_pass_s": round(forward_pass_s, 4),
        "first_matrix_in_passes": round(first_matrix_s / forward_pass_s, 2), "repeat": args.repeat,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cuda_peak_mb_ours": None if cuda_ours is None else round(cuda_ours, 1),
        "cuda_peak_mb_reference": None if cuda_reference is None else round(cuda_reference, 1),
        "torch": torch.__version__,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
