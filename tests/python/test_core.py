"""deepsc's core from Python: the same results as the command line on the same inputs, the solvers'
optimality, coherence, dictionary learning with checkpoints and Ctrl-C, ML-CSC pursuits, clear errors,
and the GIL released while C++ works."""
import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

import deepsc
from conftest import save


def dictionary(n=32, m=64, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, m, generator=g, dtype=dtype), dim=0)


def signals(N=200, n=32, seed=1, dtype=torch.float64):
    return torch.randn(N, n, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("solver,args,kwargs", [
    ("fista", ["--lambda", "0.2", "--tol", "1e-9"], dict(lam=0.2, tol=1e-9)),
    ("cd", ["--lambda", "0.2", "--tol", "1e-9"], dict(lam=0.2, tol=1e-9)),
    ("ista", ["--lambda", "0.2", "--iters", "25"], dict(lam=0.2, iters=25)),
    ("omp", ["--sparsity", "5"], dict(sparsity=5)),
    ("threshold", ["--beta", "0.3", "--shrinkage", "hard"], dict(beta=0.3, shrinkage="hard")),
    ("fista", ["--lambda", "0.1", "--nonneg", "--stop", "gap", "--tol", "1e-8"], dict(lam=0.1, nonneg=True, stop="gap", tol=1e-8)),
])
def test_encode_equals_the_command_line(tmp_path, cli, solver, args, kwargs):
    D, Y = dictionary(), signals()
    report = cli.json("encode", "--dict", save(tmp_path / "D.npy", D), "--signals", save(tmp_path / "Y.npy", Y),
                      "--solver", solver, "--out", tmp_path / "X.npy", *args)
    r = deepsc.encode(D, Y, solver, **kwargs)
    X = torch.from_numpy(np.load(tmp_path / "X.npy"))
    assert r.codes.dtype == torch.float64 and r.codes.shape == (200, 64)
    assert torch.allclose(r.codes, X, rtol=0, atol=1e-10), (r.codes - X).abs().max()
    assert r.iterations == report["iterations"] and r.converged == report["converged"]
    assert r.objective == pytest.approx(report["objective"], rel=1e-12)


@pytest.mark.parametrize("solver,stride,padding", [("fista", 1, 2), ("fista", 2, 1), ("admm", 1, 2)])
def test_conv_encode_equals_the_command_line(tmp_path, cli, solver, stride, padding):
    g = torch.Generator().manual_seed(3)
    W = torch.randn(6, 1, 5, 5, generator=g, dtype=torch.float64)
    I = torch.randn(2, 1, 12, 11, generator=g, dtype=torch.float64)
    cli("encode", "--conv-dict", save(tmp_path / "W.npy", W), "--signals", save(tmp_path / "I.npy", I), "--solver",
        solver, "--stride", stride, "--padding", padding, "--lambda", "0.05", "--tol", "1e-8", "--out", tmp_path / "C.npy")
    r = deepsc.conv_encode(W, I, solver, stride=stride, padding=padding, lam=0.05, tol=1e-8)
    assert torch.allclose(r.codes, torch.from_numpy(np.load(tmp_path / "C.npy")), rtol=0, atol=1e-10)


def test_fista_meets_the_lasso_optimality_conditions():
    D, Y, lam = dictionary(), signals(), 0.2
    X = deepsc.encode(D, Y, "fista", lam=lam, tol=1e-12, stop="gap", max_iter=20000).codes
    grad = (Y - X @ D.T) @ D  # D^T (y - D x) for every row
    on = X != 0
    assert torch.allclose(grad[on], lam * torch.sign(X[on]), atol=1e-6)
    assert grad[~on].abs().max() <= lam + 1e-6


def test_float32_stays_float32_and_warm_start_is_used():
    D, Y = dictionary(dtype=torch.float32), signals(dtype=torch.float32)
    r = deepsc.encode(D, Y, "fista", lam=0.2, tol=1e-6)
    assert r.codes.dtype == torch.float32
    warm = deepsc.encode(D, Y, "fista", lam=0.2, tol=1e-6, warm_start=r.codes)
    assert warm.iterations < r.iterations


def test_shrinkage_operators():
    x = torch.linspace(-2, 2, 41, dtype=torch.float64)
    assert torch.equal(deepsc.soft_threshold(x, 0.5), torch.sign(x) * torch.clamp(x.abs() - 0.5, min=0))
    assert torch.equal(deepsc.hard_threshold(x, 0.5), x * (x.abs() > 0.5))
    assert torch.equal(deepsc.nonneg_soft_threshold(x, 0.5), torch.relu(x - 0.5))
    beta = torch.tensor([0.1, 1.0], dtype=torch.float64, requires_grad=True)  # per channel
    z = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z, b: deepsc.shrink(z, b, "soft"), (z, beta))


