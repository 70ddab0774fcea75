"""deepsc.sklearn: scikit-learn's estimator checks, codes equal to scikit-learn's, dtypes, parameters,
learning on a planted sparse model, bad arguments.

Run: PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_sklearn.py
"""
import unittest

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import decomposition as skd  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from deepsc import sklearn as ds  # noqa: E402


def check_name(check):
    keywords = getattr(check, "keywords", None)
    suffix = "(" + ",".join(f"{k}={v}" for k, v in sorted(keywords.items())) + ")" if keywords else ""
    return check.func.__name__ + suffix


def run_check(estimator, check):
    """Runs one scikit-learn check; a SkipTest it raises counts as a failure (nothing is skipped)."""
    try:
        check(estimator)
    except unittest.SkipTest as e:
        raise AssertionError(f"check raised SkipTest: {e}") from e


def passes(estimator, check):
    try:
        check(estimator)
        return True
    except Exception:  # noqa: BLE001 - any failure, SkipTest included
        return False


# ---------------------------------------------------------------------------------------------------
# scikit-learn's estimator checks

LEARNER_CHECKS = [(est, check) for Est in (ds.DictionaryLearning, ds.MiniBatchDictionaryLearning)
                  for est, check in check_estimator(Est(), generate_only=True)]


@pytest.mark.parametrize("estimator, check", LEARNER_CHECKS,
                         ids=[f"{type(e).__name__}-{check_name(c)}" for e, c in LEARNER_CHECKS])
def test_learner_passes_check(estimator, check):
    run_check(estimator, check)


