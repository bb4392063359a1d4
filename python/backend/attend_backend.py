"""PEP 517 build backend for the attend Python package (distribution attend-engine).

Standard library only: no setuptools, no wheel package, nothing fetched. build_wheel runs the
project's CMake for the module target alone (tests, tools and benchmarks off) with the running
interpreter, then writes the wheel itself: attend/ (the Python files and the extension) and
<dist>-<version>.dist-info/ with METADATA (core metadata 2.4), WHEEL (the interpreter's tag),
licenses/LICENSE and RECORD (sha256 of every file). build_sdist writes a tarball with everything
needed to build that wheel offline. Progress goes to stderr, one line per step, with cmake's own
output in between.

Settings (environment, or config_settings of the same name in lower case with dashes):
  ATTEND_BUILD_DIR            where CMake builds (default: <source>/build-py-<tag>-<interpreter>,
                              one level below the source like build/, so ccache with a base_dir
                              shares objects with a build/ of the same flags); kept between
                              builds, so a rebuild is incremental
  ATTEND_CMAKE_ARGS           extra cmake arguments (shell-quoted)
  CMAKE_BUILD_PARALLEL_LEVEL  build jobs (default: the CPU count)
ccache is used as the compiler launcher when it is on PATH (unless CMAKE_CXX_COMPILER_LAUNCHER is
set in ATTEND_CMAKE_ARGS).
"""
import base64
import hashlib
import io
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = "attend"
# What the sdist carries: enough to build the module (the library's sources, the web assets it
# embeds, the build files) and nothing else. Paths relative to ROOT.
SDIST_TREES = ["cmake", "include", "src", "python"]
SDIST_FILES = ["CMakeLists.txt", "VERSION", "LICENSE", "README.md", "pyproject.toml", "web/report_plot.js", "web/report_panels.js",
               "web/report.js", "web/report.css", "web/report_body.html", "web/app.js", "web/app_body.html"]
SKIP_PARTS = {"__pycache__", ".git", "node_modules"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".o")


def log(message):
    print(f"attend_backend: {message}", file=sys.stderr, flush=True)


# ---- metadata ---------------------------------------------------------------------------------

def _parse_toml_subset(text):
    """The subset of TOML pyproject.toml uses here ([tables], strings, arrays of strings), for
    interpreters without tomllib (< 3.11)."""
    def strip_comment(line):
        quoted = False
        for i, c in enumerate(line):
            if c == '"':
                quoted = not quoted
            elif c == "#" and not quoted:
                return line[:i].strip()
        return line.strip()

    data, table = {}, None
    lines = iter(text.splitlines())
    for line in lines:
        line = strip_comment(line)
        if not line:
            continue
        m = re.fullmatch(r"\[([\w.-]+)\]", line)
        if m:
            table = data.setdefault(m.group(1), {})
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if value.startswith("[") and not value.endswith("]"):
            while not value.endswith("]"):
                value += " " + strip_comment(next(lines))
        if value.startswith("["):
            parsed = re.findall(r'"((?:[^"\\]|\\.)*)"', value)
        else:
            parsed = value.strip('"')
        (table if table is not None else data)[key] = parsed
    return data


def _pyproject(root):
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
        return tomllib.loads(text)
    except ImportError:
        return _parse_toml_subset(text)


def version(root=ROOT):
    v = (root / "VERSION").read_text(encoding="utf-8").strip()
    if not re.fullmatch(r"\d+(\.\d+)*([ab]|rc)?\d*", v):
        raise RuntimeError(f"VERSION holds {v!r}, not a version number")
    return v


def _names(root):
    project = _pyproject(root)["project"]
    name = project["name"]
    return project, name, re.sub(r"[-_.]+", "_", name).lower()


