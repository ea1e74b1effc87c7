"""A structure-aware Gaussian process for measured variants (the kernel of Kermut, Groth et al. 2024).

One-hot features know nothing of a position that was never measured. This kernel compares two mutations by
what the structure says of their sites, so it reaches positions that were not:

* **site similarity**: ``exp(-gamma_site * H(i, j))``, H the Hellinger distance between ProteinMPNN's
  conditional amino-acid distributions at sites i and j (each decoded last on the wild-type backbone);
* **substitution likelihood**: ``exp(-gamma_substitution * |p_i(a) - p_j(b)|)``, p_i(a) ProteinMPNN's
  probability of the new letter a at site i;
* **spatial proximity**: ``exp(-d(i, j) / rho)``, d the distance between the Calpha atoms in angstroms.

Their product, summed over every pair of mutations of two variants (so multi-mutants go through the same
kernel), is the structure term. Mutations at residues the structure lacks (a signal peptide) have none.
The sequence term is an RBF on the one-hot encoded variant sequences, ``exp(-hamming / length**2)`` (the full
L x 20 encoding: ``|x - x'|**2`` is twice the Hamming distance), plus, when ESM embeddings are given, an RBF
on the variant's per-residue embeddings averaged over its mutated positions. The kernel is
``scale_structure * structure + scale_sequence * sequence [+ scale_embedding * embedding] + noise``.

The mean function is linear in a zero-shot score (``c0 + c1 * z``): by default ProteinMPNN's additive
``log p(mt) - log p(wt)`` of the same per-site distributions, or the user's own zero-shot score.

Hyper-parameters (and the mean's two coefficients) maximise the marginal likelihood (L-BFGS-B on torch's
gradients, float64) on at most :data:`HYPERPARAMETER_SUBSET` variants (a seeded random subset); the posterior
is then the exact one on all training variants with those hyper-parameters. Predictions carry the posterior
standard deviation of the latent value (measurement noise excluded), and :meth:`StructureGP.gain` gives the
predicted difference from the wild type with its own standard deviation (their posterior covariance
included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.mutations import MultiMutant
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.engines.methods import STRUCTURE_GP_MODEL

__all__ = ["SiteTable", "site_table", "StructureGP", "HYPERPARAMETER_SUBSET", "MAX_VARIANTS", "DEFAULT_MODEL",
           "HYPERPARAMETERS", "WILD_TYPE", "describe"]

_AA = {aa: i for i, aa in enumerate(AMINO_ACIDS)}
#: The ProteinMPNN weights whose site distributions the kernel reads.
DEFAULT_MODEL = STRUCTURE_GP_MODEL
#: Variants the hyper-parameters are fitted on (a seeded random subset when there are more).
HYPERPARAMETER_SUBSET = 1200
#: Most training variants (the n x n kernel and its Cholesky factor: 2 x 290 MB at 6,000).
MAX_VARIANTS = 6000
#: Rows of a kernel block made at once (a block is rows x training mutations float64 numbers, a few of them).
_BLOCK = 1024
#: The kernel's positive hyper-parameters (optimised in log space), their starting values and bounds.
HYPERPARAMETERS = {
    "scale_structure": (1.0, (1e-3, 1e2)),
    "scale_sequence": (0.5, (1e-3, 1e2)),
    "scale_embedding": (0.5, (1e-3, 1e2)),
    "gamma_site": (1.0, (1e-2, 1e2)),
    "gamma_substitution": (1.0, (1e-2, 1e2)),
    "rho": (10.0, (1.0, 200.0)),
    "length": (1.5, (0.3, 30.0)),
    "length_embedding": (1.0, (1e-2, 1e3)),
    "noise": (0.3, (1e-4, 10.0)),
}
_ITERATIONS = 200


# ------------------------------------------------------------------------------------------ site table
@dataclass
class SiteTable:
    """What the kernel knows of each position of the wild type.

    Attributes
    ----------
    log_probs : numpy.ndarray
        L x 20 natural-log probabilities of each letter (AMINO_ACIDS order) at each position, decoded last on
        the wild-type backbone; NaN rows where the structure lacks the residue.
    ca : numpy.ndarray
        L x 3 Calpha coordinates in angstroms; NaN where absent.
    provenance : dict
        The structure, the ProteinMPNN weights (SHA-256) and the decoding-order seed.
    """

    log_probs: np.ndarray
    ca: np.ndarray
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        self.log_probs = np.asarray(self.log_probs, dtype=float)
        self.ca = np.asarray(self.ca, dtype=float)
        covered = np.all(np.isfinite(self.log_probs), axis=1) & np.all(np.isfinite(self.ca), axis=1)
        self.covered = covered
        probs = np.where(covered[:, None], np.exp(np.where(covered[:, None], self.log_probs, 0.0)), 0.0)
        total = probs.sum(axis=1, keepdims=True)
        self.probs = np.divide(probs, total, out=np.zeros_like(probs), where=total > 0)

    def __len__(self) -> int:
        return len(self.log_probs)

    def zero_shot(self, wild_type: str, variants: Sequence[MultiMutant]) -> np.ndarray:
        """ProteinMPNN's additive score of each variant: the sum over its mutations of ``log p(mt) - log p(wt)``
        (0 for a mutation at a residue the structure lacks)."""
        out = np.zeros(len(variants))
        for row, variant in enumerate(variants):
            for m in variant.mutations:
                i = m.position - 1
                if self.covered[i] and wild_type[i] in _AA:
                    out[row] += self.log_probs[i, _AA[m.mt]] - self.log_probs[i, _AA[wild_type[i]]]
        return out

    def hellinger(self) -> np.ndarray:
        """L x L Hellinger distances between the positions' distributions (0 where either is absent)."""
        root = np.sqrt(self.probs)
        distance = np.sqrt(np.clip(1.0 - root @ root.T, 0.0, 1.0))
        np.fill_diagonal(distance, 0.0)  # a site is its own distribution (not sqrt of a rounding error)
        return distance

    def distances(self) -> np.ndarray:
        """L x L Calpha distances in angstroms (0 where either is absent)."""
        ca = np.where(self.covered[:, None], self.ca, 0.0)
        return np.sqrt(np.maximum(((ca[:, None, :] - ca[None, :, :]) ** 2).sum(-1), 0.0))

    def to_dict(self) -> dict:
        """JSON-ready (NaN as null), rounded to what the kernel can tell apart."""
        def rows(array, digits):
            return [[None if not math.isfinite(v) else round(float(v), digits) for v in row] for row in array]

        return {"log_probs": rows(self.log_probs, 6), "ca": rows(self.ca, 3), "provenance": dict(self.provenance)}

    @classmethod
    def from_dict(cls, data: Mapping, length: int, source: str = "model") -> "SiteTable":
        """The table of :meth:`to_dict` for a wild type of ``length`` residues; refuses other shapes."""
        try:
            log_probs = np.array([[np.nan if v is None else float(v) for v in row] for row in data["log_probs"]])
            ca = np.array([[np.nan if v is None else float(v) for v in row] for row in data["ca"]])
        except (KeyError, TypeError, ValueError):
            raise InputError("damaged model file: its structure sites are not tables of numbers", source=source) from None
        if log_probs.shape != (length, 20) or ca.shape != (length, 3):
            raise InputError(f"damaged model file: its structure sites are not {length} x 20 and {length} x 3 tables",
                             source=source)
        provenance = data.get("provenance", {})
        return cls(log_probs, ca, dict(provenance) if isinstance(provenance, Mapping) else {})