def test_coherence_and_bounds():
    D = dictionary(8, 20)
    G = (D.T @ D).abs().fill_diagonal_(0)
    mu = deepsc.mutual_coherence(D)
    assert mu == pytest.approx(G.max().item(), rel=1e-12)
    assert deepsc.recovery_bound(mu) == pytest.approx(0.5 * (1 + 1 / mu))
    k = deepsc.guaranteed_support_size(mu, 20)
    assert k < deepsc.recovery_bound(mu) <= k + 1
    codes = torch.zeros(2, 20, dtype=torch.float64)
    codes[0, :1] = 1.0
    codes[1, :10] = 1.0
    report = deepsc.check_recovery(codes, mu)
    assert [r["support_size"] for r in report] == [1, 10]
    assert report[0]["bp_omp_guaranteed"] and not report[1]["bp_omp_guaranteed"]


def test_dictionary_learning_checkpoint_resume_and_interrupt(tmp_path):
    Y = signals(300, 16, seed=5)
    options = dict(lam=0.1, iterations=6, batch_size=64, seed=3, checkpoint_every=2)
    full = deepsc.learn_dictionary(Y, 24, "online", **options)
    assert full.dictionary.shape == (16, 24) and len(full.history) == 6
    assert torch.allclose(full.dictionary.norm(dim=0), torch.ones(24, dtype=torch.float64))

    # Ctrl-C (SIGINT) during the run: KeyboardInterrupt, and the last checkpoint resumes exactly.
    path = tmp_path / "learn.pt"
    seen = []

    def interrupt_at_three(progress):
        seen.append(progress["iteration"])
        if progress["iteration"] == 3:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        deepsc.learn_dictionary(Y, 24, "online", checkpoint=str(path), callback=interrupt_at_three, **options)
    assert seen == [1, 2, 3] and path.exists()
    resumed = deepsc.learn_dictionary(Y, 24, "online", checkpoint=str(path), resume=True, **options)
    assert torch.equal(resumed.dictionary, full.dictionary)

    # An exception from the callback propagates as itself.
    def fail(progress):
        raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError):
        deepsc.learn_dictionary(Y, 24, "ksvd", sparsity=3, iterations=2, callback=fail)


def test_ksvd_lowers_its_objective():
    Y = signals(400, 16, seed=8)
    D0 = dictionary(16, 24, seed=9)
    learned = deepsc.learn_dictionary(Y, 24, "ksvd", sparsity=3, iterations=10, initial=D0).dictionary
    before = deepsc.dictionary_objective(D0, Y, "ksvd", sparsity=3)
    after = deepsc.dictionary_objective(learned, Y, "ksvd", sparsity=3)
    assert after < 0.9 * before


def aharon_signals(seed, snr_db):
    """Aharon, Elad & Bruckstein's (2006) synthetic experiment: D [20, 50], 1,500 signals of 3 atoms."""
    g = torch.Generator().manual_seed(seed)
    D = torch.nn.functional.normalize(torch.randn(20, 50, generator=g, dtype=torch.float64), dim=0)
    support = torch.argsort(torch.rand(1500, 50, generator=g, dtype=torch.float64), 1)[:, :3]
    codes = torch.zeros(1500, 50, dtype=torch.float64).scatter_(1, support, torch.rand(1500, 3, generator=g, dtype=torch.float64) * 2 - 1)
    Y = codes @ D.T
    Y = Y + (Y.pow(2).mean() / 10 ** (snr_db / 10)).sqrt() * torch.randn(1500, 20, generator=g, dtype=torch.float64)
    return D, Y


