"""scikit-learn estimators running deepsc's C++ core: SparseCoder, DictionaryLearning and
MiniBatchDictionaryLearning, with scikit-learn's conventions (Zhang, "From sparse coding to deep
learning", 2024, for the objectives).

scikit-learn's row convention: data X [n_samples, n_features], a dictionary V [n_components,
n_features] whose ROWS are the atoms, codes U [n_samples, n_components], X ≈ U V. deepsc's D
[n, m] has the atoms as columns, so D = Vᵀ (components_ = D.T). Per sample x (a row of X):

    lasso:      min_u ½‖x − u V‖₂² + α‖u‖₁              (u ≥ 0 with positive_code)
    omp:        min_u ‖x − u V‖₂  s.t. ‖u‖₀ ≤ K
    threshold:  u = S_α(V xᵀ)ᵀ, S the soft threshold    (S⁺ with positive_code)

The lasso weight is scikit-learn's own: its Lasso minimises (1/(2 n_features))‖x − uV‖² + α'‖u‖₁ with
α' = α / n_features, i.e. ½‖x − uV‖² + α‖u‖₁, which is deepsc's objective with λ = α.

transform_algorithm names (scikit-learn's, then deepsc's):
    "lasso_cd"   lasso by coordinate descent (deepsc "cd"; Friedman, Hastie & Tibshirani 2007)
    "lasso_lars" the same lasso, also solved by deepsc "cd": deepsc has no LARS, but the lasso
                 minimiser does not depend on the solver (it is unique for atoms in general
                 position), so codes agree with scikit-learn's LARS up to the solvers' tolerances
    "omp"        Batch-OMP with transform_n_nonzero_coefs non-zeros (Rubinstein et al. 2008)
    "threshold"  one-step soft thresholding at transform_alpha
    "cd", "fista", "ista"  deepsc's lasso solvers by their own names
scikit-learn's "lars" (LARS stopped at K non-zeros) has no deepsc counterpart and is rejected.

Lasso codes are solved to a duality gap of transform_tol·F(u) (default 1e-6; at least 1e-5 for
float32, whose rounding leaves smaller gaps unresolved) or transform_max_iter iterations, with a
ConvergenceWarning in the latter case. scikit-learn's Lasso stops at a gap of 1e-4‖x‖² ≥ 2e-4·F(u),
so the default is tighter. float32 data stays float32 (components_ and codes), float64 stays
float64, other dtypes become float64. Arrays cross to C++ without copies.
"""
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

try:
    from sklearn.base import ClassNamePrefixFeaturesOutMixin
except ImportError:  # scikit-learn < 1.1: no get_feature_names_out
    class ClassNamePrefixFeaturesOutMixin:
        pass

from ._dictlearn import learn_dictionary
from ._sparse import encode

__all__ = ["DictionaryLearning", "MiniBatchDictionaryLearning", "SparseCoder"]

# transform_algorithm -> deepsc solver.
TRANSFORM_ALGORITHMS = {
    "lasso_cd": "cd",
    "lasso_lars": "cd",
    "omp": "omp",
    "threshold": "threshold",
    "cd": "cd",
    "fista": "fista",
    "ista": "ista",
}
_LASSO_SOLVERS = ("cd", "fista", "ista")
_FLOATS = [np.float64, np.float32]


def _validate(estimator, X, reset, **kwargs):
    """check_array plus n_features_in_ / feature_names_in_ bookkeeping, across scikit-learn versions."""
    try:
        from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6
    except ImportError:
        return estimator._validate_data(X, reset=reset, **kwargs)
    return validate_data(estimator, X, reset=reset, **kwargs)


def _tensor(array):
    """A zero-copy torch view of a C-contiguous float32/float64 NumPy array (deepsc never writes it)."""
    array = np.ascontiguousarray(array)
    with warnings.catch_warnings():  # read-only inputs (memmaps) are fine: deepsc only reads them
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def _check_name(value, allowed, what):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")


