"""Fixtures shared by the Python package's tests: the deepsc command line (DEEPSC_CLI, set by ctest;
default build/apps/deepsc/deepsc) to compare the package with, and NumPy .npy files to give it."""
import json
import os
import subprocess

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def cli():
    """Runs `deepsc ARGS...` and returns its stdout; fails the test with stderr on a non-zero exit."""
    path = os.environ.get("DEEPSC_CLI", os.path.join(ROOT, "build", "apps", "deepsc", "deepsc"))
    if not os.path.isfile(path):
        pytest.skip(f"no deepsc command line at {path}")

    def run(*args):
        done = subprocess.run([path, *map(str, args), "--threads", str(torch.get_num_threads())],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def run_json(*args):
        return json.loads(run(*args, "--json").strip().splitlines()[-1])

    run.json = run_json
    return run


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def save(path, tensor):
    """Writes a tensor as .npy (what the command line reads) and returns the path."""
    np.save(path, tensor.detach().cpu().numpy())
    return str(path)