def test_atom_restarts_are_reported_and_can_be_turned_off():
    D, Y = aharon_signals(1, 10)
    found = lambda learned: ((D.T @ learned).abs().max(1).values > 0.99).double().mean().item()
    restarted = deepsc.learn_dictionary(Y, 50, "mod", sparsity=3, iterations=80, seed=1)
    plain = deepsc.learn_dictionary(Y, 50, "mod", sparsity=3, iterations=80, seed=1, restart_passes=0)
    assert restarted.restarted_atoms == sum(h["restart_outcome"] == "kept" for h in restarted.history) > 0
    assert sum(h["restart_started"] for h in restarted.history) >= restarted.restarted_atoms
    assert plain.restarted_atoms == 0 and not any(h["restart_started"] for h in plain.history)
    assert found(restarted.dictionary) > found(plain.dictionary)
    with pytest.raises(ValueError, match="restart passes"):
        deepsc.learn_dictionary(Y, 50, "mod", sparsity=3, restart_passes=-1)


def test_mlcsc_pursuits():
    D1, D2 = dictionary(32, 48, seed=1), dictionary(48, 64, seed=2)
    Y = signals(50, 32)
    t = deepsc.mlcsc_encode([D1, D2], Y, "thresholding", values=[0.3, 0.1])
    X1 = deepsc.soft_threshold(Y @ D1, 0.3)
    assert torch.allclose(t.codes[0], X1, atol=1e-12)
    assert torch.allclose(t.codes[1], deepsc.soft_threshold(X1 @ D2, 0.1), atol=1e-12)
    # One layer of layered basis pursuit is the lasso.
    bp = deepsc.mlcsc_encode([D1], Y, "layered-bp", values=[0.2], tol=1e-10, max_iter=20000)
    lasso = deepsc.encode(D1, Y, "fista", lam=0.2, stop="gap", tol=1e-10, max_iter=20000)
    assert torch.allclose(bp.codes[0], lasso.codes, atol=1e-6)
    assert set(deepsc.mlcsc_pursuits()) >= {"thresholding", "layered-bp", "ml-ista", "ml-fista"}
    conv = deepsc.mlcsc_encode([torch.randn(4, 1, 3, 3, dtype=torch.float64), torch.randn(6, 4, 3, 3, dtype=torch.float64)],
                               torch.randn(2, 1, 12, 12, dtype=torch.float64), "ml-fista", values=[0.1, 0.1],
                               convolutional=True, strides=[1, 2], paddings=[1, 1], max_iter=50)
    assert conv.codes[0].shape == (2, 4, 12, 12) and conv.codes[1].shape == (2, 6, 6, 6)


@pytest.mark.parametrize("call,message", [
    (lambda D, Y: deepsc.encode(D, Y.float()), "dtype"),
    (lambda D, Y: deepsc.encode(D, Y[:, :5]), "length"),
    (lambda D, Y: deepsc.encode(D, Y.to(torch.int64)), "float32 or float64"),
    (lambda D, Y: deepsc.encode(D[0], Y), "2 dimensions"),
    (lambda D, Y: deepsc.encode(D, torch.full_like(Y, float("nan"))), "NaN"),
    (lambda D, Y: deepsc.encode(D, Y, "nope"), "unknown solver"),
    (lambda D, Y: deepsc.encode(D, Y, "omp"), "sparsity"),
    (lambda D, Y: deepsc.encode(D, Y, "admm"), "admm"),
    (lambda D, Y: deepsc.encode(D, Y, "fista", lam=-1.0), "lambda"),
    (lambda D, Y: deepsc.encode(D, Y, "fista", stop="never"), "never"),
    (lambda D, Y: deepsc.conv_encode(torch.randn(4, 1, 3, 3, dtype=torch.float64), Y), "dimensions"),
    (lambda D, Y: deepsc.conv_encode(torch.randn(4, 2, 3, 3, dtype=torch.float64), torch.randn(1, 1, 8, 8, dtype=torch.float64)), "channels"),
    (lambda D, Y: deepsc.learn_dictionary(Y, 0), "atoms"),
    (lambda D, Y: deepsc.learn_dictionary(Y, 8, "nope"), "nope"),
    (lambda D, Y: deepsc.learn_dictionary(Y, 8, "ksvd"), "sparsity"),
    (lambda D, Y: deepsc.mlcsc_encode([D], Y, "ml-ista", values=[0.1, 0.2]), "2 values"),
    (lambda D, Y: deepsc.mutual_coherence(D[:, :1]), "atoms"),
])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call(dictionary(), signals())
    assert "\n" not in str(error.value), "one line, no C++ backtrace"