def metadata_text(root=ROOT):
    """Core metadata 2.4 (METADATA in the wheel, PKG-INFO in the sdist)."""
    project, name, _ = _names(root)
    lines = [
        "Metadata-Version: 2.4",
        f"Name: {name}",
        f"Version: {version(root)}",
        f"Summary: {project['description']}",
        f"License-Expression: {project['license']}",
    ]
    lines += [f"License-File: {f}" for f in project.get("license-files", [])]
    lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
    readme = project.get("readme")
    body = ""
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        body = (root / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n\n" + body


def wheel_tag():
    """(python, abi, platform) of the running interpreter, as pip expects for a local build."""
    ver = f"{sys.version_info[0]}{sys.version_info[1]}"
    impl = sys.implementation.name
    if impl == "cpython":
        python, abi = f"cp{ver}", f"cp{ver}{getattr(sys, 'abiflags', '')}"
    else:
        python = {"pypy": "pp"}.get(impl, impl) + ver
        soabi = sysconfig.get_config_var("SOABI") or "none"
        abi = re.sub(r"[-.]", "_", soabi)
    platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return python, abi, platform


def _dist_info(root):
    _, _, dist = _names(root)
    return f"{dist}-{version(root)}.dist-info"


def _wheel_file(tag):
    return ("Wheel-Version: 1.0\n"
            f"Generator: attend_backend {version()}\n"
            "Root-Is-Purelib: false\n"
            f"Tag: {'-'.join(tag)}\n")


# ---- building ---------------------------------------------------------------------------------

def _setting(config_settings, name, default=None):
    key = name.lower().replace("_", "-")
    if config_settings and key in config_settings:
        return config_settings[key]
    return os.environ.get(name, default)


def _run(cmd, step):
    log(f"{step}: {' '.join(shlex.quote(str(c)) for c in cmd)}")
    t0 = time.monotonic()
    try:
        subprocess.run([str(c) for c in cmd], check=True, stdout=sys.stderr, stderr=sys.stderr)
    except FileNotFoundError:
        raise RuntimeError(f"{cmd[0]} not found: install cmake (Debian: apt install cmake)") from None
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"{step} failed (exit {e.returncode}); see the output above") from None
    log(f"{step}: done in {time.monotonic() - t0:.0f} s")


def build_extension(config_settings=None, root=ROOT):
    """Builds attend._attend with CMake for this interpreter; returns the extension's path."""
    tag = wheel_tag()
    interpreter = hashlib.sha256(os.path.realpath(sys.base_prefix).encode()).hexdigest()[:8]
    default_dir = root / f"build-py-{tag[0]}-{interpreter}"
    build_dir = pathlib.Path(_setting(config_settings, "ATTEND_BUILD_DIR", default_dir)).resolve()
    extra = shlex.split(_setting(config_settings, "ATTEND_CMAKE_ARGS", "") or "")
    jobs = _setting(config_settings, "CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
    cmake = shutil.which("cmake") or "cmake"
    args = [cmake, "-S", root, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}", "-DATTEND_BUILD_PYTHON=ON", "-DATTEND_REQUIRE_PYTHON=ON",
            "-DATTEND_BUILD_TESTS=OFF", "-DATTEND_BUILD_TOOLS=OFF", "-DATTEND_BUILD_BENCH=OFF",
            "-DATTEND_WITH_MPI=OFF"]
    if shutil.which("ccache") and not any("COMPILER_LAUNCHER" in a for a in extra):
        args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")  # rebuilds of unchanged sources are free
    log(f"building the extension for {sys.executable} ({'-'.join(tag)}) in {build_dir}")
    _run(args + extra, "configure")
    _run([cmake, "--build", build_dir, "--target", "attend_python", "-j", jobs], "compile")
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    ext = build_dir / "python" / PACKAGE / f"_attend{suffix}"
    if not ext.is_file():
        raise RuntimeError(f"cmake did not produce {ext}")
    return ext


