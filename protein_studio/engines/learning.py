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

Regression: ridge (scikit-learn ``Ridge``, default) or a Gaussian process (``GaussianProcessRegressor``,
constant x RBF + white noise, hyper-parameters fitted by maximum likelihood), which also gives an
uncertainty. An exact GP costs n^3 time and n^2 memory: its hyper-parameters are fitted on a seeded random
:data:`GP_HYPERPARAMETER_SUBSET` of the variants when there are more, then the posterior is the exact one on
all of them with those hyper-parameters; more than :data:`GP_MAX_VARIANTS` are refused (ridge takes any
number). Cross-validation splits the variants by ProteinGym's three schemes over their (first) mutated
position: ``random`` (shuffled folds of variants), ``contiguous`` (the protein cut into k stretches of
positions) and ``modulo`` (position mod k).

A fitted model is saved as JSON (coefficients, kernel parameters, training variants and values, features,
provenance); nothing is pickled.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import MultiMutant, Mutation, parse_mutant
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.engines.methods import CV_SCHEMES, FEATURES, REGRESSORS

__all__ = [
    "FEATURES", "REGRESSORS", "CV_SCHEMES", "FeatureSet", "FittedModel", "CrossValidation", "Proposal",
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
            self.columns = varying_onehot_columns(self.wild_type, variants)
        if "zeroshot" in self.names:
            values = np.asarray(self.zeroshot(list(variants)), dtype=float)
            finite = values[np.isfinite(values)]
            self.zs_mean = float(finite.mean()) if finite.size else 0.0
            self.zs_std = float(finite.std()) if finite.size and finite.std() > 0 else 1.0

    def transform(self, variants: Sequence[MultiMutant]) -> np.ndarray:
        """Feature rows of ``variants`` (after :meth:`prepare`); rows with an unknown zero-shot score are NaN."""
        blocks = []
        if "onehot" in self.names:
            blocks.append(onehot_columns(self.wild_type, variants, self.columns))
        if "embeddings" in self.names:
            rows = []
            for variant in variants:
                sequence = _sequence(self.wild_type, variant)
                if sequence not in self._cache:
                    self._cache[sequence] = np.asarray(self.embedder(sequence), dtype=float)
                per_residue = self._cache[sequence]
                rows.append(per_residue[[m.position - 1 for m in variant.mutations]].mean(axis=0))
            blocks.append(np.vstack(rows) if rows else np.zeros((0, 1)))
        if "zeroshot" in self.names:
            values = np.asarray(self.zeroshot(list(variants)), dtype=float)
            blocks.append(((values - self.zs_mean) / self.zs_std * ZEROSHOT_WEIGHT)[:, None])
        return np.hstack(blocks) if blocks else np.zeros((len(variants), 0))

    def to_dict(self) -> dict:
        return {"names": list(self.names), "columns": [] if self.columns is None else self.columns.tolist(),
                "zs_mean": self.zs_mean, "zs_std": self.zs_std}


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


def _fit_estimator(regressor: str, alpha: float, x: np.ndarray, y: np.ndarray, seed: int = 0):
    """The regressor fitted on ``x``, ``y``; a GP on more than :data:`GP_HYPERPARAMETER_SUBSET` variants gets its
    hyper-parameters from a seeded subset and its exact posterior from all of them."""
    estimator = _regressor(regressor, alpha)
    if regressor != "gp" or len(y) <= GP_HYPERPARAMETER_SUBSET:
        return estimator.fit(x, y)
    subset = np.random.default_rng(seed).choice(len(y), GP_HYPERPARAMETER_SUBSET, replace=False)
    estimator.fit(x[subset], y[subset])
    exact = _regressor(regressor, alpha)
    exact.kernel, exact.optimizer = estimator.kernel_, None
    return exact.fit(x, y)


def _check_size(regressor: str, variants: Sequence[MultiMutant], features: FeatureSet) -> None:
    """Refuse, before any work, a fit whose kernel or feature matrix would not fit the memory budget."""
    n = len(variants)
    if regressor == "gp" and n > GP_MAX_VARIANTS:
        raise InputError(f"{n:,} measured variants are more than an exact Gaussian process takes here "
                         f"({GP_MAX_VARIANTS:,}: its n x n kernel would not fit the memory); use --regressor ridge, or "
                         f"fit on a subset")
    width = len(varying_onehot_columns(features.wild_type, variants)) if "onehot" in features.names else 0
    width += ("zeroshot" in features.names) + 1
    if n * width * 8 > MAX_FEATURE_BYTES:
        raise InputError(f"{n:,} measured variants x {width:,} one-hot features would take "
                         f"{n * width * 8 / 2**30:.1f} GB, more than the {MAX_FEATURE_BYTES / 2**30:.1f} GB a fit may "
                         f"use; fit on a subset of the variants (e.g. the singles and doubles)")


@dataclass(frozen=True)
class CrossValidation:
    """Held-out Spearman correlation of each fold, and the scheme that made the folds."""

    scheme: str
    k: int
    spearman: tuple
    n: int

    @property
    def mean(self) -> float:
        finite = [s for s in self.spearman if math.isfinite(s)]
        return float(np.mean(finite)) if finite else float("nan")

    @property
    def std(self) -> float:
        finite = [s for s in self.spearman if math.isfinite(s)]
        return float(np.std(finite)) if finite else float("nan")

    def describe(self) -> str:
        folds = ", ".join("n/a" if not math.isfinite(s) else f"{s:.3f}" for s in self.spearman)
        text = (f"{self.scheme} {self.k}-fold CV over {self.n} variants: Spearman {self.mean:.3f} +/- {self.std:.3f} "
                f"(folds {folds})")
        if any(not math.isfinite(s) for s in self.spearman):
            text += ("; n/a: the held-out predictions did not vary (one-hot features say nothing about positions "
                     "never measured in training; add the zero-shot feature)")
        return text

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "k": self.k, "spearman": list(self.spearman), "n": self.n,
                "mean": self.mean, "std": self.std}


