"""Learning from the lab's own measurements: supervised models on measured variants, cross-validated, that
predict every single substitution and any list of multi-mutants, and propose the next round.

Features (chosen by the user, concatenated):

- ``onehot``: the whole variant sequence one-hot encoded (L x 20, the wild-type letters set), as in Hsu et
  al. 2022. Columns that are the same for every training variant are dropped: with an intercept they change
  nothing (the regression centres its features) and they are most of the matrix.
- ``embeddings``: per-residue embeddings of the variant sequence from an ESM model (its last layer), averaged
  over the mutated positions; each sequence is embedded once (cached).
- ``zeroshot``: a zero-shot score of the variant (an ESM scan's additive score, or a published score from a
  table), standardised and weighted up so the regression hardly shrinks it: the "augmented" model of Hsu et al.

Regression: ridge (scikit-learn ``Ridge``, default), a Gaussian process (``GaussianProcessRegressor``,
constant x RBF + white noise on every one-hot column, hyper-parameters fitted by maximum likelihood), which
also gives an uncertainty, or the structure-aware Gaussian process of :mod:`.structure_gp` (``structure-gp``:
ProteinMPNN's view of the structure, so it reaches positions never measured). An exact GP costs n^3 time and n^2 memory: its hyper-parameters are fitted on a seeded random
:data:`GP_HYPERPARAMETER_SUBSET` of the variants when there are more, then the posterior is the exact one on
all of them with those hyper-parameters; more than :data:`GP_MAX_VARIANTS` are refused (ridge takes any
number). Cross-validation splits the variants by ProteinGym's three schemes over their (first) mutated
position: ``random`` (shuffled folds of variants), ``contiguous`` (the protein cut into k stretches of
positions) and ``modulo`` (position mod k).

Cross-validation reports the Spearman of all out-of-fold predictions pooled (ProteinGym's number) and of each
fold; a fold whose predictions do not vary ranks nothing and counts as 0.

:func:`propose` ranks candidates by the model (ties broken by its zero-shot score and uncertainty, never by the
alphabet), never takes Met1 unless asked nor an excluded position, can add double mutants of the best singles
scored as combinations, and gives each proposal its gain over the wild type with a 95 % interval and a reason
when it is an extrapolation; the round carries warnings, or the reason there is none.

A fitted model is saved as JSON (coefficients, kernel parameters, ProteinMPNN's sites for ``structure-gp``,
training variants and values, features, provenance); nothing is pickled.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.mutations import MultiMutant, Mutation, parse_mutant
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.engines.methods import CV_SCHEMES, FEATURES, REGRESSORS

__all__ = [
    "FEATURES", "REGRESSORS", "CV_SCHEMES", "FeatureSet", "FittedModel", "CrossValidation", "Proposal", "ProposalRound",
    "combinations_of", "INTERVAL_Z",
    "onehot_matrix", "onehot_columns", "varying_onehot_columns", "read_model_json", "cv_folds", "cross_validate", "is_constant", "fit", "all_singles", "propose", "load_model_file",
    "model_from_dict", "GP_MAX_VARIANTS", "GP_HYPERPARAMETER_SUBSET", "MAX_FEATURE_BYTES",
]

_AA = {aa: i for i, aa in enumerate(AMINO_ACIDS)}
#: Weight of the standardised zero-shot feature: large, so ridge barely shrinks its coefficient.
ZEROSHOT_WEIGHT = 10.0
#: Candidates predicted at once (their feature rows are made a chunk at a time).
PREDICT_CHUNK = 2000
#: Largest fitted-model file read, and most variants and residues a model may hold.
MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024
MAX_MODEL_VARIANTS = 1_000_000
MAX_MODEL_LENGTH = 100_000
#: Most variants an exact GP is fitted on (its kernel matrix and Cholesky factor stay well under 1 GB).
GP_MAX_VARIANTS = 6000
#: Variants the GP's hyper-parameters are fitted on (a seeded random subset when there are more).
GP_HYPERPARAMETER_SUBSET = 1200
#: Largest feature matrix (variants x features, 8 bytes each) a fit builds; the estimators copy it about twice.
MAX_FEATURE_BYTES = 512 * 2**20


# ------------------------------------------------------------------------------------------ features
def onehot_matrix(wild_type: str, variants: Sequence[MultiMutant]) -> np.ndarray:
    """n x (L * 20): each variant's whole sequence one-hot encoded (position-major, AMINO_ACIDS order)."""
    length = len(wild_type)
    base = np.zeros(length * 20)
    for i, aa in enumerate(wild_type):
        if aa in _AA:
            base[i * 20 + _AA[aa]] = 1.0
    out = np.repeat(base[None, :], len(variants), axis=0)
    for row, variant in enumerate(variants):
        for m in variant.mutations:
            i = m.position - 1
            out[row, i * 20:(i + 1) * 20] = 0.0
            out[row, i * 20 + _AA[m.mt]] = 1.0
    return out


def varying_onehot_columns(wild_type: str, variants: Sequence[MultiMutant]) -> np.ndarray:
    """The columns of :func:`onehot_matrix` that are not the same for every variant, found from counts of the
    mutations (the n x 20L matrix is never made): a wild-type column varies when some variants mutate its
    position and others do not, a substitution's column when some variants carry it and others do not."""
    n = len(variants)
    mutated: dict[int, int] = {}
    carried: dict[int, int] = {}
    for variant in variants:
        for m in variant.mutations:
            mutated[m.position - 1] = mutated.get(m.position - 1, 0) + 1
            column = (m.position - 1) * 20 + _AA[m.mt]
            carried[column] = carried.get(column, 0) + 1
    columns = set()
    for i, count in mutated.items():
        if wild_type[i] in _AA and 0 < count < n:
            columns.add(i * 20 + _AA[wild_type[i]])
    columns.update(c for c, count in carried.items() if 0 < count < n)
    return np.array(sorted(columns), dtype=int)


def onehot_columns(wild_type: str, variants: Sequence[MultiMutant], columns) -> np.ndarray:
    """``onehot_matrix(wild_type, variants)[:, columns]``, made without the full matrix (n x len(columns))."""
    columns = np.asarray(columns, dtype=int)
    index = {int(c): j for j, c in enumerate(columns)}
    base = np.zeros(len(columns))
    for i, aa in enumerate(wild_type):
        j = index.get(i * 20 + _AA[aa]) if aa in _AA else None
        if j is not None:
            base[j] = 1.0
    out = np.repeat(base[None, :], len(variants), axis=0)
    for row, variant in enumerate(variants):
        for m in variant.mutations:
            start = (m.position - 1) * 20
            for column in range(start, start + 20):
                j = index.get(column)
                if j is not None:
                    out[row, j] = 0.0
            j = index.get(start + _AA[m.mt])
            if j is not None:
                out[row, j] = 1.0
    return out


