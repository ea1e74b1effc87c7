"""The structure-aware Gaussian process against one-hot ridge on ProteinGym's supervised track, in one run.

For each assay and each of ProteinGym's fold schemes (random, modulo, contiguous; 5 folds), fits one-hot ridge
(ProteinGym's one-hot baseline) and ``structure-gp`` (ProteinMPNN v48-020 site distributions, C-alpha distances,
one-hot sequence kernel, ProteinMPNN zero-shot mean; no language-model embeddings) on the same folds and prints
one JSON line: the pooled out-of-fold Spearman of each, their difference, the time ratio, and the published
values (Kermut with ESM embeddings; one-hot) for reference.

- BLAT_ECOLX_Stiffler_2015: the 4,996 singles ProteinGym uses (ampicillin 2500), the P62593 sequence on 1btl;
  target here: structure-gp >= 0.85 / 0.74 / 0.72.
- SPG1_STRSG_Olson_2014: GB1 singles only (1,045; ProteinGym's table adds doubles), 2qmt, log enrichment.
- PABP_YEAST_Melamed_2013: Pab1 RRM2 singles only (1,188), on ProteinGym's predicted model of residues 126-200.
  For these two the target is: beat ridge by >= 0.3 on modulo and contiguous, within 0.02 or better on random.

    .venv/bin/python bench/supervised_bench.py [--assays BLAT GB1 PABP] [--schemes random modulo contiguous]

About 25 minutes on a 2-core machine (BLAT's 15 structure-gp fits take most of it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from protein_studio.core.assays.measurements import read_assay  # noqa: E402
from protein_studio.core.documents.document import load_document  # noqa: E402
from protein_studio.core.job_context import JobContext  # noqa: E402
from protein_studio.core.molecules.numbering import NumberingScheme  # noqa: E402
from protein_studio.engines.learning import FeatureSet, cross_validate  # noqa: E402
from protein_studio.engines.methods import STRUCTURE_GP_MODEL  # noqa: E402
from protein_studio.engines.structure_gp import site_table  # noqa: E402
from protein_studio.models.loader import load_model  # noqa: E402

DATA = REPO / "tests" / "data"
#: ProteinGym's published 5-fold Spearman (random, modulo, contiguous): Kermut, and the one-hot baseline.
PUBLISHED = {
    "BLAT_ECOLX_Stiffler_2015": {"kermut": (0.909, 0.826, 0.804), "onehot": (0.749, -0.041, -0.016)},
    "SPG1_STRSG_Olson_2014": {"kermut": (0.867, 0.559, 0.554), "onehot": (0.820, -0.042, 0.286)},
    "PABP_YEAST_Melamed_2013": {"kermut": (0.848, 0.749, 0.726), "onehot": (0.695, -0.070, 0.174)},
}
SCHEMES = ("random", "modulo", "contiguous")


def _cases(shared: Path):
    blat = shared / "dms" / "BLAT_ECOLX_Ranganathan2015.csv"
    blat = blat if blat.is_file() else DATA / "BLAT_ECOLX_Ranganathan2015_2500.csv"
    return {
        "BLAT": ("BLAT_ECOLX_Stiffler_2015", [REPO / "resources" / "demo" / "tem1_P62593.fasta", DATA / "1btl.pdb"],
                 blat, {"column": "2500"}, 0),
        "GB1": ("SPG1_STRSG_Olson_2014", [DATA / "2qmt.pdb"], DATA / "GB1_Olson2014_single_mutant_counts.csv",
                {"enrichment": ("Selection Count", "Input Count")}, 0),
        "PABP": ("PABP_YEAST_Melamed_2013", [DATA / "PABP_YEAST_126-200_predicted.pdb"],
                 DATA / "PABP_YEAST_Fields2013-singles.csv", {"column": "log"}, 125),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--assays", nargs="+", default=["BLAT", "GB1", "PABP"], choices=["BLAT", "GB1", "PABP"])
    parser.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
    args = parser.parse_args()
    loaded = load_model(STRUCTURE_GP_MODEL, "cpu")
    cases = _cases(args.shared)
    for key in args.assays:
        name, paths, table, how, offset = cases[key]
        document = load_document(paths)
        wild_type = document.wild_type
        scheme = NumberingScheme.with_offset(len(wild_type), offset) if offset else NumberingScheme.sequence(len(wild_type))
        assay = read_assay(table, wild_type, scheme, **how)
        started = time.perf_counter()
        sites = site_table(document, loaded, JobContext())
        sites_seconds = time.perf_counter() - started
        for fold_scheme in args.schemes:
            results = {}
            for regressor in ("ridge", "structure-gp"):
                started = time.perf_counter()
                cv = cross_validate(wild_type, assay.variants, assay.values,
                                    features=FeatureSet(wild_type, ("onehot",)), regressor=regressor,
                                    scheme=fold_scheme, sites=sites if regressor == "structure-gp" else None)
                results[regressor] = (cv, time.perf_counter() - started)
            (ridge, ridge_s), (gp, gp_s) = results["ridge"], results["structure-gp"]
            column = SCHEMES.index(fold_scheme)
            print(json.dumps({
                "assay": name, "scheme": fold_scheme, "variants": len(assay.variants),
                "residues_with_structure": int(sites.covered.sum()), "residues": len(wild_type),
                "onehot_ridge": round(ridge.pooled, 4), "structure_gp": round(gp.pooled, 4),
                "difference": round(gp.pooled - ridge.pooled, 4),
                "structure_gp_folds": [round(s, 4) for s in gp.spearman],
                "seconds_ridge": round(ridge_s, 1), "seconds_structure_gp": round(gp_s, 1),
                "time_ratio": round(gp_s / max(ridge_s, 1e-9), 1), "seconds_proteinmpnn_sites": round(sites_seconds, 1),
                "published_kermut": PUBLISHED[name]["kermut"][column],
                "published_onehot": PUBLISHED[name]["onehot"][column]}), flush=True)


if __name__ == "__main__":
    main()