def _clean(variants, values, features: FeatureSet):
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    if "zeroshot" in features.names:
        keep &= np.isfinite(np.asarray(features.zeroshot(list(variants)), dtype=float))
    return [v for v, k in zip(variants, keep) if k], values[keep]


def cross_validate(wild_type: str, variants: Sequence[MultiMutant], values, *, features: FeatureSet,
                   regressor: str = "ridge", alpha: float = 1.0, scheme: str = "random", k: int = 5,
                   seed: int = 0, ctx=None) -> CrossValidation:
    """Held-out Spearman of each fold: fit on the other folds (features prepared on them alone), predict this
    one. Variants without a value (or without a zero-shot score when that is a feature) are left out.
    ``ctx`` (a JobContext) hears of each fold and may cancel between them."""
    from scipy.stats import spearmanr

    variants, values = _clean(variants, values, features)
    _check_size(regressor, variants, features)
    folds = cv_folds(variants, scheme, k, seed)
    scores = []
    for fold in range(k):
        if ctx is not None:
            ctx.check_cancelled()
            ctx.progress(fold, k + 1, f"{scheme} cross-validation: fold {fold + 1} of {k}")
        train, test = folds != fold, folds == fold
        if train.sum() < 2 or test.sum() < 2:
            scores.append(float("nan"))
            continue
        fold_features = FeatureSet(wild_type, features.names, features.embedder, features.zeroshot,
                                   _cache=features._cache)
        train_variants = [v for v, t in zip(variants, train) if t]
        test_variants = [v for v, t in zip(variants, test) if t]
        fold_features.prepare(train_variants)
        model = _fit_estimator(regressor, alpha, fold_features.transform(train_variants), values[train], seed)
        predicted = model.predict(fold_features.transform(test_variants))
        if is_constant(predicted) or is_constant(values[test]):
            scores.append(float("nan"))  # no ranking to compare (one-hot cannot reach unseen positions)
            continue
        rho = spearmanr(values[test], predicted).statistic
        scores.append(float(rho) if np.isfinite(rho) else float("nan"))
    return CrossValidation(scheme, k, tuple(scores), len(variants))


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

    def predict(self, variants: Sequence[MultiMutant], return_std: bool = False):
        """Predicted values (and, for a Gaussian process with ``return_std``, their standard deviations);
        NaN for a variant without a zero-shot score when that is a feature."""
        variants = list(variants)
        mean = np.full(len(variants), np.nan)
        std = np.full(len(variants), np.nan)
        for start in range(0, len(variants), PREDICT_CHUNK):  # feature rows of a few thousand at a time
            chunk = slice(start, start + PREDICT_CHUNK)
            X = self.features.transform(variants[chunk])
            ok = np.all(np.isfinite(X), axis=1)
            if not ok.any():
                continue
            part_mean, part_std = mean[chunk], std[chunk]
            if return_std and self.regressor == "gp":
                part_mean[ok], part_std[ok] = self.estimator.predict(X[ok], return_std=True)
            else:
                part_mean[ok] = self.estimator.predict(X[ok])
        return (mean, std) if return_std else mean

    def predict_singles(self) -> np.ndarray:
        """L x 20 predicted values of every single substitution (the wild type's own cell: NaN)."""
        singles = all_singles(self.wild_type)
        out = np.full((len(self.wild_type), 20), np.nan)
        values = self.predict(singles)
        for variant, value in zip(singles, values):
            m = variant.mutations[0]
            out[m.position - 1, _AA[m.mt]] = value
        return out

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
        else:
            data["kernel_theta"] = np.asarray(self.estimator.kernel_.theta, dtype=float).tolist()
        return data

    def save(self, path: str | Path) -> Path:
        from protein_studio.core.files import write_text_atomically

        return write_text_atomically(path, json.dumps(self.to_dict(), indent=1) + "\n")