def _check_int(value, what, low, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{what} must be an integer >= {low}{' or None' if allow_none else ''}; got {value!r}")


def _check_real(value, what, allow_none=False, positive=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0 or (
            positive and value == 0):
        raise ValueError(f"{what} must be a finite number {'> 0' if positive else '>= 0'}"
                         f"{' or None' if allow_none else ''}; got {value!r}")


def _default_n_nonzero(n_features, n_components):
    """scikit-learn's default ℓ0 budget: n_features / 10, at least 1, at most n_components."""
    return int(min(max(n_features / 10, 1), n_components))


class _DeepscSparseCoding(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """Encoding shared by the three estimators: codes of X over a dictionary [n_components, n_features]."""

    def _check_transform_params(self):
        _check_name(self.transform_algorithm, tuple(TRANSFORM_ALGORITHMS), "transform_algorithm")
        _check_int(self.transform_n_nonzero_coefs, "transform_n_nonzero_coefs", 1, allow_none=True)
        _check_real(self.transform_alpha, "transform_alpha", allow_none=True)
        _check_int(self.transform_max_iter, "transform_max_iter", 1)
        _check_real(self.transform_tol, "transform_tol", positive=True)
        if self.positive_code and TRANSFORM_ALGORITHMS[self.transform_algorithm] == "omp":
            raise ValueError("positive_code is not supported by transform_algorithm 'omp'")

    def _encode(self, X, dictionary):
        """Codes [n_samples, n_components] of X [n_samples, n_features] (validated, C-contiguous float)."""
        self._check_transform_params()
        solver = TRANSFORM_ALGORITHMS[self.transform_algorithm]
        alpha = self.transform_alpha
        if alpha is None:
            alpha = getattr(self, "alpha", 1.0)  # DictionaryLearning: alpha; SparseCoder: 1
        D = _tensor(np.asarray(dictionary, dtype=X.dtype).T)  # deepsc's D [n_features, n_components]
        n_components, n_features = dictionary.shape
        if X.shape[0] == 0:
            codes = np.zeros((0, n_components), dtype=X.dtype)
        else:
            k = self.transform_n_nonzero_coefs
            if k is None:
                k = _default_n_nonzero(n_features, n_components)
            gap = self.transform_tol if X.dtype == np.float64 else max(self.transform_tol, 1e-5)
            result = encode(D, _tensor(X), solver, lam=float(alpha), beta=float(alpha), sparsity=int(k) if
                            solver == "omp" else 0, max_iter=self.transform_max_iter, tol=gap, stop="gap",
                            nonneg=bool(self.positive_code))
            if solver in _LASSO_SOLVERS and not result.converged:
                warnings.warn(f"deepsc '{solver}' stopped at transform_max_iter={self.transform_max_iter} before "
                              f"a relative duality gap of {gap:g}; raise transform_max_iter or transform_tol",
                              ConvergenceWarning)
            codes = result.codes.numpy()
        if self.split_sign:
            codes = np.hstack([np.maximum(codes, 0), -np.minimum(codes, 0)])
        return codes

    def transform(self, X):
        """Codes [n_samples, n_components] (2·n_components with split_sign) of X [n_samples, n_features]
        over components_, by transform_algorithm."""
        check_is_fitted(self)
        X = _validate(self, X, reset=False, dtype=_FLOATS, order="C")
        return self._encode(X, self.components_)

    @property
    def _n_features_out(self):
        return (2 if self.split_sign else 1) * self._n_components_out()

    def _more_tags(self):
        return {"preserves_dtype": [np.float64, np.float32]}


class SparseCoder(_DeepscSparseCoding, BaseEstimator):
    """Sparse codes of data over a fixed dictionary, by deepsc's solvers (see the module docstring).

    For every row x of X, transform returns the row u of the codes with x ≈ u V:
        lasso_cd, lasso_lars, cd, fista, ista:  min_u ½‖x − u V‖₂² + α‖u‖₁  (u ≥ 0 if positive_code)
        omp:        min_u ‖x − u V‖₂ s.t. ‖u‖₀ ≤ K
        threshold:  u = S_α(V xᵀ)ᵀ (S⁺_α if positive_code)

    Parameters
    ----------
    dictionary : ndarray [n_components, n_features]
        V, the atoms as rows (used as given; omp selects by |V r|, the classical rule for unit-norm
        atoms). Cast to the data's dtype when encoding.
    transform_algorithm : {"omp", "lasso_cd", "lasso_lars", "threshold", "cd", "fista", "ista"}, default "omp"
    transform_n_nonzero_coefs : int >= 1 or None
        K for omp; None: scikit-learn's default int(min(max(n_features / 10, 1), n_components)).
        omp uses K only: transform_alpha does not apply to it (nor does it in scikit-learn 1.2's code).
    transform_alpha : float >= 0 or None
        α of the lasso or the threshold; None: 1.
    split_sign : bool
        Return [max(u, 0), −min(u, 0)], 2·n_components columns.
    positive_code : bool
        Constrain u ≥ 0 (not with omp).
    transform_max_iter : int >= 1
        Iteration cap of the lasso solvers (sweeps for cd).
    transform_tol : float > 0
        The lasso solvers stop at a duality gap ≤ transform_tol·F(u) (F the objective; at least 1e-5
        for float32). Not in scikit-learn, whose Lasso stops at a gap ≤ 1e-4‖x‖².

    Attributes
    ----------
    n_components_, n_features_in_ : int
        The dictionary's shape; the dictionary fixes the number of features.

    transform needs no fit; fit only checks X and the parameters.
    """

    _required_parameters = ["dictionary"]

    def __init__(self, dictionary, *, transform_algorithm="omp", transform_n_nonzero_coefs=None, transform_alpha=None,
                 split_sign=False, positive_code=False, transform_max_iter=1000, transform_tol=1e-6):
        self.dictionary = dictionary
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.split_sign = split_sign
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol

    def _dictionary(self, dtype=np.float64):
        return check_array(self.dictionary, dtype=dtype, order="C")

    def fit(self, X, y=None):
        """Nothing to learn (the dictionary is fixed): checks that X is a finite numeric matrix and
        the parameters, and returns self. X's feature count is checked by transform, as in
        scikit-learn, whose SparseCoder.fit ignores X."""
        check_array(X, dtype=_FLOATS)
        self._dictionary()
        self._check_transform_params()
        return self

    def transform(self, X, y=None):
        """Codes [n_samples, n_components] (2·n_components with split_sign) of X [n_samples, n_features]."""
        X = _validate(self, X, reset=False, dtype=_FLOATS, order="C")
        return self._encode(X, self._dictionary(X.dtype))

    def _more_tags(self):
        return {"requires_fit": False, "preserves_dtype": [np.float64, np.float32]}

    @property
    def n_components_(self):
        """Number of atoms."""
        return np.shape(self.dictionary)[0]

    @property
    def n_features_in_(self):
        """Number of features, fixed by the dictionary."""
        return np.shape(self.dictionary)[1]

    def _n_components_out(self):
        return self.n_components_


class _DeepscDictionaryLearner(_DeepscSparseCoding, BaseEstimator):
    """fit() shared by the two learners: deepsc.learn_dictionary on the validated data."""

    _L1_ALGORITHMS = ("online", "olshausen-field")

    def _n_components_out(self):
        return self.components_.shape[0]

    def _check_common_params(self, algorithms):
        _check_int(self.n_components, "n_components", 1, allow_none=True)
        _check_name(self.fit_algorithm, algorithms, "fit_algorithm")
        _check_real(self.alpha, "alpha", positive=self.fit_algorithm in self._L1_ALGORITHMS)
        _check_int(self.max_iter, "max_iter", 1)
        self._check_transform_params()

    def _initial(self, X, n_components):
        """dict_init as deepsc's D⁰ [n_features, n_components] in X's dtype, or None."""
        if self.dict_init is None:
            return None
        V0 = check_array(self.dict_init, dtype=X.dtype, order="C")
        if V0.shape != (n_components, X.shape[1]):
            raise ValueError(f"dict_init has shape {V0.shape}, expected (n_components, n_features) = "
                             f"{(n_components, X.shape[1])}")
        return _tensor(V0.T)

    def _seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _finish(self, D, errors, replaced):
        """Sets components_ [n_components, n_features] (= Dᵀ), error_, n_steps_ and n_replaced_atoms_."""
        self.components_ = D.t().contiguous().numpy()
        self.error_ = np.asarray(errors, dtype=np.float64)
        self.n_steps_ = len(errors)
        self.n_replaced_atoms_ = int(replaced)
        return self

    def fit_transform(self, X, y=None):
        """fit(X), then the codes of X: [n_samples, n_components]."""
        return self.fit(X, y).transform(X)


class DictionaryLearning(_DeepscDictionaryLearner):
    """Dictionary learning over all samples at once, by deepsc's learners (components_ = Dᵀ).

    With V [n_components, n_features] (rows unit norm) and codes U [n_samples, n_components]:
        "online", "olshausen-field":  min_{U, V} (1/n_samples) Σ_i ½‖x_i − u_i V‖₂² + α‖u_i‖₁
        "ksvd", "mod":                min_{U, V} (1/n_samples) Σ_i ½‖x_i − u_i V‖₂²  s.t. ‖u_i‖₀ ≤ K
    (scikit-learn's DictionaryLearning minimises the sum over samples of the same ℓ1 objective: the
    same minimisers.) Every iteration codes all samples with the current V, then updates V:
      - online: one block-coordinate pass over the atoms on the statistics A = UᵀU, B = UᵀX of the
        current codes, v_j ← normalise(v_j + (b_j − Σ_k a_jk v_k) / a_jj) (the update of Mairal,
        Bach, Ponce & Sapiro 2009/2010 with the whole data set as the batch and no memory of older
        codes: alternating minimisation, as scikit-learn's dict_learning);
      - olshausen-field: one gradient step in V with step 1/L (Olshausen & Field 1996);
      - ksvd: atom-by-atom rank-1 updates (Aharon, Elad & Bruckstein 2006);
      - mod: least-squares V (Engan, Aase & Husøy 1999);
    with lasso codes (coordinate descent, loose: relative change 1e-2) or Batch-OMP codes. Atoms
    that no sample uses, or that duplicate another, are replaced by residuals of badly represented
    samples.

    Parameters
    ----------
    n_components : int >= 1 or None
        Atoms; None: n_features. May exceed n_samples.
    alpha : float
        α of the ℓ1 learners (> 0), and transform_alpha's default.
    max_iter : int >= 1
        Most iterations (each codes every sample once).
    tol : float >= 0
        Stop once the objective of an iteration differs from the previous one's by at most tol times
        its value (scikit-learn stops at any increase too; loose codes make this objective noisy,
        so only stagnation stops here).
    fit_algorithm : {"online", "olshausen-field", "ksvd", "mod"}, default "online"
        scikit-learn's "lars" / "cd" name its lasso solvers; deepsc codes with coordinate descent.
    fit_n_nonzero_coefs : int >= 1 or None
        K of ksvd / mod (at most min(n_features, n_components)); None: scikit-learn's omp default
        int(min(max(n_features / 10, 1), n_components)).
    transform_algorithm, transform_n_nonzero_coefs, transform_alpha, split_sign, positive_code,
    transform_max_iter, transform_tol :
        As SparseCoder; transform_alpha None means alpha. positive_code constrains the codes of
        transform only: deepsc's learners code without sign constraints.
    dict_init : ndarray [n_components, n_features] or None
        Initial atoms (normalised); None: randomly drawn samples (Gaussian atoms where they run out).
    random_state : int, RandomState or None
        Seeds deepsc's learner (start, replacements).

    Attributes
    ----------
    components_ : ndarray [n_components, n_features]
        Learned atoms (rows, unit norm), the data's dtype (float32 or float64).
    error_ : ndarray [n_iter_]
        Objective of every iteration, at its codes (before its dictionary update).
    n_iter_, n_steps_ : int
        Iterations run.
    n_replaced_atoms_ : int
        Dead atoms replaced during learning.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    """

    _ALGORITHMS = ("online", "olshausen-field", "ksvd", "mod")

    def __init__(self, n_components=None, *, alpha=1.0, max_iter=100, tol=1e-8, fit_algorithm="online",
                 fit_n_nonzero_coefs=None, transform_algorithm="omp", transform_n_nonzero_coefs=None,
                 transform_alpha=None, dict_init=None, split_sign=False, random_state=None, positive_code=False,
                 transform_max_iter=1000, transform_tol=1e-6):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.fit_algorithm = fit_algorithm
        self.fit_n_nonzero_coefs = fit_n_nonzero_coefs
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.dict_init = dict_init
        self.split_sign = split_sign
        self.random_state = random_state
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol

    def fit(self, X, y=None):
        """Learns components_ from X [n_samples, n_features]. Returns self."""
        self._check_common_params(self._ALGORITHMS)
        _check_int(self.fit_n_nonzero_coefs, "fit_n_nonzero_coefs", 1, allow_none=True)
        _check_real(self.tol, "tol")
        X = _validate(self, X, reset=True, dtype=_FLOATS, order="C")
        n_samples, n_features = X.shape
        n_components = n_features if self.n_components is None else self.n_components
        sparsity = 0
        if self.fit_algorithm not in self._L1_ALGORITHMS:
            sparsity = self.fit_n_nonzero_coefs
            if sparsity is None:
                sparsity = _default_n_nonzero(n_features, n_components)
        # One deepsc iteration per call, the batch being all samples and D carried over: the online
        # learner then keeps no statistics from earlier codes (alternating minimisation), and the
        # objective is seen after every iteration for the tol rule.
        Y, D, seed = _tensor(X), self._initial(X, n_components), self._seed()
        errors, replaced = [], 0
        for t in range(self.max_iter):
            result = learn_dictionary(Y, n_components, self.fit_algorithm, lam=float(self.alpha), sparsity=sparsity,
                                      iterations=1, batch_size=n_samples, seed=seed + t, initial=D,
                                      dead_atom_window=1)
            D = result.dictionary
            errors.append(result.history[0]["objective"])
            replaced += result.replaced_atoms
            if t > 0 and abs(errors[-2] - errors[-1]) <= self.tol * errors[-1]:
                break
        self._finish(D, errors, replaced)
        self.n_iter_ = self.n_steps_
        return self


class MiniBatchDictionaryLearning(_DeepscDictionaryLearner):
    """Dictionary learning from mini-batches, by deepsc's online learner (components_ = Dᵀ).

    With V [n_components, n_features] (rows unit norm):
        min_V (1/n_samples) Σ_i min_u ½‖x_i − u V‖₂² + α‖u‖₁,
    one mini-batch at a time: lasso codes of the batch with the current V, then (online, Mairal,
    Bach, Ponce & Sapiro 2009/2010) the surrogate's statistics A ← βA + UᵀU, B ← βB + UᵀX_batch
    and one block-coordinate pass over the atoms, or (olshausen-field, Olshausen & Field 1996) one
    gradient step in V. Batches follow a fresh random permutation of the samples every epoch.

    Parameters
    ----------
    n_components : int >= 1 or None
        Atoms; None: n_features. May exceed n_samples.
    alpha : float > 0
        α, and transform_alpha's default.
    max_iter : int >= 1
        Epochs: max_iter · ceil(n_samples / batch_size) mini-batches, all run (no early stop).
    batch_size : int >= 1
        Samples per mini-batch (min(batch_size, n_samples) is used).
    fit_algorithm : {"online", "olshausen-field"}, default "online"
    transform_algorithm, transform_n_nonzero_coefs, transform_alpha, split_sign, positive_code,
    transform_max_iter, transform_tol, dict_init, random_state :
        As DictionaryLearning.

    Attributes
    ----------
    components_ : ndarray [n_components, n_features]
        Learned atoms (rows, unit norm), the data's dtype.
    error_ : ndarray [n_steps_]
        Mean objective of every mini-batch at its codes (before its dictionary update).
    n_iter_ : int
        Epochs run. n_steps_ : int, mini-batches run.
    n_replaced_atoms_, n_features_in_, feature_names_in_ : as DictionaryLearning.

    partial_fit is not provided: deepsc's learner does not hand back its statistics A and B.
    """

    _ALGORITHMS = ("online", "olshausen-field")

    def __init__(self, n_components=None, *, alpha=1.0, max_iter=10, batch_size=256, fit_algorithm="online",
                 transform_algorithm="omp", transform_n_nonzero_coefs=None, transform_alpha=None, dict_init=None,
                 split_sign=False, random_state=None, positive_code=False, transform_max_iter=1000,
                 transform_tol=1e-6):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.fit_algorithm = fit_algorithm
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.dict_init = dict_init
        self.split_sign = split_sign
        self.random_state = random_state
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol

    def fit(self, X, y=None):
        """Learns components_ from X [n_samples, n_features]. Returns self."""
        self._check_common_params(self._ALGORITHMS)
        _check_int(self.batch_size, "batch_size", 1)
        X = _validate(self, X, reset=True, dtype=_FLOATS, order="C")
        n_samples, n_features = X.shape
        n_components = n_features if self.n_components is None else self.n_components
        batch = min(self.batch_size, n_samples)
        steps = self.max_iter * -(-n_samples // batch)
        result = learn_dictionary(_tensor(X), n_components, self.fit_algorithm, lam=float(self.alpha),
                                  iterations=steps, batch_size=batch, seed=self._seed(),
                                  initial=self._initial(X, n_components))
        self._finish(result.dictionary, [h["objective"] for h in result.history], result.replaced_atoms)
        self.n_iter_ = self.max_iter
        return self
