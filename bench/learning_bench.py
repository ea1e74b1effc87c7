"""Learning from measurements on real deep mutational scans: held-out Spearman against training size.

For each table (BLAT, GB1, PABP, DLG4) and n = 24, 48, 96, 192, 384 measured variants (random subsets,
several repeats, the rest held out), prints the Spearman correlation of:

- ``onehot``: ridge on one-hot features of the whole variant sequence (Hsu et al. 2022);
- ``onehot+zeroshot``: the same with a zero-shot score as an extra feature (the "augmented" model);
- ``zeroshot``: the zero-shot score alone (no training).

The zero-shot score is DeepSequence's published prediction (``mutation_effect_prediction_vae_ensemble``),
present in the full BLAT table of ``../shared/data/dms/`` only: the other tables report one-hot alone.
The ratio column is onehot+zeroshot over zeroshot: the gain of learning from n measurements.

    .venv/bin/python bench/learning_bench.py [--repeats 5] [--shared ../shared/data/dms]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from protein_studio.core.assays.measurements import read_assay  # noqa: E402
from protein_studio.core.molecules.numbering import NumberingScheme  # noqa: E402
from protein_studio.core.molecules.sequences import read_fasta  # noqa: E402
from protein_studio.core.molecules.structures import load_structure  # noqa: E402
from protein_studio.engines.learning import FeatureSet, fit  # noqa: E402

SIZES = (24, 48, 96, 192, 384)
ZEROSHOT = "mutation_effect_prediction_vae_ensemble"


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok]).statistic) if ok.sum() > 2 else float("nan")


def tables(shared: Path):
    data = REPO / "tests" / "data"
    tem1 = read_fasta(REPO / "resources" / "demo" / "tem1_P62593.fasta")[0].sequence
    gb1 = load_structure(data / "2qmt.pdb").chains[0].sequence
    pabp = load_structure(data / "PABP_YEAST_126-200_predicted.pdb").chains[0].sequence
    letters = {}
    for line in (data / "DLG4_RAT_Ranganathan2012.csv").read_text().splitlines()[1:]:
        mutant = line.split(",")[0]
        letters[int(mutant[1:-1])] = mutant[0]
    first = min(letters)
    dlg4 = "".join(letters[p] for p in range(first, max(letters) + 1))
    blat = shared / "BLAT_ECOLX_Ranganathan2015.csv"
    blat_zeroshot = blat if blat.is_file() else None
    yield ("BLAT (2500 ug/ml)", blat if blat.is_file() else data / "BLAT_ECOLX_Ranganathan2015_2500.csv", tem1,
           NumberingScheme.sequence(len(tem1)), {"column": "2500"}, blat_zeroshot)
    yield ("GB1 (log enrichment)", data / "GB1_Olson2014_single_mutant_counts.csv", gb1,
           NumberingScheme.sequence(len(gb1)), {"enrichment": ("Selection Count", "Input Count")}, None)
    yield ("PABP (log)", data / "PABP_YEAST_Fields2013-singles.csv", pabp, NumberingScheme.with_offset(len(pabp), 125),
           {"column": "log"}, None)
    yield ("DLG4 (CRIPT)", data / "DLG4_RAT_Ranganathan2012.csv", dlg4,
           NumberingScheme.with_offset(len(dlg4), first - 1), {"column": "CRIPT"}, None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data" / "dms")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    results = []
    print(f"{'table':22} {'n':>4} {'onehot':>8} {'oh+zs':>8} {'zeroshot':>9} {'gain':>6} {'seconds':>8}")
    for name, path, wild_type, scheme, kwargs, zs_path in tables(args.shared):
        assay = read_assay(path, wild_type, scheme, **kwargs)
        zeroshot = None
        if zs_path is not None:
            zs = read_assay(zs_path, wild_type, scheme, column=ZEROSHOT)
            known = dict(zip(zs.variants, zs.values))
            zeroshot = lambda vs, known=known: np.array([known.get(v, np.nan) for v in vs])  # noqa: E731
        for n in SIZES:
            rows = {"table": name, "n": n, "onehot": [], "onehot+zeroshot": [], "zeroshot": []}
            started = time.perf_counter()
            for repeat in range(args.repeats):
                rng = np.random.default_rng(1000 * repeat + n)
                order = rng.permutation(len(assay))
                train, test = order[:n], order[n:]
                tv = [assay.variants[i] for i in train]
                hv = [assay.variants[i] for i in test]
                ytr, yte = assay.values[train], assay.values[test]
                plain = fit(wild_type, tv, ytr, features=FeatureSet(wild_type, ("onehot",)), cv_scheme=None)
                rows["onehot"].append(_spearman(yte, plain.predict(hv)))
                if zeroshot is not None:
                    augmented = fit(wild_type, tv, ytr, features=FeatureSet(wild_type, ("onehot", "zeroshot"),
                                                                            zeroshot=zeroshot), cv_scheme=None)
                    rows["onehot+zeroshot"].append(_spearman(yte, augmented.predict(hv)))
                    rows["zeroshot"].append(_spearman(yte, zeroshot(hv)))
            seconds = time.perf_counter() - started
            mean = {k: float(np.nanmean(v)) if v else float("nan") for k, v in rows.items()
                    if k in ("onehot", "onehot+zeroshot", "zeroshot")}
            gain = mean["onehot+zeroshot"] / mean["zeroshot"] if zeroshot is not None else float("nan")
            print(f"{name:22} {n:4d} {mean['onehot']:8.3f} {mean['onehot+zeroshot']:8.3f} {mean['zeroshot']:9.3f} "
                  f"{gain:6.2f} {seconds:8.1f}")
            results.append({"table": name, "n": n, "repeats": args.repeats, **mean, "gain": gain,
                            "seconds": round(seconds, 2)})
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