def fit(wild_type: str, variants: Sequence[MultiMutant], values, *, features: FeatureSet, regressor: str = "ridge",
        alpha: float = 1.0, cv_scheme: str | None = "random", k: int = 5, seed: int = 0,
        provenance: Mapping | None = None, ctx=None) -> FittedModel:
    """Fit on every measured variant (after cross-validating with ``cv_scheme`` when given); ``ctx`` (a
    JobContext) hears of the folds and the final fit and may cancel between them."""
    given = len(variants)
    variants, values = _clean(variants, values, features)
    if len(variants) < 3:
        dropped = f" ({given - len(variants)} of {given} had no zero-shot score)" if given > len(variants) else ""
        raise InputError(f"at least 3 measured variants are needed to fit a model, not {len(variants)}{dropped}")
    _check_size(regressor, variants, features)
    cv = (cross_validate(wild_type, variants, values, features=features, regressor=regressor, alpha=alpha,
                         scheme=cv_scheme, k=k, seed=seed, ctx=ctx) if cv_scheme else None)
    if ctx is not None:
        ctx.check_cancelled()
        ctx.progress(k if cv_scheme else 0, (k if cv_scheme else 0) + 1, f"fitting on all {len(variants)} variants")
    features.prepare(variants)
    estimator = _fit_estimator(regressor, alpha, features.transform(variants), values, seed)
    from protein_studio import __version__

    record = {"application": f"protein-studio {__version__}", "regressor": regressor, "alpha": alpha,
              "features": list(features.names), "n": len(variants),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
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
    limit = GP_MAX_VARIANTS if data.get("regressor") == "gp" else MAX_MODEL_VARIANTS
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
                              columns=np.asarray(spec["columns"], dtype=int), zs_mean=float(spec["zs_mean"]),
                              zs_std=float(spec["zs_std"]))
        variants = [parse_mutant(v) for v in data["variants"]]
        values = np.asarray(data["values"], dtype=float)
        regressor = data["regressor"]
        estimator = _regressor(regressor, float(data["alpha"]))
        if regressor == "ridge":
            estimator.coef_ = np.asarray(data["coef"], dtype=float)
            estimator.intercept_ = float(data["intercept"])
            estimator.n_features_in_ = estimator.coef_.shape[0]
        else:  # the same posterior: the fitted kernel, no optimisation, the same training data
            estimator.kernel = estimator.kernel.clone_with_theta(np.asarray(data["kernel_theta"], dtype=float))
            estimator.optimizer = None
            estimator.fit(features.transform(variants), values)
        cv = data.get("cv")
        cv = CrossValidation(cv["scheme"], int(cv["k"]), tuple(cv["spearman"]), int(cv["n"])) if cv else None
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
    """A variant proposed for the next round, with its predicted value (and uncertainty for a GP)."""

    variant: MultiMutant
    predicted: float
    std: float
    acquisition: float


def propose(model: FittedModel, n: int = 24, *, candidates: Sequence[MultiMutant] | None = None,
            per_position: int = 1, min_distance: int = 0, explore: float = 0.0,
            exclude: Sequence[MultiMutant] = (), skip: set[int] | frozenset = frozenset()) -> list[Proposal]:
    """The next round: the best ``n`` candidates by predicted value, made diverse.

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
        0-based positions never mutated (a chromophore).
    """
    if n < 1:
        raise InputError("propose at least one variant")
    if per_position < 1:
        raise InputError("at least one proposal per position must be allowed")
    pool = list(candidates) if candidates is not None else all_singles(model.wild_type)
    excluded = set(model.variants) | set(exclude)
    pool = [v for v in pool if v not in excluded and not any(m.position - 1 in skip for m in v.mutations)]
    mean, std = model.predict(pool, return_std=True)
    std = np.where(np.isfinite(std), std, 0.0)
    score = mean + (explore * std if model.regressor == "gp" else 0.0)
    order = [int(k) for k in np.argsort(-np.where(np.isfinite(score), score, -np.inf), kind="stable")
             if np.isfinite(score[k])]
    chosen: list[Proposal] = []
    used: dict[int, int] = {}
    for k in order:
        positions = [m.position for m in pool[k].mutations]
        if any(used.get(p, 0) >= per_position for p in positions):
            continue
        if min_distance > 0 and any(0 < abs(p - q) < min_distance for p in positions for q in used):
            continue
        chosen.append(Proposal(pool[k], float(mean[k]), float(std[k]), float(score[k])))
        for p in positions:
            used[p] = used.get(p, 0) + 1
        if len(chosen) >= n:
            break
    return chosen