def site_table(document, loaded, ctx, *, seed: int = 0) -> SiteTable:
    """ProteinMPNN's per-site distributions and the Calpha atoms of ``document``'s structure.

    ``loaded`` is a ProteinMPNN model (bound here to the document's backbone); each position is decoded last
    with the others in one seeded order (:func:`~protein_studio.engines.inverse_folding.scan`).

    Raises
    ------
    UserError
        The document has no structure, or none of its positions has a backbone there.
    """
    from protein_studio.engines.inverse_folding import bind_document, scan

    bound = bind_document(loaded, document)
    result = scan(document.wild_type, bound, ctx, seed=seed)
    backbone = bound.backbone
    ca = np.full((len(document.wild_type), 3), np.nan)
    present = backbone.node_of >= 0
    ca[present] = backbone.backbone.coordinates[backbone.node_of[present], 1]
    provenance = {"model": loaded.spec.name, "weights": result.provenance.get("weights", ""),
                  "structure": document.structure.name, "chain": document.chain, "strategy": result.strategy,
                  "decoding_order_seed": seed, "residues_with_structure": int(present.sum())}
    if result.provenance.get("not_read"):
        provenance["not_read"] = result.provenance["not_read"]
    return SiteTable(result.log_probs, ca, provenance)


# ------------------------------------------------------------------------------------------ encoding
class _WildType:
    """The unmutated sequence as a variant of no mutations (a MultiMutant holds at least one)."""

    mutations: tuple = ()

    def __str__(self) -> str:
        return "wild type"