def test_the_gil_is_released_during_a_solve():
    D, Y = dictionary(64, 256), signals(4000, 64)
    done = threading.Event()

    def solve():
        deepsc.encode(D, Y, "fista", lam=0.05, iters=400)
        done.set()

    worker = threading.Thread(target=solve)
    ticks = 0
    worker.start()
    time.sleep(0.05)  # the solve is under way
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    # With the GIL held for the whole solve, this thread could not run until it ended.
    assert ticks > 20


f64 = dict(dtype=torch.float64)


@pytest.mark.parametrize("call", [
    lambda: deepsc.encode(torch.randn(8, 0, **f64), torch.randn(3, 8, **f64)),
    lambda: deepsc.encode(torch.zeros(8, 4, **f64), torch.randn(3, 8, **f64), normalize=True),
    lambda: deepsc.encode(torch.randn(8, 4, **f64), torch.randn(3, 8, **f64), "omp", sparsity=99),
    lambda: deepsc.encode(torch.randn(8, 4, **f64), torch.randn(3, 8, **f64), warm_start=torch.zeros(2, 4, **f64)),
    lambda: deepsc.encode(torch.randn(8, 4, **f64), torch.randn(3, 8, **f64), max_iter=0),
    lambda: deepsc.encode(torch.randn(8, 4, **f64), torch.randn(3, 8, **f64), step_scale=5.0),
    lambda: deepsc.conv_encode(torch.randn(4, 1, 3, 3, **f64), torch.randn(1, 1, 8, 8, **f64), stride=0),
    lambda: deepsc.conv_encode(torch.randn(4, 1, 3, 3, **f64), torch.randn(1, 1, 8, 8, **f64), padding=-1),
    lambda: deepsc.conv_encode(torch.randn(4, 1, 9, 9, **f64), torch.randn(1, 1, 4, 4, **f64)),
    lambda: deepsc.conv_encode(torch.randn(4, 1, 3, 3, **f64), torch.randn(1, 1, 8, 8, **f64), "admm", stride=2),
    lambda: deepsc.learn_dictionary(torch.randn(0, 8, **f64), 4, lam=0.1),
    lambda: deepsc.learn_dictionary(torch.randn(10, 8, **f64), 4, lam=0.1, batch_size=0),
    lambda: deepsc.learn_dictionary(torch.randn(10, 8, **f64), 4, lam=0.1, initial=torch.randn(3, 4, **f64)),
    lambda: deepsc.learn_dictionary(torch.randn(10, 8, **f64), 4, lam=0.1, checkpoint="/nonexistent/dir/x.pt"),
    lambda: deepsc.mlcsc_encode([], torch.randn(3, 8, **f64), values=[]),
    lambda: deepsc.mlcsc_encode([torch.randn(8, 4, **f64)], torch.randn(3, 8, **f64), "thresholding", values=[-1.0]),
    lambda: deepsc.mlcsc_encode([torch.randn(8, 4, **f64)], torch.randn(3, 8, **f64), "ml-ista", values=[0.1],
                                shrinkage="hard"),
    lambda: deepsc.shrink(torch.randn(3, 4), torch.randn(5), "soft"),
    lambda: deepsc.shrink(torch.randn(3, 4), -1.0, "soft"),
    lambda: deepsc.check_recovery(torch.randn(3, 4, **f64), 2.0),
])
def test_edge_cases_raise_python_exceptions(call):
    """Odd sizes and options end in a Python exception (or a result), never in a crash."""
    try:
        call()
    except (ValueError, RuntimeError) as error:
        assert str(error) and "\n" not in str(error)