def sparse_coder_dictionary():
    # As scikit-learn's test_sparse_coder_common_transformer: 40 atoms of 3 features.
    return np.random.RandomState(777).rand(40, 3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_sparse_coder_passes_every_check_scikit_learns_passes():
    ours = list(check_estimator(ds.SparseCoder(sparse_coder_dictionary()), generate_only=True))
    theirs = list(check_estimator(skd.SparseCoder(sparse_coder_dictionary()), generate_only=True))
    assert [check_name(c) for _, c in ours] == [check_name(c) for _, c in theirs]
    passed_theirs = {check_name(c) for e, c in theirs if passes(e, c)}
    passed_ours = {check_name(c) for e, c in ours if passes(e, c)}
    assert passed_theirs, "scikit-learn's SparseCoder should pass some checks"
    assert passed_theirs <= passed_ours, f"ours fail {sorted(passed_theirs - passed_ours)}"


# ---------------------------------------------------------------------------------------------------
# Codes equal to scikit-learn's

def lasso_gap(X, V, U, alpha, positive=False):
    """Per row: F(u) = ½‖x − uV‖² + α‖u‖₁ and its duality gap (≥ F(u) − F*), from the dual point
    ν = s·r, r = x − uV, s = min(1, α / ‖V r‖∞) (max(V r) for u ≥ 0)."""
    R = X - U @ V
    F = 0.5 * (R ** 2).sum(1) + alpha * np.abs(U).sum(1)
    C = R @ V.T
    top = C.max(1) if positive else np.abs(C).max(1)
    s = np.minimum(1.0, alpha / np.maximum(top, 1e-300))
    nu = s[:, None] * R
    dual = (X * nu).sum(1) - 0.5 * (nu ** 2).sum(1)
    return F, np.maximum(F - dual, 0.0)


@pytest.fixture(scope="module")
def coding_problem():
    rng = np.random.RandomState(0)
    V = rng.randn(15, 30)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    X = rng.randn(40, 30)
    return X, V


@pytest.mark.parametrize("alpha", [0.05, 0.5, 2.0])
@pytest.mark.parametrize("positive", [False, True])
def test_lasso_codes_match_scikit_learn(coding_problem, alpha, positive):
    # scikit-learn's lasso_cd minimises (1/(2 n_features))‖x − uV‖² + (α/n_features)‖u‖₁, i.e.
    # ½‖x − uV‖² + α‖u‖₁: deepsc's objective with λ = α. F(u) − F* ≥ ½‖(u − u*)V‖² (F is a quadratic
    # plus a convex term, minimal at u*), so two codes with duality gaps g₁, g₂ satisfy
    # ‖(u₁ − u₂)V‖ ≤ √(2g₁) + √(2g₂), and ‖u₁ − u₂‖ ≤ that / σ_min(V) (V has full row rank here).
    X, V = coding_problem
    ours = ds.SparseCoder(V, transform_algorithm="lasso_cd", transform_alpha=alpha,
                          positive_code=positive).transform(X)
    theirs = skd.SparseCoder(V, transform_algorithm="lasso_cd", transform_alpha=alpha,
                             positive_code=positive).transform(X)
    F_ours, gap_ours = lasso_gap(X, V, ours, alpha, positive)
    F_theirs, gap_theirs = lasso_gap(X, V, theirs, alpha, positive)
    if positive:
        assert (ours >= 0).all()
    rounding = 1e-12 * (X ** 2).sum(1)
    assert (gap_ours <= 2e-6 * F_ours + rounding).all()  # deepsc stops at a relative gap of 1e-6
    assert (F_ours <= F_theirs + gap_ours + rounding).all()
    bound = (np.sqrt(2 * gap_ours) + np.sqrt(2 * gap_theirs) + 1e-9) / np.linalg.svd(V, compute_uv=False).min()
    assert (np.linalg.norm(ours - theirs, axis=1) <= bound).all()
    assert np.abs(ours - theirs).max() < 1e-2  # and the bound is not vacuous: scikit-learn's tol is 1e-4


@pytest.mark.parametrize("alpha", [0.05, 0.5])
def test_lasso_lars_is_the_same_lasso(coding_problem, alpha):
    # scikit-learn's LassoLars solves the lasso exactly (up to rounding), so only our gap remains.
    X, V = coding_problem
    ours = ds.SparseCoder(V, transform_algorithm="lasso_lars", transform_alpha=alpha).transform(X)
    theirs = skd.SparseCoder(V, transform_algorithm="lasso_lars", transform_alpha=alpha).transform(X)
    _, gap_ours = lasso_gap(X, V, ours, alpha)
    bound = (np.sqrt(2 * gap_ours) + 1e-6) / np.linalg.svd(V, compute_uv=False).min()
    assert (np.linalg.norm(ours - theirs, axis=1) <= bound).all()
    for solver in ("fista", "ista", "cd"):
        other = ds.SparseCoder(V, transform_algorithm=solver, transform_alpha=alpha, transform_max_iter=20000)
        F, gap = lasso_gap(X, V, other.transform(X), alpha)
        assert (gap <= 2e-6 * F + 1e-12).all(), solver


@pytest.mark.parametrize("k", [None, 1, 3, 10])
def test_omp_codes_equal_scikit_learn(coding_problem, k):
    X, V = coding_problem
    ours = ds.SparseCoder(V, transform_algorithm="omp", transform_n_nonzero_coefs=k).transform(X)
    theirs = skd.SparseCoder(V, transform_algorithm="omp", transform_n_nonzero_coefs=k).transform(X)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    expected = k if k is not None else 3  # scikit-learn's default: n_features / 10
    assert ((ours != 0).sum(1) == expected).all()


@pytest.mark.parametrize("positive", [False, True])
def test_threshold_codes_equal_scikit_learn(coding_problem, positive):
    X, V = coding_problem
    ours = ds.SparseCoder(V, transform_algorithm="threshold", transform_alpha=0.7, positive_code=positive)
    theirs = skd.SparseCoder(V, transform_algorithm="threshold", transform_alpha=0.7, positive_code=positive)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=0, atol=1e-12)


def test_split_sign_and_feature_names(coding_problem):
    X, V = coding_problem
    plain = ds.SparseCoder(V, transform_algorithm="lasso_cd", transform_alpha=0.5).transform(X)
    split = ds.SparseCoder(V, transform_algorithm="lasso_cd", transform_alpha=0.5, split_sign=True).transform(X)
    np.testing.assert_array_equal(split[:, :15] - split[:, 15:], plain)
    model = ds.DictionaryLearning(4, alpha=0.1, max_iter=3, random_state=0).fit(X)
    assert list(model.get_feature_names_out()) == [f"dictionarylearning{i}" for i in range(4)]