#: The wild type, for the kernel and an embedder (its ``mutations`` are empty).
WILD_TYPE = _WildType()


@dataclass
class _Encoded:
    """Variants as index arrays: their distinct mutations (site, letter) and which variant holds which."""

    sites: np.ndarray        # per distinct mutation: 0-based position
    letters: np.ndarray      # per distinct mutation: letter index
    rows: np.ndarray         # incidence: variant row of each (variant, mutation) pair
    columns: np.ndarray      # incidence: distinct-mutation column of each pair
    counts: np.ndarray       # mutations per variant
    n: int
    embedding: np.ndarray | None = None

    def incidence(self, torch):
        values = torch.ones(len(self.rows), dtype=torch.float64)
        return torch.sparse_coo_tensor(np.vstack([self.rows, self.columns]), values,
                                       (self.n, len(self.sites)), check_invariants=False).coalesce()

    def subset(self, index: np.ndarray) -> "_Encoded":
        keep = np.isin(self.rows, index)
        new_row = {int(r): k for k, r in enumerate(index)}
        rows = np.array([new_row[int(r)] for r in self.rows[keep]], dtype=np.int64)
        used, columns = np.unique(self.columns[keep], return_inverse=True)
        return _Encoded(self.sites[used], self.letters[used], rows, columns.astype(np.int64), self.counts[index],
                        len(index), None if self.embedding is None else self.embedding[index])


def _encode(variants: Sequence[MultiMutant], embedding: np.ndarray | None = None) -> _Encoded:
    keys: dict[tuple[int, int], int] = {}
    rows, columns, counts = [], [], np.zeros(len(variants), dtype=np.int64)
    for row, variant in enumerate(variants):
        for m in variant.mutations:
            key = (m.position - 1, _AA[m.mt])
            column = keys.setdefault(key, len(keys))
            rows.append(row)
            columns.append(column)
        counts[row] = len(variant.mutations)
    ordered = sorted(keys, key=keys.get)
    sites = np.array([k[0] for k in ordered], dtype=np.int64)
    letters = np.array([k[1] for k in ordered], dtype=np.int64)
    return _Encoded(sites, letters, np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64), counts,
                    len(variants), embedding)


