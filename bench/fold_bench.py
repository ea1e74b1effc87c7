"""Folding benchmark: seconds and peak memory per length, with and without trunk chunking.

Each configuration runs in a fresh Python process so its peak memory is its own. On the CPU the peak is
the growth of the process's maximum resident set during the prediction (the model already loaded); on a
GPU it is ``torch.cuda.max_memory_allocated`` during the prediction. Every line also carries what
:func:`protein_studio.engines.folding.estimate_fold_resources` predicted for the same run and, for chunked
runs, the ratios against the unchunked run of the same length measured in this same invocation.

The default is a small random-weight ESMFold architecture on the CPU (a 6-layer, 320-wide ESM-2 stem
and a 4-block trunk). ``--arch esmfold`` is the real ESMFold v1 architecture (3B stem, 48 blocks, random
weights), run only where a CUDA GPU is available.

Usage::

    python bench/fold_bench.py                       # lengths 100 and 300, chunk none and 32, CPU
    python bench/fold_bench.py --arch esmfold --device cuda --lengths 100 300 600

Prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ARCHITECTURES = {
    "small": {"esm_layers": 6, "esm_embed_dim": 320, "esm_heads": 20, "trunk_blocks": 4,
              "sequence_state_dim": 128, "pairwise_state_dim": 64, "head_width": 32, "structure_blocks": 2,
              "ipa_dim": 16, "ipa_heads": 4, "resnet_dim": 64, "lddt_hidden": 64, "max_recycles": 1},
    "esmfold": {"esm_layers": 36, "esm_embed_dim": 2560, "esm_heads": 40, "trunk_blocks": 48,
                "sequence_state_dim": 1024, "pairwise_state_dim": 128, "head_width": 32, "structure_blocks": 8,
                "ipa_dim": 16, "ipa_heads": 12, "resnet_dim": 128, "lddt_hidden": 128, "max_recycles": 4},
}

#: a real protein (TEM-1 beta-lactamase, UniProt P62593), the demo sequence, repeated to any length
TEM1_FASTA = Path(__file__).resolve().parents[1] / "protein_studio" / "resources" / "demo" / "tem1_P62593.fasta"


def _rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run_one(arch: str, device: str, length: int, chunk: int | None, threads: int | None) -> dict:
    """Fold one sequence of ``length`` residues in this process and measure it."""
    os.environ["PROTEIN_STUDIO_RANDOM_MODELS"] = "1"
    import torch

    if threads:
        torch.set_num_threads(threads)
    from protein_studio.core.molecules.sequences import read_fasta
    from protein_studio.engines.folding import estimate_fold_resources, fold_sequence
    from protein_studio.core.job_context import NullContext
    from protein_studio.models.hf_loading import load_esmfold
    from protein_studio.models.spec import ModelSpec

    spec = ModelSpec(name=f"random-esmfold-{arch}", family="esmfold", task="folding", parameters=0,
                     download_bytes=0, license="MIT", architecture=ARCHITECTURES[arch], max_tokens=None,
                     source="random", is_random=True)
    loaded = load_esmfold(spec, device)
    tem1 = read_fasta(TEM1_FASTA)[0].sequence
    sequence = (tem1 * (length // len(tem1) + 1))[:length]
    fold_sequence(sequence[:20], loaded, NullContext(), chunk_size=chunk)  # warm-up
    estimate = estimate_fold_resources(length, loaded.device, chunk_size=chunk, model=loaded.model)
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes()
    result = fold_sequence(sequence, loaded, NullContext(), chunk_size=chunk)
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {
        "arch": arch, "device": str(loaded.device), "threads": torch.get_num_threads(), "length": length,
        "chunk_size": chunk, "seconds": round(result.seconds, 3), "peak_memory_mb": round(max(peak, 0) / 2**20, 1),
        "estimated_memory_mb": round(estimate.memory_bytes / 2**20, 1),
        "estimated_seconds": round(estimate.seconds, 3), "mean_plddt": round(result.mean_plddt, 2),
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--chunk", type=int, default=32, help="chunk size compared with no chunking")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one configuration, print JSON
    args = parser.parse_args(argv)
    if args.one:
        length, chunk = json.loads(args.one)
        print(json.dumps(run_one(args.arch, args.device, length, chunk, args.threads)))
        return 0
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print(json.dumps({"arch": args.arch, "device": args.device, "skipped": "no CUDA GPU available"}))
            return 0
    elif args.arch == "esmfold":
        print(json.dumps({"arch": "esmfold", "device": args.device,
                          "skipped": "the real ESMFold architecture is benchmarked on a CUDA GPU only"}))
        return 0
    for length in args.lengths:
        reference = None
        for chunk in (None, args.chunk):
            command = [sys.executable, __file__, "--arch", args.arch, "--device", args.device,
                       "--one", json.dumps([length, chunk])]
            if args.threads:
                command += ["--threads", str(args.threads)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                print(json.dumps({"arch": args.arch, "length": length, "chunk_size": chunk,
                                  "error": done.stderr.strip().splitlines()[-1:]}))
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            if chunk is None:
                reference = row
            elif reference is not None:
                row["seconds_vs_unchunked"] = round(row["seconds"] / reference["seconds"], 3)
                row["memory_vs_unchunked"] = round(row["peak_memory_mb"] / max(reference["peak_memory_mb"], 0.1), 3)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
