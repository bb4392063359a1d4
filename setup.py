"""Builds attend._attend with the project's CMake (target attend_python) and packages it.
Offline: `python3 -m pip install --no-build-isolation .` (metadata lives in pyproject.toml)."""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        subprocess.check_call([
            "cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}", "-DATTEND_BUILD_PYTHON=ON",
            "-DATTEND_BUILD_TESTS=OFF", "-DATTEND_BUILD_TOOLS=OFF", "-DATTEND_BUILD_BENCH=OFF",
        ])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "attend_python", "-j", jobs])
        built = sorted((build_dir / "python" / "attend").glob("_attend*.so"))
        if not built:
            raise RuntimeError("cmake did not build attend._attend (is pybind11-dev installed?)")
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], dest)


setup(ext_modules=[Extension("attend._attend", sources=[])], cmdclass={"build_ext": CMakeBuild})