# ------------------------------------------------------------------------------------------ the model
class StructureGP:
    """The structure-aware GP of one wild type: :meth:`fit` it on measured variants, then :meth:`predict`.

    Parameters
    ----------
    wild_type : str
    sites : SiteTable
    zeroshot : callable(list of MultiMutant) -> ndarray, optional
        The mean function's score (default: the sites' ProteinMPNN additive score).
    embedder : callable(list of MultiMutant) -> ndarray (n, D), optional
        Per-variant embeddings for the embedding term (none: no such term).
    """

    def __init__(self, wild_type: str, sites: SiteTable, *, zeroshot: Callable | None = None,
                 embedder: Callable | None = None):
        if len(sites) != len(wild_type):
            raise InputError(f"the structure sites cover {len(sites)} residues, the wild type has {len(wild_type)}")
        if not sites.covered.any():
            raise UserError("no residue of the sequence has a backbone in the structure: the structure-aware GP "
                            "needs the structure of the measured protein")
        self.wild_type = wild_type
        self.sites = sites
        self.zeroshot = zeroshot
        self.embedder = embedder
        self._hellinger = sites.hellinger()
        self._distance = sites.distances()
        self.hyperparameters: dict[str, float] = {}
        self.mean_coefficients = (0.0, 0.0)
        self.y_mean, self.y_std, self.z_mean, self.z_std = 0.0, 1.0, 0.0, 1.0

    # ------------------------------------------------------------------ pieces
    @property
    def uses_embeddings(self) -> bool:
        return self.embedder is not None

    def _names(self) -> list[str]:
        names = ["scale_structure", "scale_sequence", "gamma_site", "gamma_substitution", "rho", "length", "noise"]
        if self.uses_embeddings:
            names[2:2] = ["scale_embedding"]
            names.append("length_embedding")
        return names

    def zero_shot(self, variants) -> np.ndarray:
        """The mean function's score of each variant: the user's zero-shot score, or ProteinMPNN's."""
        if self.zeroshot is not None:
            return np.asarray(self.zeroshot(list(variants)), dtype=float)
        return self.sites.zero_shot(self.wild_type, variants)

    def _encoded(self, variants) -> _Encoded:
        embedding = None
        if self.uses_embeddings:
            embedding = np.asarray(self.embedder(list(variants)), dtype=float).reshape(len(variants), -1)
        return _encode(variants, embedding)

    def _pairs(self, torch, left: _Encoded, right: _Encoded) -> dict:
        """The fixed mutation-level matrices between two sets (what the hyper-parameters multiply)."""
        probs = self.sites.probs
        covered = self.sites.covered
        return {
            "hellinger": torch.as_tensor(self._hellinger[np.ix_(left.sites, right.sites)]),
            "distance": torch.as_tensor(self._distance[np.ix_(left.sites, right.sites)]),
            "substitution": torch.as_tensor(np.abs(probs[left.sites, left.letters][:, None]
                                                   - probs[right.sites, right.letters][None, :])),
            "covered": torch.as_tensor((covered[left.sites][:, None] & covered[right.sites][None, :]).astype(float)),
            "hamming": torch.as_tensor(left.counts[:, None] + right.counts[None, :] - self._pooled_numpy(
                left, right, (left.sites[:, None] == right.sites[None, :]).astype(float)
                + ((left.sites[:, None] == right.sites[None, :])
                   & (left.letters[:, None] == right.letters[None, :])).astype(float))),
            "left": left, "right": right,
            "squared_embedding": None if not self.uses_embeddings else
            torch.cdist(torch.as_tensor(left.embedding), torch.as_tensor(right.embedding)) ** 2,
        }

    @staticmethod
    def _pooled_numpy(left: _Encoded, right: _Encoded, matrix: np.ndarray) -> np.ndarray:
        """``A_left @ matrix @ A_right^T``: a mutation-level matrix summed over each pair of variants."""
        from scipy import sparse

        a = sparse.csr_matrix((np.ones(len(left.rows)), (left.rows, left.columns)), shape=(left.n, len(left.sites)))
        b = sparse.csr_matrix((np.ones(len(right.rows)), (right.rows, right.columns)),
                              shape=(right.n, len(right.sites)))
        return np.asarray((a @ sparse.csr_matrix(matrix) @ b.T).todense()) if matrix.size else np.zeros((left.n, right.n))

    @staticmethod
    def _pooled(torch, left: _Encoded, right: _Encoded, matrix):
        """The torch ``A_left @ matrix @ A_right^T`` (gradients flow through ``matrix``): a gather when every
        variant is a single mutation, sparse products otherwise."""
        if np.all(left.counts == 1) and np.all(right.counts == 1):
            order_left = left.columns[np.argsort(left.rows, kind="stable")]
            order_right = right.columns[np.argsort(right.rows, kind="stable")]
            return matrix[torch.as_tensor(order_left)][:, torch.as_tensor(order_right)]
        a, b = left.incidence(torch), right.incidence(torch)
        return torch.sparse.mm(b, torch.sparse.mm(a, matrix).T).T

    def _cross(self, torch, left: _Encoded, right: _Encoded, p: Mapping, pairs: dict | None = None):
        """The kernel between two sets of variants (noise excluded), as a torch tensor."""
        pairs = self._pairs(torch, left, right) if pairs is None else pairs
        structure = torch.exp(-p["gamma_site"] * pairs["hellinger"] - p["gamma_substitution"] * pairs["substitution"]
                              - pairs["distance"] / p["rho"]) * pairs["covered"]
        kernel = (p["scale_structure"] * self._pooled(torch, left, right, structure)
                  + p["scale_sequence"] * torch.exp(-pairs["hamming"] / p["length"] ** 2))
        if self.uses_embeddings:
            kernel = kernel + p["scale_embedding"] * torch.exp(-pairs["squared_embedding"]
                                                               / (2 * p["length_embedding"] ** 2))
        return kernel

    def _diagonal(self, torch, encoded: _Encoded, p: Mapping) -> np.ndarray:
        """The prior variance of each variant (its kernel with itself), without building the n x n matrix."""
        out = np.empty(encoded.n)
        for start in range(0, encoded.n, _BLOCK):
            index = np.arange(start, min(encoded.n, start + _BLOCK))
            block = encoded.subset(index)
            singles = np.all(block.counts == 1)
            if singles:  # each variant one mutation: the diagonal is that mutation's own kernel value
                covered = self.sites.covered[block.sites[block.columns]].astype(float)
                value = float(p["scale_structure"]) * covered + float(p["scale_sequence"])
                if self.uses_embeddings:
                    value = value + float(p["scale_embedding"])
                out[index] = value
            else:
                out[index] = torch.diagonal(self._cross(torch, block, block, p)).numpy()
        return out

    # ------------------------------------------------------------------ fitting
    def _negative_log_likelihood(self, torch, encoded, pairs, y, z, names, x):
        log_values = x[:len(names)]
        p = {name: torch.exp(v) for name, v in zip(names, log_values)}
        c0, c1 = x[len(names)], x[len(names) + 1]
        kernel = self._cross(torch, encoded, encoded, p, pairs)
        kernel = kernel + (p["noise"] + 1e-6) * torch.eye(encoded.n, dtype=torch.float64)
        residual = y - (c0 + c1 * z)
        factor, info = torch.linalg.cholesky_ex(kernel)
        if int(info) != 0:
            return None
        alpha = torch.cholesky_solve(residual[:, None], factor)[:, 0]
        return 0.5 * residual @ alpha + torch.log(torch.diagonal(factor)).sum() + 0.5 * encoded.n * math.log(2 * math.pi)

    def _optimise(self, encoded: _Encoded, y: np.ndarray, z: np.ndarray) -> None:
        import torch
        from scipy.optimize import minimize

        names = self._names()
        start = [math.log(HYPERPARAMETERS[n][0]) for n in names]
        bounds = [(math.log(HYPERPARAMETERS[n][1][0]), math.log(HYPERPARAMETERS[n][1][1])) for n in names]
        slope = float(np.polyfit(z, y, 1)[0]) if np.ptp(z) > 0 else 0.0
        start += [0.0, slope]
        bounds += [(-10.0, 10.0), (-10.0, 10.0)]
        y_t, z_t = torch.as_tensor(y), torch.as_tensor(z)
        pairs = self._pairs(torch, encoded, encoded)  # fixed while the hyper-parameters move

        def objective(vector):
            x = torch.tensor(vector, dtype=torch.float64, requires_grad=True)
            value = self._negative_log_likelihood(torch, encoded, pairs, y_t, z_t, names, x)
            if value is None or not torch.isfinite(value):
                return 1e10, np.zeros_like(vector)
            value.backward()
            return float(value.detach()), x.grad.numpy().copy()

        with torch.enable_grad():
            result = minimize(objective, np.array(start), jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": _ITERATIONS})
        values = result.x
        self.hyperparameters = {n: float(math.exp(v)) for n, v in zip(names, values[:len(names)])}
        self.mean_coefficients = (float(values[len(names)]), float(values[len(names) + 1]))

    def fit(self, variants: Sequence[MultiMutant], values, *, seed: int = 0, optimise: bool = True,
            ctx=None) -> "StructureGP":
        """Fit hyper-parameters by marginal likelihood (unless ``optimise`` is False: those already set) and the
        exact posterior on every variant."""
        import torch

        variants = list(variants)
        values = np.asarray(values, dtype=float)
        if len(variants) > MAX_VARIANTS:
            raise InputError(f"{len(variants):,} measured variants are more than the structure-aware Gaussian "
                             f"process takes here ({MAX_VARIANTS:,}); fit on a subset")
        if len(variants) < 3:
            raise InputError(f"at least 3 measured variants are needed, not {len(variants)}")
        z_all = self.zero_shot(variants)
        if not np.all(np.isfinite(z_all)):
            raise InputError("a measured variant has no zero-shot score for the mean function")
        if optimise:
            self.y_mean = float(values.mean())
            self.y_std = float(values.std()) or 1.0
            self.z_mean = float(z_all.mean())
            self.z_std = float(z_all.std()) or 1.0
        y = (values - self.y_mean) / self.y_std
        z = (z_all - self.z_mean) / self.z_std
        encoded = self._encoded(variants)
        if optimise:
            subset = np.arange(len(variants))
            if len(variants) > HYPERPARAMETER_SUBSET:
                subset = np.sort(np.random.default_rng(seed).choice(len(variants), HYPERPARAMETER_SUBSET,
                                                                    replace=False))
            if ctx is not None:
                ctx.check_cancelled()
            self._optimise(encoded.subset(subset), y[subset], z[subset])
        p = {k: torch.tensor(v, dtype=torch.float64) for k, v in self.hyperparameters.items()}
        with torch.no_grad():
            kernel = self._blocks(torch, encoded, encoded, p)
            kernel += (self.hyperparameters["noise"] + 1e-6) * np.eye(len(variants))
            factor, info = torch.linalg.cholesky_ex(torch.as_tensor(kernel))
            del kernel
            if int(info) != 0:
                raise InputError("the Gaussian process's kernel matrix is not positive definite on these variants "
                                 "(duplicated variants with very different values?)")
            residual = torch.as_tensor(y - (self.mean_coefficients[0] + self.mean_coefficients[1] * z))
            self._alpha = torch.cholesky_solve(residual[:, None], factor)[:, 0]
        self._factor = factor
        self._train = encoded
        self.variants, self.values = variants, values
        return self

    def _blocks(self, torch, left: _Encoded, right: _Encoded, p) -> np.ndarray:
        """The kernel between ``left`` and ``right`` made a block of rows at a time (numpy, float64)."""
        out = np.empty((left.n, right.n))
        for start in range(0, left.n, _BLOCK):
            index = np.arange(start, min(left.n, start + _BLOCK))
            out[index] = self._cross(torch, left.subset(index), right, p).numpy()
        return out

    # ------------------------------------------------------------------ predicting
    def _posterior(self, variants: Sequence[MultiMutant], with_wild_type: bool = False, with_std: bool = True):
        """Means and latent standard deviations of ``variants`` (standardised units; the deviations only
        ``with_std``: they cost a triangular solve against every training variant); with ``with_wild_type``,
        also the wild type's mean and standard deviation and each variant's posterior covariance with it."""
        import torch

        p = {k: torch.tensor(v, dtype=torch.float64) for k, v in self.hyperparameters.items()}
        variants = list(variants)
        query = variants + ([WILD_TYPE] if with_wild_type else [])
        encoded = self._encoded(query)
        raw = self.zero_shot(variants)
        if with_wild_type:  # a zero-shot score is relative to the wild type: its own is 0
            raw = np.append(raw, 0.0)
        z = (raw - self.z_mean) / self.z_std
        mean = self.mean_coefficients[0] + self.mean_coefficients[1] * z
        with_std = with_std or with_wild_type
        prior = self._diagonal(torch, encoded, p) if with_std else None
        means = np.empty(encoded.n)
        variances = np.full(encoded.n, np.nan)
        solved_blocks = []
        with torch.no_grad():
            for start in range(0, encoded.n, _BLOCK):
                index = np.arange(start, min(encoded.n, start + _BLOCK))
                cross = self._cross(torch, encoded.subset(index), self._train, p)
                means[index] = mean[index] + (cross @ self._alpha).numpy()
                if not with_std:
                    continue
                solved = torch.linalg.solve_triangular(self._factor, cross.T, upper=False)
                variances[index] = prior[index] - (solved ** 2).sum(0).numpy()
                if with_wild_type:
                    solved_blocks.append((index, solved))
        std = np.sqrt(np.maximum(variances, 0.0))  # NaN stays NaN without with_std
        if not with_wild_type:
            return means, std, None
        wt_solved = solved_blocks[-1][1][:, -1]
        wild = encoded.n - 1
        wild_encoded = encoded.subset(np.array([wild]))
        covariance = np.empty(encoded.n - 1)
        with torch.no_grad():
            for index, solved in solved_blocks:
                rows = index[index < wild]
                if rows.size == 0:
                    continue
                prior_cross = self._cross(torch, encoded.subset(rows), wild_encoded, p)[:, 0].numpy()
                covariance[rows] = prior_cross - (solved[:, :rows.size].T @ wt_solved).numpy()
        return means, std, covariance

    def predict(self, variants: Sequence[MultiMutant], return_std: bool = False):
        """Predicted values (in the measured units) and, with ``return_std``, their standard deviations."""
        variants = list(variants)
        if not variants:
            empty = np.zeros(0)
            return (empty, empty) if return_std else empty
        means, std, _ = self._posterior(variants, with_std=return_std)
        mean = means * self.y_std + self.y_mean
        return (mean, std * self.y_std) if return_std else mean

    def prior_std(self, variants: Sequence[MultiMutant]) -> np.ndarray:
        """The prior standard deviation of each variant (measured units): a posterior near it means the
        training data say nothing about that variant (an extrapolation)."""
        import torch

        p = {k: torch.tensor(v, dtype=torch.float64) for k, v in self.hyperparameters.items()}
        return np.sqrt(self._diagonal(torch, self._encoded(list(variants)), p)) * self.y_std

    def gain(self, variants: Sequence[MultiMutant]):
        """``(gain, std)``: each variant's predicted value minus the wild type's, and the standard deviation of
        that difference (the posterior covariance of the two included)."""
        variants = list(variants)
        if not variants:
            return np.zeros(0), np.zeros(0)
        means, std, covariance = self._posterior(variants, with_wild_type=True)
        gain = (means[:-1] - means[-1]) * self.y_std
        variance = std[:-1] ** 2 + std[-1] ** 2 - 2 * covariance
        return gain, np.sqrt(np.maximum(variance, 0.0)) * self.y_std

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict:
        return {"hyperparameters": dict(self.hyperparameters), "mean_coefficients": list(self.mean_coefficients),
                "y_mean": self.y_mean, "y_std": self.y_std, "z_mean": self.z_mean, "z_std": self.z_std,
                "sites": self.sites.to_dict(),
                "mean_function": "user zero-shot" if self.zeroshot is not None else "ProteinMPNN additive"}

    @classmethod
    def from_dict(cls, data: Mapping, wild_type: str, variants, values, *, zeroshot=None, embedder=None,
                  source: str = "model") -> "StructureGP":
        """The model of :meth:`to_dict` refitted (no optimisation) on its training variants."""
        if not isinstance(data, Mapping):
            raise InputError("damaged model file: no structure-aware kernel", source=source)
        sites = SiteTable.from_dict(data.get("sites", {}), len(wild_type), source)
        model = cls(wild_type, sites, zeroshot=zeroshot, embedder=embedder)
        parameters = data.get("hyperparameters")
        names = model._names()
        if not isinstance(parameters, Mapping) or set(parameters) != set(names):
            raise InputError(f"damaged model file: its kernel needs the hyper-parameters {', '.join(names)}",
                             source=source)
        try:
            model.hyperparameters = {n: float(parameters[n]) for n in names}
            c0, c1 = (float(v) for v in data["mean_coefficients"])
            model.mean_coefficients = (c0, c1)
            model.y_mean, model.y_std = float(data["y_mean"]), float(data["y_std"])
            model.z_mean, model.z_std = float(data["z_mean"]), float(data["z_std"])
        except (KeyError, TypeError, ValueError):
            raise InputError("damaged model file: its kernel's numbers are not numbers", source=source) from None
        numbers = list(model.hyperparameters.values()) + [c0, c1, model.y_mean, model.y_std, model.z_mean, model.z_std]
        if not all(math.isfinite(v) for v in numbers) or min(model.hyperparameters.values()) <= 0 or \
                model.y_std <= 0 or model.z_std <= 0:
            raise InputError("damaged model file: its kernel's hyper-parameters are not positive finite numbers",
                             source=source)
        return model.fit(variants, values, optimise=False)


def describe(model: StructureGP) -> str:
    """One line of the fitted hyper-parameters, for logs and the window."""
    p = model.hyperparameters
    return (f"structure {p['scale_structure']:.3g}, sequence {p['scale_sequence']:.3g}, site gamma "
            f"{p['gamma_site']:.3g}, substitution gamma {p['gamma_substitution']:.3g}, rho {p['rho']:.3g} \u00c5, "
            f"one-hot length {p['length']:.3g}, noise {p['noise']:.3g}; mean {model.mean_coefficients[0]:.3g} + "
            f"{model.mean_coefficients[1]:.3g} z")