def _package_files(root):
    """(archive path, source path) of the pure-Python part of the package."""
    src = root / "python" / PACKAGE
    files = [p for p in sorted(src.iterdir()) if p.suffix in (".py", ".pyi") or p.name == "py.typed"]
    return [(f"{PACKAGE}/{p.name}", p) for p in files]


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _zip_info(path, executable=False):
    info = zipfile.ZipInfo(path, date_time=time.localtime(_epoch())[:6])
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _epoch():
    return int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))


def write_wheel(wheel_directory, ext, root=ROOT):
    """Writes the wheel from the built extension; returns its file name."""
    tag = wheel_tag()
    _, _, dist = _names(root)
    name = f"{dist}-{version(root)}-{'-'.join(tag)}.whl"
    dist_info = _dist_info(root)
    entries = [(a, p.read_bytes(), False) for a, p in _package_files(root)]
    entries.append((f"{PACKAGE}/{ext.name}", ext.read_bytes(), True))
    entries.append((f"{dist_info}/METADATA", metadata_text(root).encode("utf-8"), False))
    entries.append((f"{dist_info}/WHEEL", _wheel_file(tag).encode("utf-8"), False))
    entries.append((f"{dist_info}/licenses/LICENSE", (root / "LICENSE").read_bytes(), False))
    record = [_record_line(a, data) for a, data, _ in entries] + [f"{dist_info}/RECORD,,"]
    target = pathlib.Path(wheel_directory) / name
    tmp = target.with_suffix(".whl.part")
    with zipfile.ZipFile(tmp, "w") as zf:
        for path, data, executable in entries:
            zf.writestr(_zip_info(path, executable), data)
        zf.writestr(_zip_info(f"{dist_info}/RECORD"), "\n".join(record) + "\n")
    os.replace(tmp, target)  # never a half-written wheel under the final name
    log(f"wrote {target} ({target.stat().st_size // 1024} KiB)")
    return name


def _sdist_files(root):
    files = [root / f for f in SDIST_FILES]
    for tree in SDIST_TREES:
        for p in sorted((root / tree).rglob("*")):
            rel = p.relative_to(root)
            if p.is_file() and not SKIP_PARTS.intersection(rel.parts) and not p.name.endswith(SKIP_SUFFIXES):
                files.append(p)
    missing = [str(f.relative_to(root)) for f in files if not f.is_file()]
    if missing:
        raise RuntimeError(f"the sdist needs {', '.join(missing)}, missing from {root}")
    return files


# ---- PEP 517 hooks ----------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = pathlib.Path(metadata_directory) / _dist_info(ROOT)
    (dist_info / "licenses").mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(metadata_text(), encoding="utf-8")
    (dist_info / "WHEEL").write_text(_wheel_file(wheel_tag()), encoding="utf-8")
    shutil.copyfile(ROOT / "LICENSE", dist_info / "licenses" / "LICENSE")
    return dist_info.name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    t0 = time.monotonic()
    ext = build_extension(config_settings)
    name = write_wheel(wheel_directory, ext)
    log(f"wheel built in {time.monotonic() - t0:.0f} s")
    return name


def build_sdist(sdist_directory, config_settings=None):
    _, _, dist = _names(ROOT)
    base = f"{dist}-{version()}"
    target = pathlib.Path(sdist_directory) / f"{base}.tar.gz"
    tmp = target.with_suffix(".gz.part")
    mtime = _epoch()

    def add(tf, arcname, data, mode=0o644):
        info = tarfile.TarInfo(f"{base}/{arcname}")
        info.size, info.mtime, info.mode = len(data), mtime, mode
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tf.addfile(info, io.BytesIO(data))

    files = _sdist_files(ROOT)
    with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        add(tf, "PKG-INFO", metadata_text().encode("utf-8"))
        for f in files:
            add(tf, f.relative_to(ROOT).as_posix(), f.read_bytes(), 0o755 if os.access(f, os.X_OK) else 0o644)
    os.replace(tmp, target)
    log(f"wrote {target} ({len(files) + 1} files, {target.stat().st_size // 1024} KiB)")
    return target.name