def _sequence(wild_type: str, variant: MultiMutant) -> str:
    chars = list(wild_type)
    for m in variant.mutations:
        chars[m.position - 1] = m.mt
    return "".join(chars)


@dataclass
class FeatureSet:
    """Turns variants into feature rows; remembers which one-hot columns and what scaling it was fitted with.

    Parameters
    ----------
    wild_type : str
    names : sequence of str
        Among :data:`FEATURES`.
    embedder : callable(str) -> ndarray (L, D), optional
        Per-residue embeddings of a sequence (needed for ``embeddings``).
    zeroshot : callable(list of MultiMutant) -> ndarray, optional
        Zero-shot scores of variants (needed for ``zeroshot``); NaN where unknown.
    """

    wild_type: str
    names: tuple
    embedder: Callable | None = None
    zeroshot: Callable | None = None
    columns: np.ndarray | None = None      # one-hot columns kept
    keep_constant: bool = False            # a Gaussian process keeps every column (its distances need them)
    zs_mean: float = 0.0
    zs_std: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.names = tuple(self.names)
        unknown = [n for n in self.names if n not in FEATURES]
        if not self.names or unknown:
            raise InputError(f"features must be among {', '.join(FEATURES)}" + (f", not {unknown[0]}" if unknown else ""))
        if "embeddings" in self.names and self.embedder is None:
            raise InputError("embedding features need an ESM model (--model NAME)")
        if "zeroshot" in self.names and self.zeroshot is None:
            raise InputError("the zero-shot feature needs zero-shot scores (a model or a score column)")

    def prepare(self, variants: Sequence[MultiMutant]) -> None:
        """Fix the one-hot columns and the zero-shot scaling on the training variants."""
        if "onehot" in self.names:
            self.columns = (np.arange(20 * len(self.wild_type)) if self.keep_constant
                            else varying_onehot_columns(self.wild_type, variants))
        if "zeroshot" in self.names:
            values = np.asarray(self.zeroshot(list(variants)), dtype=float)
            finite = values[np.isfinite(values)]
            self.zs_mean = float(finite.mean()) if finite.size else 0.0
            self.zs_std = float(finite.std()) if finite.size and finite.std() > 0 else 1.0

    def zero_shot(self, variants) -> np.ndarray:
        """The zero-shot score of each variant; the wild type's (no mutations) is 0 by definition."""
        variants = list(variants)
        out = np.zeros(len(variants))
        mutated = [k for k, v in enumerate(variants) if v.mutations]
        if mutated:
            out[mutated] = np.asarray(self.zeroshot([variants[k] for k in mutated]), dtype=float)
        return out

    def embedding(self, variant) -> np.ndarray:
        """The variant's per-residue embeddings averaged over its mutated positions (the wild type's: over all
        of its residues)."""
        sequence = _sequence(self.wild_type, variant)
        if sequence not in self._cache:
            self._cache[sequence] = np.asarray(self.embedder(sequence), dtype=float)
        per_residue = self._cache[sequence]
        if not variant.mutations:
            return per_residue.mean(axis=0)
        return per_residue[[m.position - 1 for m in variant.mutations]].mean(axis=0)

    def transform(self, variants: Sequence[MultiMutant]) -> np.ndarray:
        """Feature rows of ``variants`` (after :meth:`prepare`); rows with an unknown zero-shot score are NaN."""
        blocks = []
        if "onehot" in self.names:
            blocks.append(onehot_columns(self.wild_type, variants, self.columns))
        if "embeddings" in self.names:
            rows = [self.embedding(variant) for variant in variants]
            blocks.append(np.vstack(rows) if rows else np.zeros((0, 1)))
        if "zeroshot" in self.names:
            values = self.zero_shot(variants)
            blocks.append(((values - self.zs_mean) / self.zs_std * ZEROSHOT_WEIGHT)[:, None])
        return np.hstack(blocks) if blocks else np.zeros((len(variants), 0))

    def copy(self) -> "FeatureSet":
        """The same choice of features, not yet prepared (sharing the embedding cache)."""
        return FeatureSet(self.wild_type, self.names, self.embedder, self.zeroshot, keep_constant=self.keep_constant,
                          _cache=self._cache)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "columns": [] if self.columns is None else self.columns.tolist(),
                "keep_constant": self.keep_constant, "zs_mean": self.zs_mean, "zs_std": self.zs_std}


# ------------------------------------------------------------------------------------------ folds
def _first_positions(variants: Sequence[MultiMutant]) -> np.ndarray:
    return np.array([v.mutations[0].position for v in variants], dtype=int)


