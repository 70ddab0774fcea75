"""`pip install .` from the repository, as docs/python.md says, into a virtual environment that sees
Debian's python3-torch: the installed package imports from outside the source tree and works."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT


def test_pip_install_into_a_virtual_environment(tmp_path):
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip("no venv module (Debian: python3-venv): " + made.stderr.strip().splitlines()[-1])
    python = str(venv / "bin" / "python")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the build tree's copy must not be what gets imported
    install = subprocess.run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps", ROOT],
                             capture_output=True, text=True, env=env, timeout=1800)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    check = subprocess.run([python, "-c", (
        "import torch, deepsc, deepsc.nn, deepsc.sklearn; torch.manual_seed(0); "
        "D = torch.nn.functional.normalize(torch.randn(16, 32, dtype=torch.float64), dim=0); "
        "r = deepsc.encode(D, torch.randn(10, 16, dtype=torch.float64), 'omp', sparsity=3); "
        "print(deepsc.__file__, r.codes.shape[1], int((r.codes != 0).sum(1).max()))")],
        capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert check.returncode == 0, check.stderr
    where, atoms, support = check.stdout.split()
    assert where.startswith(str(venv)) and atoms == "32" and support == "3"
