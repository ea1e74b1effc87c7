"""ProteinMPNN (trained v48-020 weights) against two deep mutational scans, beside ProteinGym's published values.

For BLAT_ECOLX_Stiffler_2015 (TEM-1: the P62593 sequence on the 1btl crystal structure, UniProt position = 1btl
residue + 23, so 1btl's two differing residues take P62593's letters; ampicillin 2500 µg/ml) and
SPG1_STRSG_Olson_2014 (GB1 singles on 2qmt, log enrichment), prints the Spearman correlation of

- ``decoded-last``: the scan's score, each position decoded last with every other residue visible;
- ``likelihood``: the variant's log-likelihood minus the wild type's, in one shared seeded decoding order
  (the same ranking as minus the variant's mean negative log-likelihood, the official score);

on every fourth row of each table from the first (BLAT: 1,249 singles), and ProteinGym's ProteinMPNN value
(0.324 and 0.147: they drew a new decoding order for every variant and used predicted structures of the full
sequence). The reference for BLAT's likelihood mode, measured with the official implementation in the same
mode on the same rows, is 0.611; the last column is the difference.

    .venv/bin/python bench/proteinmpnn_bench.py [--shared ../shared/data] [--orders 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from protein_studio.core.assays.measurements import read_assay  # noqa: E402
from protein_studio.core.documents.document import load_document  # noqa: E402
from protein_studio.core.job_context import JobContext  # noqa: E402
from protein_studio.core.molecules.numbering import NumberingScheme  # noqa: E402
from protein_studio.core.molecules.sequences import AMINO_ACIDS  # noqa: E402
from protein_studio.engines.inverse_folding import bind_document, scan, score_variants  # noqa: E402
from protein_studio.models.loader import load_model  # noqa: E402

PUBLISHED = {"BLAT_ECOLX_Stiffler_2015": 0.324, "SPG1_STRSG_Olson_2014": 0.147}
OFFICIAL_SAME_MODE = {"BLAT_ECOLX_Stiffler_2015": 0.611}


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok]).statistic)


def _every_fourth(path: Path, folder: Path) -> Path:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    out = folder / path.name
    out.write_text("\n".join([lines[0]] + lines[1:][::4]) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--orders", type=int, default=1, help="decoding orders of the likelihood mode")
    args = parser.parse_args()
    import tempfile

    loaded = load_model("proteinmpnn-v48-020", "cpu")
    blat_table = args.shared / "dms" / "BLAT_ECOLX_Ranganathan2015.csv"
    if not blat_table.is_file():
        blat_table = REPO / "tests" / "data" / "BLAT_ECOLX_Ranganathan2015_2500.csv"
    cases = [("BLAT_ECOLX_Stiffler_2015", [REPO / "resources" / "demo" / "tem1_P62593.fasta", REPO / "tests" / "data"
                                           / "1btl.pdb"], blat_table, {"column": "2500"}),
             ("SPG1_STRSG_Olson_2014", [REPO / "tests" / "data" / "2qmt.pdb"],
              REPO / "tests" / "data" / "GB1_Olson2014_single_mutant_counts.csv",
              {"enrichment": ("Selection Count", "Input Count")})]
    print(f"{'assay':<26} {'rows':>5} {'decoded-last':>12} {'likelihood':>10} {'ProteinGym':>10} "
          f"{'official':>8} {'diff':>6} {'s':>5}")
    with tempfile.TemporaryDirectory() as folder:
        for name, paths, table, how in cases:
            started = time.perf_counter()
            document = load_document(paths)
            bound = bind_document(loaded, document)
            scheme = NumberingScheme.sequence(len(document.sequence))
            assay = read_assay(_every_fourth(table, Path(folder)), document.sequence, scheme, **how)
            ctx = JobContext()
            scanned = scan(document.sequence, bound, ctx)
            singles = [v.mutations[0] for v in assay.variants]
            decoded_last = [scanned.scores[m.position - 1, AMINO_ACIDS.index(m.mt)] for m in singles]
            likelihood = score_variants(document.sequence, assay.variants, bound, ctx, orders=args.orders).scores
            rho_scan, rho_like = _spearman(decoded_last, assay.values), _spearman(likelihood, assay.values)
            official = OFFICIAL_SAME_MODE.get(name)
            print(f"{name:<26} {len(assay.variants):>5} {rho_scan:>12.3f} {rho_like:>10.3f} {PUBLISHED[name]:>10.3f} "
                  f"{official if official is not None else float('nan'):>8.3f} "
                  f"{(rho_like - official) if official is not None else float('nan'):>6.3f} "
                  f"{time.perf_counter() - started:>5.1f}")


if __name__ == "__main__":
    main()