def cv_folds(variants: Sequence[MultiMutant], scheme: str = "random", k: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0..k-1) of each variant under ProteinGym's split schemes.

    ``random``: a seeded shuffle of the variants cut into k folds (scikit-learn ``KFold``). ``contiguous``:
    the distinct mutated positions, in order, cut into k stretches; a variant goes with its first mutated
    position. ``modulo``: its first mutated position mod k.
    """
    if scheme not in CV_SCHEMES:
        raise InputError(f"unknown split scheme '{scheme}'; use one of {', '.join(CV_SCHEMES)}")
    n = len(variants)
    if n < k:
        raise InputError(f"{k}-fold cross-validation needs at least {k} measured variants, not {n}")
    folds = np.zeros(n, dtype=int)
    if scheme == "random":
        from sklearn.model_selection import KFold

        for fold, (_train, test) in enumerate(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.arange(n))):
            folds[test] = fold
        return folds
    positions = _first_positions(variants)
    if scheme == "modulo":
        return positions % k
    distinct = np.unique(positions)
    if len(distinct) < k:
        raise InputError(f"contiguous folds need at least {k} mutated positions, not {len(distinct)}")
    for fold, stretch in enumerate(np.array_split(distinct, k)):
        folds[np.isin(positions, stretch)] = fold
    return folds


# ------------------------------------------------------------------------------------------ regression
def _regressor(kind: str, alpha: float):
    if kind == "ridge":
        from sklearn.linear_model import Ridge

        return Ridge(alpha=alpha)
    if kind == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(length_scale=3.0, length_scale_bounds=(1e-2, 1e3)) \
            + WhiteKernel(noise_level=0.1, noise_level_bounds=(1e-6, 1e1))
        return GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=0, n_restarts_optimizer=0)
    raise InputError(f"unknown regressor '{kind}'; use one of {', '.join(REGRESSORS)}")


def _fit_estimator(regressor: str, alpha: float, features: FeatureSet, variants: Sequence[MultiMutant],
                   values: np.ndarray, seed: int = 0, sites=None, ctx=None):
    """The regressor fitted on ``variants`` (``features`` are prepared on them here). A GP on more than
    :data:`GP_HYPERPARAMETER_SUBSET` variants gets its hyper-parameters from a seeded subset and its exact
    posterior from all of them; the structure-aware GP does the same in its own module."""
    if regressor == "structure-gp":
        from protein_studio.engines.structure_gp import StructureGP

        return StructureGP(features.wild_type, sites, zeroshot=_structure_zeroshot(features),
                           embedder=_structure_embedder(features)).fit(variants, values, seed=seed, ctx=ctx)
    features.prepare(variants)
    x = features.transform(variants)
    estimator = _regressor(regressor, alpha)
    if regressor != "gp" or len(values) <= GP_HYPERPARAMETER_SUBSET:
        return estimator.fit(x, values)
    subset = np.random.default_rng(seed).choice(len(values), GP_HYPERPARAMETER_SUBSET, replace=False)
    estimator.fit(x[subset], values[subset])
    exact = _regressor(regressor, alpha)
    exact.kernel, exact.optimizer = estimator.kernel_, None
    return exact.fit(x, values)


def _structure_zeroshot(features: FeatureSet):
    """The user's zero-shot score as the structure-aware GP's mean (None: ProteinMPNN's, from the sites)."""
    return features.zero_shot if "zeroshot" in features.names else None


def _structure_embedder(features: FeatureSet):
    if "embeddings" not in features.names:
        return None
    return lambda variants: np.vstack([features.embedding(v) for v in variants]) if variants else np.zeros((0, 1))


def _predict(regressor: str, estimator, features: FeatureSet, variants: Sequence[MultiMutant],
             return_std: bool = False):
    """Predictions (and standard deviations where the regressor has them, else NaN) of ``variants``, a chunk
    at a time; NaN for a variant without a zero-shot score when that is a feature."""
    variants = list(variants)
    mean = np.full(len(variants), np.nan)
    std = np.full(len(variants), np.nan)
    for start in range(0, len(variants), PREDICT_CHUNK):  # feature rows of a few thousand at a time
        chunk = slice(start, start + PREDICT_CHUNK)
        part = variants[chunk]
        if regressor == "structure-gp":
            ok = np.ones(len(part), dtype=bool)
            if "zeroshot" in features.names:
                ok = np.isfinite(features.zero_shot(part))
            if ok.any():
                chosen = [v for v, k in zip(part, ok) if k]
                if return_std:
                    mean[chunk][ok], std[chunk][ok] = estimator.predict(chosen, return_std=True)
                else:
                    mean[chunk][ok] = estimator.predict(chosen)
            continue
        X = features.transform(part)
        ok = np.all(np.isfinite(X), axis=1)
        if not ok.any():
            continue
        part_mean, part_std = mean[chunk], std[chunk]
        if return_std and regressor == "gp":
            part_mean[ok], part_std[ok] = estimator.predict(X[ok], return_std=True)
        else:
            part_mean[ok] = estimator.predict(X[ok])
    return (mean, std) if return_std else mean


def _check_size(regressor: str, variants: Sequence[MultiMutant], features: FeatureSet) -> None:
    """Refuse, before any work, a fit whose kernel or feature matrix would not fit the memory budget."""
    n = len(variants)
    if regressor == "gp" and n > GP_MAX_VARIANTS:
        raise InputError(f"{n:,} measured variants are more than an exact Gaussian process takes here "
                         f"({GP_MAX_VARIANTS:,}: its n x n kernel would not fit the memory); use --regressor ridge, or "
                         f"fit on a subset")
    if regressor == "structure-gp":
        from protein_studio.engines.structure_gp import MAX_VARIANTS

        if n > MAX_VARIANTS:
            raise InputError(f"{n:,} measured variants are more than the structure-aware Gaussian process takes "
                             f"here ({MAX_VARIANTS:,}: its n x n kernel would not fit the memory); fit on a subset")
        return
    if "onehot" not in features.names:
        width = 0
    elif regressor == "gp":
        width = 20 * len(features.wild_type)
    else:
        width = len(varying_onehot_columns(features.wild_type, variants))
    width += ("zeroshot" in features.names) + 1
    if n * width * 8 > MAX_FEATURE_BYTES:
        raise InputError(f"{n:,} measured variants x {width:,} one-hot features would take "
                         f"{n * width * 8 / 2**30:.1f} GB, more than the {MAX_FEATURE_BYTES / 2**30:.1f} GB a fit may "
                         f"use; fit on a subset of the variants (e.g. the singles and doubles)")


@dataclass(frozen=True)
class CrossValidation:
    """Held-out predictions scored by Spearman correlation: of all out-of-fold predictions pooled (as
    ProteinGym computes it) and of each fold. A fold whose predictions do not vary ranks nothing: it counts
    as 0 (and is named in :meth:`describe`).

    Attributes
    ----------
    scheme, k, n
    spearman : tuple of float
        Per fold (0 where the predictions were constant; NaN where a fold was too small to fit or score).
    pooled : float
        Spearman of every out-of-fold prediction against its measurement.
    constant : tuple of int
        The folds whose predictions were constant.
    residual_std : float
        Root-mean-square error of the out-of-fold predictions (a ridge proposal's interval uses it).
    predictions, prediction_std : tuple of float
        Each variant's out-of-fold prediction and its standard deviation (a Gaussian process's; NaN for ridge),
        in the order of the model's training variants: the window plots them against the measurements.
    """

    scheme: str
    k: int
    spearman: tuple
    n: int
    pooled: float = float("nan")
    constant: tuple = ()
    residual_std: float = float("nan")
    predictions: tuple = ()
    prediction_std: tuple = ()

    @property
    def mean(self) -> float:
        finite = [s for s in self.spearman if math.isfinite(s)]
        return float(np.mean(finite)) if finite else float("nan")

    @property
    def std(self) -> float:
        finite = [s for s in self.spearman if math.isfinite(s)]
        return float(np.std(finite)) if finite else float("nan")

    def line(self) -> str:
        """``cv SCHEME spearman VALUE``: the pooled out-of-fold Spearman, for scripts and benchmarks."""
        return f"cv {self.scheme} spearman {self.pooled:.4f}"

    def describe(self) -> str:
        folds = ", ".join("n/a" if not math.isfinite(s) else f"{s:.3f}" + ("*" if i in self.constant else "")
                          for i, s in enumerate(self.spearman))
        text = (f"{self.scheme} {self.k}-fold CV over {self.n} variants: Spearman {self.pooled:.3f} pooled, "
                f"{self.mean:.3f} +/- {self.std:.3f} per fold (folds {folds})")
        if self.constant:
            text += ("; *: the fold's predictions did not vary, counted as 0 (one-hot features say nothing about "
                     "positions never measured in training; add the zero-shot feature or use the structure-aware GP)")
        return text

    def to_dict(self) -> dict:
        def numbers(values):  # JSON has no NaN: null
            return [None if not math.isfinite(v) else float(v) for v in values]

        return {"scheme": self.scheme, "k": self.k, "spearman": numbers(self.spearman), "n": self.n,
                "pooled": numbers([self.pooled])[0], "constant": list(self.constant),
                "residual_std": numbers([self.residual_std])[0], "mean": numbers([self.mean])[0],
                "std": numbers([self.std])[0], "predictions": numbers(self.predictions),
                "prediction_std": numbers(self.prediction_std)}

    @classmethod
    def from_dict(cls, data: Mapping) -> "CrossValidation":
        def number(value) -> float:
            return float("nan") if value is None else float(value)

        predictions = tuple(number(v) for v in data.get("predictions", ()))
        spread = tuple(number(v) for v in data.get("prediction_std", ()))
        if len(predictions) not in (0, int(data["n"])) or len(spread) not in (0, len(predictions)):
            raise ValueError("the cross-validation's predictions are not one per variant")
        return cls(str(data["scheme"]), int(data["k"]), tuple(number(v) for v in data["spearman"]), int(data["n"]),
                   number(data.get("pooled")), tuple(int(v) for v in data.get("constant", ())),
                   number(data.get("residual_std")), predictions, spread)


def _clean(variants, values, features: FeatureSet):
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    if "zeroshot" in features.names:
        keep &= np.isfinite(np.asarray(features.zeroshot(list(variants)), dtype=float))
    return [v for v, k in zip(variants, keep) if k], values[keep]


def _spearman(measured, predicted) -> float:
    """Spearman correlation; 0 when the predictions do not vary (they rank nothing)."""
    from scipy.stats import spearmanr

    if is_constant(predicted) or is_constant(measured):
        return 0.0
    rho = spearmanr(measured, predicted).statistic
    return float(rho) if np.isfinite(rho) else 0.0


def cross_validate(wild_type: str, variants: Sequence[MultiMutant], values, *, features: FeatureSet,
                   regressor: str = "ridge", alpha: float = 1.0, scheme: str = "random", k: int = 5,
                   seed: int = 0, sites=None, ctx=None) -> CrossValidation:
    """Out-of-fold predictions: fit on the other folds (features prepared on them alone), predict this one;
    their Spearman pooled and per fold. Variants without a value (or without a zero-shot score when that is a
    feature) are left out. ``ctx`` (a JobContext) hears of each fold and may cancel between them."""
    variants, values = _clean(variants, values, features)
    _check_size(regressor, variants, features)
    folds = cv_folds(variants, scheme, k, seed)
    predicted = np.full(len(values), np.nan)
    spread = np.full(len(values), np.nan)
    scores, constant = [], []
    for fold in range(k):
        if ctx is not None:
            ctx.check_cancelled()
            ctx.progress(fold, k + 1, f"{scheme} cross-validation: fold {fold + 1} of {k}")
        train, test = folds != fold, folds == fold
        if train.sum() < 3 or test.sum() < 2:
            scores.append(float("nan"))
            continue
        fold_features = features.copy()
        train_variants = [v for v, t in zip(variants, train) if t]
        test_variants = [v for v, t in zip(variants, test) if t]
        model = _fit_estimator(regressor, alpha, fold_features, train_variants, values[train], seed, sites, ctx)
        predicted[test], spread[test] = _predict(regressor, model, fold_features, test_variants, return_std=True)
        if is_constant(predicted[test]):
            constant.append(fold)  # no ranking to compare (one-hot cannot reach unseen positions): they tie
            predicted[test] = float(np.mean(predicted[test]))
        scores.append(_spearman(values[test], predicted[test]))
    done = np.isfinite(predicted)
    pooled = _spearman(values[done], predicted[done]) if done.sum() > 2 else float("nan")
    residual = float(np.sqrt(np.mean((values[done] - predicted[done]) ** 2))) if done.any() else float("nan")
    return CrossValidation(scheme, k, tuple(scores), len(variants), pooled, tuple(constant), residual,
                           tuple(float(v) for v in predicted), tuple(float(v) for v in spread))


def is_constant(values) -> bool:
    """True when ``values`` do not vary beyond rounding (1e-9 relative): they rank nothing, and a Spearman
    correlation of them would rank floating-point noise."""
    values = np.asarray(values, dtype=float)
    return values.size < 2 or float(np.ptp(values)) <= 1e-9 * max(1.0, float(np.max(np.abs(values))))


@dataclass
class FittedModel:
    """A supervised model fitted on measured variants of one wild type.

    Attributes
    ----------
    wild_type : str
    features : FeatureSet
    regressor : str
    alpha : float
    variants : list of MultiMutant
        The training variants (sequence positions); proposals leave them out.
    values : numpy.ndarray
    estimator : object
        The scikit-learn regressor.
    cv : CrossValidation or None
    provenance : dict
    """

    wild_type: str
    features: FeatureSet
    regressor: str
    alpha: float
    variants: list
    values: np.ndarray
    estimator: object
    cv: CrossValidation | None = None
    provenance: dict = field(default_factory=dict)

    @property
    def has_uncertainty(self) -> bool:
        """True for the Gaussian processes (their predictions carry a posterior standard deviation)."""
        return self.regressor in ("gp", "structure-gp")

    def predict(self, variants: Sequence[MultiMutant], return_std: bool = False):
        """Predicted values (and, with ``return_std``, a Gaussian process's standard deviations; NaN for
        ridge); NaN for a variant without a zero-shot score when that is a feature."""
        return _predict(self.regressor, self.estimator, self.features, variants, return_std)

    def gain(self, variants: Sequence[MultiMutant]):
        """``(gain, std)``: each variant's predicted value minus the wild type's prediction, and the standard
        deviation of that difference (a Gaussian process's posterior, their covariance included; for ridge the
        root-mean-square error of the cross-validation, NaN without one)."""
        from protein_studio.engines.structure_gp import WILD_TYPE

        variants = list(variants)
        if self.regressor == "structure-gp":
            gain, std = np.full(len(variants), np.nan), np.full(len(variants), np.nan)
            ok = np.isfinite(self.features.zero_shot(variants)) if "zeroshot" in self.features.names else \
                np.ones(len(variants), dtype=bool)
            if ok.any():
                gain[ok], std[ok] = self.estimator.gain([v for v, k in zip(variants, ok) if k])
            return gain, std
        mean = self.predict(variants)
        wild = self.features.transform([WILD_TYPE])
        if self.regressor == "ridge":
            spread = self.cv.residual_std if self.cv is not None else float("nan")
            return mean - float(self.estimator.predict(wild)[0]), np.full(len(variants), spread)
        gain, std = np.full(len(variants), np.nan), np.full(len(variants), np.nan)
        for start in range(0, len(variants), PREDICT_CHUNK):  # the joint posterior of a chunk and the wild type
            chunk = slice(start, start + PREDICT_CHUNK)
            X = self.features.transform(variants[chunk])
            ok = np.flatnonzero(np.all(np.isfinite(X), axis=1))
            if not ok.size:
                continue
            part_mean, covariance = self.estimator.predict(np.vstack([X[ok], wild]), return_cov=True)
            variance = np.diag(covariance)[:-1] + covariance[-1, -1] - 2 * covariance[:-1, -1]
            gain[start + ok] = part_mean[:-1] - part_mean[-1]
            std[start + ok] = np.sqrt(np.maximum(variance, 0.0))
        return gain, std

    def prior_std(self, variants: Sequence[MultiMutant]) -> np.ndarray:
        """A Gaussian process's prior standard deviation of each variant (what it knows before any measurement);
        NaN for ridge."""
        variants = list(variants)
        if self.regressor == "structure-gp":
            return self.estimator.prior_std(variants)
        if self.regressor == "gp":
            X = self.features.transform(variants)
            spread = float(np.atleast_1d(getattr(self.estimator, "_y_train_std", 1.0))[0])
            out = np.full(len(variants), np.nan)
            ok = np.all(np.isfinite(X), axis=1)
            if ok.any():
                out[ok] = np.sqrt(self.estimator.kernel_.diag(X[ok])) * spread
            return out
        return np.full(len(variants), np.nan)

    def singles_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """L x 20 predictions and standard deviations of every single substitution (the wild type's own cell
        and ridge's deviations: NaN), computed once (the fit job calls it on the worker, so the heatmap's
        layers do not compute on the window's thread)."""
        if getattr(self, "_singles", None) is None:
            singles = all_singles(self.wild_type)
            mean = np.full((len(self.wild_type), 20), np.nan)
            std = np.full((len(self.wild_type), 20), np.nan)
            values, spreads = self.predict(singles, return_std=True)
            rows = np.array([v.mutations[0].position - 1 for v in singles], dtype=int)
            columns = np.array([_AA[v.mutations[0].mt] for v in singles], dtype=int)
            mean[rows, columns], std[rows, columns] = values, spreads
            self._singles = (mean, std)
        return self._singles

    def predict_singles(self) -> np.ndarray:
        """L x 20 predicted values of every single substitution (the wild type's own cell: NaN)."""
        return self.singles_matrices()[0].copy()

    def predict_singles_std(self) -> np.ndarray:
        """L x 20 standard deviations of every single substitution's prediction (NaN for ridge and the wild
        type's own cell)."""
        return self.singles_matrices()[1].copy()

    def to_dict(self) -> dict:
        """JSON-ready parameters: everything needed to predict again (ridge coefficients, or the Gaussian
        process's fitted kernel with its training variants)."""
        data = {"format": "protein-studio fitted model", "version": 1, "regressor": self.regressor,
                "alpha": self.alpha, "wild_type": self.wild_type, "features": self.features.to_dict(),
                "variants": [str(v) for v in self.variants], "values": self.values.tolist(),
                "cv": self.cv.to_dict() if self.cv else None, "provenance": self.provenance}
        if self.regressor == "ridge":
            data["coef"] = np.asarray(self.estimator.coef_, dtype=float).tolist()
            data["intercept"] = float(self.estimator.intercept_)
        elif self.regressor == "structure-gp":
            data["kernel"] = self.estimator.to_dict()
        else:
            data["kernel_theta"] = np.asarray(self.estimator.kernel_.theta, dtype=float).tolist()
        return data

    def save(self, path: str | Path) -> Path:
        from protein_studio.core.files import write_text_atomically

        return write_text_atomically(path, json.dumps(self.to_dict(), indent=1) + "\n")


def fit(wild_type: str, variants: Sequence[MultiMutant], values, *, features: FeatureSet, regressor: str = "ridge",
        alpha: float = 1.0, cv_scheme: str | None = "random", k: int = 5, seed: int = 0,
        provenance: Mapping | None = None, sites=None, ctx=None) -> FittedModel:
    """Fit on every measured variant (after cross-validating with ``cv_scheme`` when given); ``ctx`` (a
    JobContext) hears of the folds and the final fit and may cancel between them.

    ``sites`` (a :class:`~protein_studio.engines.structure_gp.SiteTable`) is what the ``structure-gp``
    regressor reads of the structure; a Gaussian process keeps every one-hot column, so that its uncertainty
    about a position never measured is that of the model as fitted."""
    if regressor not in REGRESSORS:
        raise InputError(f"unknown regressor '{regressor}'; use one of {', '.join(REGRESSORS)}")
    if regressor == "structure-gp" and sites is None:
        raise UserError("the structure-aware Gaussian process needs the structure's sites (ProteinMPNN's "
                        "distributions and the C-alpha atoms): open or give a structure of the protein")
    features.keep_constant = regressor == "gp"
    given = len(variants)
    variants, values = _clean(variants, values, features)
    if len(variants) < 3:
        dropped = f" ({given - len(variants)} of {given} had no zero-shot score)" if given > len(variants) else ""
        raise InputError(f"at least 3 measured variants are needed to fit a model, not {len(variants)}{dropped}")
    _check_size(regressor, variants, features)
    cv = (cross_validate(wild_type, variants, values, features=features, regressor=regressor, alpha=alpha,
                         scheme=cv_scheme, k=k, seed=seed, sites=sites, ctx=ctx) if cv_scheme else None)
    if ctx is not None:
        ctx.check_cancelled()
        ctx.progress(k if cv_scheme else 0, (k if cv_scheme else 0) + 1, f"fitting on all {len(variants)} variants")
    estimator = _fit_estimator(regressor, alpha, features, variants, values, seed, sites, ctx)
    from protein_studio import __version__

    record = {"application": f"protein-studio {__version__}", "regressor": regressor, "alpha": alpha,
              "features": list(features.names), "n": len(variants),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if regressor == "structure-gp":
        record["structure"] = dict(sites.provenance)
        record["mean_function"] = ("the zero-shot feature" if "zeroshot" in features.names
                                   else f"{sites.provenance.get('model', 'ProteinMPNN')} additive log-ratio")
    record.update(provenance or {})
    return FittedModel(wild_type, features, regressor, alpha, list(variants), values, estimator, cv, record)


def load_model_file(path: str | Path, *, embedder: Callable | None = None,
                    zeroshot: Callable | None = None) -> FittedModel:
    """Read a model saved by :meth:`FittedModel.save` (JSON; never unpickles).

    Raises
    ------
    InputError
        Not such a file, damaged, or a feature it needs is not given (``embedder``, ``zeroshot``).
    """
    path = Path(path)
    return model_from_dict(read_model_json(path), embedder=embedder, zeroshot=zeroshot, source=path.name)


def read_model_json(path: str | Path) -> dict:
    """The JSON object of a fitted-model file, read with bounds (size, nesting).

    Raises
    ------
    InputError
        Not a regular file, larger than :data:`MAX_MODEL_FILE_BYTES`, not JSON, nested too deep, not an object.
    """
    from protein_studio.core.files import describe_path, read_input_text

    path = Path(path)
    if describe_path(path) is None and path.stat().st_size > MAX_MODEL_FILE_BYTES:
        raise InputError(f"is larger than {MAX_MODEL_FILE_BYTES // (1024 * 1024)} MB: not a model written by "
                         f"protein-studio fit", source=path.name)
    try:
        data = json.loads(read_input_text(path, "a fitted model"))
    except InputError:
        raise
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(f"not a model written by protein-studio fit ({reason})", source=path.name) from None
    if not isinstance(data, dict):
        raise InputError("not a model written by protein-studio fit (not a JSON object)", source=path.name)
    return data


def _check_model_data(data: Mapping, source: str) -> None:
    """Sizes and kinds a fitted model's data must have before any of it is used (a tampered file must not take
    the memory): a protein sequence, as many values as variants, columns inside the one-hot matrix."""
    wild_type = data.get("wild_type")
    if not isinstance(wild_type, str) or not 1 <= len(wild_type) <= MAX_MODEL_LENGTH:
        raise InputError(f"damaged model file: its wild type is not a protein sequence of 1 to {MAX_MODEL_LENGTH:,} "
                         f"residues", source=source)
    variants, values = data.get("variants"), data.get("values")
    if not isinstance(variants, list) or not isinstance(values, list) or len(variants) != len(values):
        raise InputError("damaged model file: its variants and values are not two lists of one length", source=source)
    from protein_studio.engines.structure_gp import MAX_VARIANTS

    limit = {"gp": GP_MAX_VARIANTS, "structure-gp": MAX_VARIANTS}.get(data.get("regressor"), MAX_MODEL_VARIANTS)
    if len(variants) > limit:
        raise InputError(f"damaged model file: {len(variants):,} training variants, more than a "
                         f"{data.get('regressor')} model here holds ({limit:,})", source=source)
    spec = data.get("features")
    columns = spec.get("columns") if isinstance(spec, Mapping) else None
    width = 20 * len(wild_type)
    if not isinstance(columns, list) or len(columns) > width or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c < width for c in columns):
        raise InputError("damaged model file: its one-hot columns are not columns of its wild type", source=source)
    for key, most in (("coef", width + 100_000), ("kernel_theta", 16)):
        if key in data and (not isinstance(data[key], list) or len(data[key]) > most):
            raise InputError(f"damaged model file: its {key} is not a list of at most {most:,} numbers",
                             source=source)


def model_from_dict(data: Mapping, *, embedder: Callable | None = None, zeroshot: Callable | None = None,
                    source: str = "model") -> FittedModel:
    """The model of :meth:`FittedModel.to_dict` data (a file or a project record)."""
    try:
        if not isinstance(data, Mapping) or data.get("format") != "protein-studio fitted model":
            raise InputError("not a model written by protein-studio fit", source=source)
        _check_model_data(data, source)
        spec = data["features"]
        features = FeatureSet(data["wild_type"], tuple(spec["names"]), embedder, zeroshot,
                              columns=np.asarray(spec["columns"], dtype=int),
                              keep_constant=bool(spec.get("keep_constant", False)), zs_mean=float(spec["zs_mean"]),
                              zs_std=float(spec["zs_std"]))
        variants = [parse_mutant(v) for v in data["variants"]]
        values = np.asarray(data["values"], dtype=float)
        regressor = data["regressor"]
        if regressor not in REGRESSORS:
            raise InputError(f"damaged model file: unknown regressor {str(regressor)[:40]!r}", source=source)
        if regressor == "structure-gp":
            from protein_studio.engines.structure_gp import StructureGP

            estimator = StructureGP.from_dict(data.get("kernel"), data["wild_type"], variants, values,
                                              zeroshot=_structure_zeroshot(features),
                                              embedder=_structure_embedder(features), source=source)
        else:
            estimator = _regressor(regressor, float(data["alpha"]))
        if regressor == "structure-gp":
            pass
        elif regressor == "ridge":
            estimator.coef_ = np.asarray(data["coef"], dtype=float)
            estimator.intercept_ = float(data["intercept"])
            estimator.n_features_in_ = estimator.coef_.shape[0]
        else:  # the same posterior: the fitted kernel, no optimisation, the same training data
            estimator.kernel = estimator.kernel.clone_with_theta(np.asarray(data["kernel_theta"], dtype=float))
            estimator.optimizer = None
            estimator.fit(features.transform(variants), values)
        cv = data.get("cv")
        cv = CrossValidation.from_dict(cv) if cv else None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"damaged model file ({type(exc).__name__}: {exc})", source=source) from None
    return FittedModel(data["wild_type"], features, regressor, float(data["alpha"]), variants, values, estimator, cv,
                       dict(data.get("provenance", {})))


