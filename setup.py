"""pip install . — the deepsc Python package (python/deepsc) with its extension module deepsc._C.

The extension is built by the project's CMake build (target deepsc_python, see python/CMakeLists.txt)
against the LibTorch of the interpreter running pip (Debian's python3-torch), in the folder named by
DEEPSC_BUILD_DIR (default: build/ in the repository, so an existing `scripts/build.sh` build is
reused). Nothing is downloaded: run pip with --no-build-isolation (see docs/python.md).
"""
import glob
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.environ.get("DEEPSC_BUILD_DIR", os.path.join(ROOT, "build"))


def project_version() -> str:
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(deepsc VERSION ([0-9.]+)", f.read()).group(1)


class CMakeBuild(build_ext):
    """Builds deepsc._C with CMake and copies it where setuptools expects the extension."""

    def build_extension(self, ext):
        if not os.path.isfile(os.path.join(BUILD_DIR, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", BUILD_DIR, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DDEEPSC_BUILD_TESTS=OFF", "-DDEEPSC_BUILD_BENCH=OFF", "-DDEEPSC_UNITY_BUILD=ON",
                                   f"-DDEEPSC_PYTHON={sys.executable}"])
        subprocess.check_call(["cmake", "--build", BUILD_DIR, "--target", "deepsc_python", "-j", str(os.cpu_count() or 1)])
        built = glob.glob(os.path.join(BUILD_DIR, "python", "deepsc", "_C*.so"))
        if not built:
            raise RuntimeError(f"the CMake build in {BUILD_DIR} made no deepsc/_C module (is pybind11-dev installed?)")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    name="deepsc",
    version=project_version(),
    description="Sparse coding, convolutional and multi-layer sparse coding, dictionary learning and CSC layers "
                "for PyTorch and scikit-learn, on deepsc's C++ core",
    packages=["deepsc"],
    package_dir={"": "python"},
    ext_modules=[Extension("deepsc._C", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": os.path.join(BUILD_DIR, "setuptools")},
             "egg_info": {"egg_base": BUILD_DIR}},
    python_requires=">=3.9",
    zip_safe=False,
)