# ---------------------------------------------------------------------------------------------------
# dtypes, parameters

@pytest.mark.parametrize("Est", [ds.DictionaryLearning, ds.MiniBatchDictionaryLearning])
def test_float32_stays_float32(Est):
    X = np.random.RandomState(1).randn(60, 8)
    for dtype, expected in [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)]:
        Xd = (X * 3).astype(dtype)
        model = Est(12, alpha=0.2, max_iter=3, transform_algorithm="lasso_cd", transform_max_iter=5000,
                    random_state=0)
        codes = model.fit_transform(Xd)
        assert model.components_.dtype == expected and codes.dtype == expected
        assert model.components_.shape == (12, 8) and codes.shape == (60, 12)
        assert model.transform(Xd[:5]).shape == (5, 12)
        np.testing.assert_allclose(np.linalg.norm(model.components_, axis=1), 1, rtol=1e-5)
        assert model.n_features_in_ == 8 and model.n_iter_ >= 1 and len(model.error_) == model.n_steps_
    coder = ds.SparseCoder(np.random.RandomState(2).randn(5, 8), transform_algorithm="lasso_cd")
    assert coder.transform(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("Est", [ds.SparseCoder, ds.DictionaryLearning, ds.MiniBatchDictionaryLearning])
def test_get_params_set_params_round_trip(Est):
    model = Est(np.eye(3)) if Est is ds.SparseCoder else Est(5)
    params = model.get_params()
    again = clone(model).set_params(**params)
    assert again.get_params().keys() == params.keys()
    for key, value in again.get_params().items():
        assert value is params[key] or value == params[key], key
    model.set_params(transform_alpha=0.25, transform_algorithm="fista")
    assert model.get_params()["transform_alpha"] == 0.25
    assert model.get_params()["transform_algorithm"] == "fista"


# ---------------------------------------------------------------------------------------------------
# Learning on a planted sparse model

def planted(n_samples, seed=0):
    """X = U V: 50 unit-norm random atoms of 20 features, 3 Gaussian non-zeros per code."""
    rng = np.random.RandomState(seed)
    V = rng.randn(50, 20)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    U = np.zeros((n_samples, 50))
    for row in U:
        row[rng.choice(50, 3, replace=False)] = rng.randn(3)
    return U @ V, V


def recovered(V, W):
    """Fraction of the planted atoms (rows of V) with a learned atom within |cos| > 0.99."""
    return (np.abs(V @ W.T).max(1) > 0.99).mean()


def omp_error(X, W):
    codes = ds.SparseCoder(W, transform_algorithm="omp", transform_n_nonzero_coefs=3).transform(X)
    return ((X - codes @ W) ** 2).sum()


@pytest.fixture(scope="module")
def planted_data():
    return planted(1000)


@pytest.mark.parametrize("model, at_least", [
    (ds.DictionaryLearning(50, alpha=0.1, max_iter=40), 0.9),
    # 20 full-batch gradient steps lower the error but are too few to recover atoms from a random start.
    (ds.DictionaryLearning(50, alpha=0.1, max_iter=20, fit_algorithm="olshausen-field"), None),
    (ds.DictionaryLearning(50, max_iter=40, fit_algorithm="ksvd", fit_n_nonzero_coefs=3), 0.8),
    (ds.DictionaryLearning(50, max_iter=40, fit_algorithm="mod", fit_n_nonzero_coefs=3), 0.7),
    (ds.MiniBatchDictionaryLearning(50, alpha=0.1, max_iter=40, batch_size=32), 0.8),
    (ds.MiniBatchDictionaryLearning(50, alpha=0.1, max_iter=30, batch_size=64, fit_algorithm="olshausen-field"), 0.8),
], ids=["dl-online", "dl-olshausen-field", "dl-ksvd", "dl-mod", "minibatch-online", "minibatch-olshausen-field"])
def test_learning_recovers_planted_atoms(planted_data, model, at_least):
    X, V = planted_data
    start = np.random.RandomState(5).randn(50, 20)
    start /= np.linalg.norm(start, axis=1, keepdims=True)
    model = clone(model).set_params(dict_init=start, random_state=0)
    model.fit(X.astype(np.float32))
    W = model.components_
    assert W.dtype == np.float32 and W.shape == (50, 20)
    assert omp_error(X, W.astype(np.float64)) < 0.8 * omp_error(X, start)
    assert model.error_[-1] < model.error_[0]
    if at_least is not None:
        assert recovered(V, W) >= at_least


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # scikit-learn's own training
def test_dictionary_learning_matches_scikit_learns_objective(planted_data):
    # Both learn for min Σ ½‖x − uV‖² + α‖u‖₁: with lasso codes of the same α, ours is no worse.
    X, _ = planted_data
    X = X[:500]
    alpha = 0.1
    ours = ds.DictionaryLearning(50, alpha=alpha, max_iter=50, random_state=0).fit(X)
    theirs = skd.MiniBatchDictionaryLearning(50, alpha=alpha, batch_size=64, max_iter=30, random_state=0,
                                             fit_algorithm="cd").fit(X)

    def objective(W):
        U = ds.SparseCoder(W, transform_algorithm="fista", transform_alpha=alpha, transform_max_iter=20000).transform(X)
        return lasso_gap(X, W, U, alpha)[0].mean()
    assert objective(ours.components_) <= 1.05 * objective(theirs.components_)


# ---------------------------------------------------------------------------------------------------
# Edge cases and bad arguments

@pytest.mark.parametrize("Est, algorithm", [(ds.DictionaryLearning, a) for a in ("online", "olshausen-field", "ksvd", "mod")]
                         + [(ds.MiniBatchDictionaryLearning, a) for a in ("online", "olshausen-field")])
def test_degenerate_data_does_not_crash(Est, algorithm):
    for X in (np.zeros((5, 4)), np.full((5, 4), 3.0), np.random.RandomState(0).randn(2, 4)):
        model = Est(6, fit_algorithm=algorithm, max_iter=3, random_state=0)  # n_samples < n_components
        codes = model.fit_transform(X)
        assert codes.shape == (X.shape[0], 6) and np.isfinite(codes).all()
        assert np.isfinite(model.components_).all()
        np.testing.assert_allclose(np.linalg.norm(model.components_, axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: ds.DictionaryLearning(3, fit_algorithm="lars"),
    lambda: ds.DictionaryLearning(3, transform_algorithm="lars"),
    lambda: ds.DictionaryLearning(0),
    lambda: ds.DictionaryLearning(3, alpha=0),
    lambda: ds.DictionaryLearning(3, max_iter=0),
    lambda: ds.DictionaryLearning(3, dict_init=np.ones((2, 4))),
    lambda: ds.MiniBatchDictionaryLearning(3, fit_algorithm="ksvd"),
    lambda: ds.MiniBatchDictionaryLearning(-1),
    lambda: ds.MiniBatchDictionaryLearning(3, batch_size=0),
    lambda: ds.MiniBatchDictionaryLearning(3, transform_algorithm="omp", positive_code=True),
], ids=["fit-lars", "transform-lars", "zero-components", "alpha-0", "max-iter-0", "dict-init-shape",
        "minibatch-ksvd", "minibatch-negative-components", "batch-size-0", "omp-positive"])
def test_bad_arguments_raise_value_error(make):
    with pytest.raises(ValueError):
        make().fit(np.random.RandomState(0).randn(10, 4))


def test_unknown_transform_algorithm_names_the_available_ones(coding_problem):
    X, V = coding_problem
    with pytest.raises(ValueError, match="lasso_cd.*omp.*fista"):
        ds.SparseCoder(V, transform_algorithm="lars").transform(X)


@pytest.mark.parametrize("Est", [ds.DictionaryLearning, ds.MiniBatchDictionaryLearning])
def test_nan_raises_value_error(Est):
    X = np.random.RandomState(0).randn(10, 4)
    model = Est(3, max_iter=2, random_state=0).fit(X)
    X[3, 1] = np.nan
    with pytest.raises(ValueError):
        Est(3).fit(X)
    with pytest.raises(ValueError):
        model.transform(X)
    with pytest.raises(ValueError):
        model.transform(X[:, :3])  # wrong number of features