# ------------------------------------------------------------------------------------------ proposals
def all_singles(wild_type: str) -> list[MultiMutant]:
    """Every single substitution of ``wild_type`` (19 per standard position), in sequence order."""
    return [MultiMutant((Mutation(i + 1, wt, mt),)) for i, wt in enumerate(wild_type) if wt in _AA
            for mt in AMINO_ACIDS if mt != wt]


@dataclass(frozen=True)
class Proposal:
    """A variant proposed for the next round.

    Attributes
    ----------
    variant : MultiMutant
    predicted : float
        The model's prediction (measured units).
    std : float
        Its standard deviation (Gaussian processes; NaN for ridge).
    acquisition : float
        What it was ranked by (``predicted + explore * std``).
    gain, gain_std : float
        Predicted minus the wild type's prediction, and the standard deviation of that difference.
    extrapolation : str
        Empty, or why the prediction says little (no measured position near it; at the model's prior).
    tied : int
        How many other candidates the model scored exactly the same (the choice among them is not the model's).
    """

    variant: MultiMutant
    predicted: float
    std: float
    acquisition: float
    gain: float = float("nan")
    gain_std: float = float("nan")
    extrapolation: str = ""
    tied: int = 0

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % interval of the gain (NaN when the model has no spread)."""
        half = INTERVAL_Z * self.gain_std
        return self.gain - half, self.gain + half


#: Standard normal quantile of a two-sided 95 % interval.
INTERVAL_Z = 1.959964
#: A posterior standard deviation above this fraction of the prior's: the data say (almost) nothing there.
PRIOR_FRACTION = 0.9


@dataclass
class ProposalRound:
    """What :func:`propose` chose, with warnings a lab should read before ordering, and why nothing was chosen
    when nothing was."""

    proposals: list
    warnings: list = field(default_factory=list)
    reason: str = ""

    def __iter__(self):
        return iter(self.proposals)

    def __len__(self) -> int:
        return len(self.proposals)

    def __getitem__(self, index):
        return self.proposals[index]


def _tiebreak(model: FittedModel, pool: Sequence[MultiMutant]) -> np.ndarray:
    """What breaks a tie in the prediction: the model's zero-shot score (its own, or ProteinMPNN's for the
    structure-aware GP); -inf where unknown, 0 for a model without one."""
    if model.regressor == "structure-gp":
        prior = model.estimator.zero_shot(pool)  # the GP's mean function: the user's score or ProteinMPNN's
    elif "zeroshot" in model.features.names:
        prior = model.features.zero_shot(pool)
    else:
        return np.zeros(len(pool))
    return np.where(np.isfinite(prior), prior, -np.inf)


def _tied(k: int, score: np.ndarray, prior: np.ndarray, std: np.ndarray) -> int:
    """How many other candidates match candidate ``k`` in every key of the ranking."""
    same = (np.isclose(score, score[k], rtol=1e-9, atol=1e-12) & np.isclose(prior, prior[k], rtol=1e-9, atol=1e-12)
            & np.isclose(std, std[k], rtol=1e-9, atol=1e-12))
    return int(same.sum()) - 1


def _extrapolations(model: FittedModel, pool: Sequence[MultiMutant], std: np.ndarray) -> list[str]:
    """Why each candidate's prediction says little ('' where it does not): a Gaussian process at its prior
    (the measurements say nothing of it); a ridge model on positions never measured."""
    measured_positions = {m.position for v in model.variants for m in v.mutations}
    reasons = []
    prior = model.prior_std(pool) if model.has_uncertainty else np.full(len(pool), np.nan)
    for k, variant in enumerate(pool):
        if model.has_uncertainty and np.isfinite(prior[k]) and std[k] >= PRIOR_FRACTION * prior[k]:
            reasons.append("at the model's prior: no measurement informs it")
        elif not model.has_uncertainty and not any(m.position in measured_positions for m in variant.mutations):
            reasons.append("position never measured: the prediction is the model's baseline")
        else:
            reasons.append("")
    return reasons


def combinations_of(singles: Sequence[MultiMutant], order: int = 2) -> list[MultiMutant]:
    """Every combination of ``order`` of ``singles`` at distinct positions."""
    from itertools import combinations

    out = []
    for group in combinations(singles, order):
        mutations = [m for v in group for m in v.mutations]
        if len({m.position for m in mutations}) == len(mutations):
            out.append(MultiMutant(tuple(mutations)))
    return out


def propose(model: FittedModel, n: int = 24, *, candidates: Sequence[MultiMutant] | None = None,
            per_position: int = 1, min_distance: int = 0, explore: float = 0.0,
            exclude: Sequence[MultiMutant] = (), skip: set[int] | frozenset = frozenset(),
            allow_start: bool = False, combinations: int = 0, combine_from: int = 12) -> ProposalRound:
    """The next round: the best ``n`` candidates by predicted value, made diverse, each with its predicted gain
    over the wild type and an interval; then ``combinations`` multi-mutants of the best singles, scored as
    combinations by the same model.

    Parameters
    ----------
    candidates : sequence of MultiMutant, optional
        Default: every single substitution.
    per_position : int
        At most this many proposals mutate the same position.
    min_distance : int
        Chosen positions are at least this far apart along the sequence (0: no rule; positions already used
        by an earlier proposal are allowed again up to ``per_position``).
    explore : float
        Upper-confidence exploration: rank by ``mean + explore * std`` (a Gaussian process's uncertainty; no
        effect for ridge).
    exclude : sequence of MultiMutant
        Never propose these (the measured variants are always excluded).
    skip : set of int
        0-based positions never mutated (a chromophore, a region the user excluded).
    allow_start : bool
        Allow mutating a Met at position 1 (the start codon): left out unless asked.
    combinations : int
        How many double mutants to add: pairs of the model's best ``combine_from`` singles (one per position,
        measured singles included), scored as pairs.

    Ties are broken by the model (its zero-shot score, then the smaller uncertainty), never by the order of
    the candidates; candidates it still cannot tell apart are counted in :attr:`Proposal.tied`.
    """
    if n < 1:
        raise InputError("propose at least one variant")
    if per_position < 1:
        raise InputError("at least one proposal per position must be allowed")
    skip = set(skip)
    if not allow_start and model.wild_type[:1] == "M":
        skip.add(0)
    pool = list(candidates) if candidates is not None else all_singles(model.wild_type)
    excluded = set(model.variants) | set(exclude)
    given = len(pool)
    pool = [v for v in pool if v not in excluded]
    measured = given - len(pool)
    pool = [v for v in pool if not any(m.position - 1 in skip for m in v.mutations)]
    skipped = given - measured - len(pool)
    proposals, warnings = [], []
    if candidates is None and pool:  # every single: the model's matrices, made once on the fit's worker
        mean_matrix, std_matrix = model.singles_matrices()
        rows = [v.mutations[0].position - 1 for v in pool]
        columns = [_AA[v.mutations[0].mt] for v in pool]
        mean, std = mean_matrix[rows, columns], std_matrix[rows, columns]
    else:
        mean, std = model.predict(pool, return_std=True) if pool else (np.zeros(0), np.zeros(0))
    scorable = np.isfinite(mean)
    if scorable.any():
        chosen_index = _choose(model, pool, mean, std, n, per_position, min_distance, explore)
        proposals = _proposals(model, pool, mean, std, chosen_index, explore)
        if len(proposals) < n:
            warnings.append(f"only {len(proposals)} of the {n} singles asked for: {measured} candidates are measured "
                            f"or listed already, {skipped} mutate an excluded position"
                            + (", the rest fail the diversity rules" if len(proposals) < int(scorable.sum()) else ""))
    if combinations > 0:
        doubles = _best_doubles(model, skip, excluded, combinations, combine_from, explore)
        proposals += doubles
        if not doubles:
            warnings.append("no double mutant to propose: every pair of the best singles is measured or listed")
    if not proposals:
        if not pool:
            reason = f"no candidate is left: {measured} are measured or listed already and {skipped} mutate an " \
                     f"excluded position"
        elif not scorable.any():
            reason = f"{len(pool)} candidates, but " + (
                "none of them has a zero-shot score (the zero-shot feature needs one for every candidate: give a "
                "table that covers them, or a model)" if "zeroshot" in model.features.names
                else "the model predicts none of them")
        else:
            reason = "no candidate passed the diversity rules (per position, distance)"
        return ProposalRound([], warnings, reason)
    lacking = int((~scorable).sum()) if len(pool) else 0
    if lacking:
        warnings.append(f"{lacking} of {len(pool)} candidates have no prediction (no zero-shot score) and were "
                        f"not considered")
    if proposals and all(p.gain < 0 for p in proposals if np.isfinite(p.gain)) and \
            any(np.isfinite(p.gain) for p in proposals):
        warnings.append("every proposal is predicted below the wild type: these are the least harmful "
                        "substitutions, not improvements (an extrapolation beyond what was measured)")
    far = [p for p in proposals if p.extrapolation]
    if far:
        warnings.append(f"{len(far)} of {len(proposals)} proposals are extrapolations ({far[0].extrapolation}); "
                        f"measure around them before trusting their rank")
    tied = sum(p.tied > 0 for p in proposals)
    if tied:
        warnings.append(f"{tied} proposals are tied with other candidates the model scores the same: the model "
                        f"cannot choose among them")
    return ProposalRound(proposals, warnings)


def _best_doubles(model: FittedModel, skip, excluded, count: int, combine_from: int, explore: float) -> list:
    """The best ``count`` pairs of the model's best ``combine_from`` singles (one per position, measured ones
    included: after a full scan the next round combines what worked), scored as pairs, not measured or listed."""
    mean, _std = model.singles_matrices()
    order = np.argsort(-np.where(np.isfinite(mean), mean, -np.inf), axis=None, kind="stable")
    base, used = [], set()
    for flat in order:
        i, column = divmod(int(flat), 20)
        if not np.isfinite(mean[i, column]) or i in skip or i in used:
            continue
        base.append(MultiMutant((Mutation(i + 1, model.wild_type[i], AMINO_ACIDS[column]),)))
        used.add(i)
        if len(base) >= combine_from:
            break
    pairs = [v for v in combinations_of(base) if v not in excluded]
    if not pairs:
        return []
    pair_mean, pair_std = model.predict(pairs, return_std=True)
    index = _choose(model, pairs, pair_mean, pair_std, count, len(pairs), 0, explore)
    return _proposals(model, pairs, pair_mean, pair_std, index, explore)


def _ranking(model: FittedModel, pool, mean, std, explore: float):
    """The keys candidates are ranked by: score (``mean + explore * std``), tie-break, uncertainty."""
    std = np.where(np.isfinite(std), std, 0.0)
    score = mean + (explore * std if model.has_uncertainty else 0.0)
    return np.where(np.isfinite(score), score, -np.inf), _tiebreak(model, pool), std


def _choose(model: FittedModel, pool, mean, std, n: int, per_position: int, min_distance: int,
            explore: float) -> list[int]:
    """Indices of the best ``n`` of ``pool`` under the diversity rules; ties broken by the model's zero-shot
    score, then by the smaller uncertainty, never by the pool's order."""
    score, prior, spread = _ranking(model, pool, mean, std, explore)
    order = [int(k) for k in np.lexsort((spread, -prior, -score)) if np.isfinite(score[k])]
    chosen: list[int] = []
    used: dict[int, int] = {}
    for k in order:
        positions = [m.position for m in pool[k].mutations]
        if any(used.get(p, 0) >= per_position for p in positions):
            continue
        if min_distance > 0 and any(0 < abs(p - q) < min_distance for p in positions for q in used):
            continue
        chosen.append(k)
        for p in positions:
            used[p] = used.get(p, 0) + 1
        if len(chosen) >= n:
            break
    return chosen


def _proposals(model: FittedModel, pool, mean, std, chosen: list[int], explore: float) -> list[Proposal]:
    if not chosen:
        return []
    variants = [pool[k] for k in chosen]
    gain, gain_std = model.gain(variants)
    reasons = _extrapolations(model, variants, std[chosen])
    score, prior, spread = _ranking(model, pool, mean, std, explore)
    return [Proposal(variant, float(mean[k]), float(std[k]), float(score[k]), float(g), float(s), reason,
                     _tied(k, score, prior, spread))
            for variant, k, g, s, reason in zip(variants, chosen, gain, gain_std, reasons)]
