#!/usr/bin/python3
"""Runs every code block of README.md and docs/*.md as written (ctest readme_blocks).

    /usr/bin/python3 tests/readme/run_blocks.py --build build [--keep] [--list] [FILE.md ...]

Which blocks run: fenced blocks tagged sh, bash, python, cpp or c. Untagged fences and indented
blocks are prose (output, file formats) and are not run; commands belong in tagged fences.

Where: each Markdown file gets its own scratch directory holding a copy of the repository's
tracked files (git ls-files) and `build`, a symbolic link to the built tree given by --build. Its
blocks run there in order, so a block may use what an earlier block of the same file wrote. HOME
points into the scratch directory (`~` and `pip --user` write nothing outside it).

How:
  sh / bash   bash -euo pipefail, working directory the scratch repository
  python      /usr/bin/python3 with PYTHONPATH=build/python (the module built by CMake)
  cpp         c++ -std=c++17 block.cpp $(pkg-config --cflags --libs --static attend), then run;
              pkg-config finds a copy of the built tree installed into the scratch directory
  c           cc -std=c99 block.c $(pkg-config --cflags --libs --static attend-capi), then run

Markers: an HTML comment on the line before the opening fence.
  <!-- readme-test: skip REASON -->   the block is not run; REASON must say why (e.g. it needs
                                       root, minutes of runtime, or the user's own files)
  <!-- readme-test: file NAME -->     the block is written to NAME in the scratch repository and
                                       not run; a later block compiles or runs it as a reader would
A skip without a reason, or an unknown marker, fails the test.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

RUN_LANGS = {"sh", "bash", "python", "cpp", "c"}
MARKER = re.compile(r"^<!--\s*readme-test:\s*(\S+)\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(`{3,})\s*([A-Za-z0-9_+-]*)\s*$")


class Block:
    def __init__(self, path, line, lang, text, marker):
        self.path, self.line, self.lang, self.text, self.marker = path, line, lang, text, marker

    def where(self):
        return f"{self.path}:{self.line} ({self.lang})"


def parse(path, display):
    """The fenced blocks of a Markdown file, with the marker on the line before each."""
    blocks, lines = [], open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        marker = None
        if i > 0:
            mm = MARKER.match(lines[i - 1].strip())
            if mm:
                marker = (mm.group(1), mm.group(2))
            elif "readme-test" in lines[i - 1]:
                raise SystemExit(f"{display}:{i}: malformed readme-test marker: {lines[i - 1]!r}")
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        if j == len(lines):
            raise SystemExit(f"{display}:{i + 1}: unclosed code fence")
        blocks.append(Block(display, i + 1, lang, "\n".join(lines[i + 1:j]) + "\n", marker))
        i = j + 1
    return blocks


def copy_repository(root, dest, build):
    """The tracked files of the repository (working-tree versions) and build -> the built tree."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
    for rel in files.decode().split("\0"):
        if not rel:
            continue
        src = os.path.join(root, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))
    os.symlink(build, os.path.join(dest, "build"))


def run(cmd, cwd, env, timeout, shell=False):
    started = time.time()
    proc = subprocess.run(cmd, cwd=cwd, env=env, shell=shell, capture_output=True, text=True, timeout=timeout,
                          executable="/bin/bash" if shell else None)
    return proc, time.time() - started


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(root, "build"), help="the built tree (default: build)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    ap.add_argument("--list", action="store_true", help="list the blocks and what would happen to each")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per block (default 900)")
    ap.add_argument("files", nargs="*", help="Markdown files (default: README.md and docs/*.md)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    files = args.files or ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))

    plan = []
    for f in files:
        for b in parse(os.path.join(root, f), f):
            if b.lang not in RUN_LANGS:
                continue
            if b.marker:
                kind, arg = b.marker
                if kind == "skip" and not arg:
                    raise SystemExit(f"{b.where()}: a skip marker must say why")
                if kind == "file" and not re.fullmatch(r"[A-Za-z0-9_.+-]+", arg or ""):
                    raise SystemExit(f"{b.where()}: 'file' needs a plain file name, got {arg!r}")
                if kind not in ("skip", "file"):
                    raise SystemExit(f"{b.where()}: unknown readme-test marker {kind!r}")
            plan.append(b)
    if args.list:
        for b in plan:
            what = "run" if not b.marker else f"{b.marker[0]} {b.marker[1]}"
            print(f"{b.where()}: {what}")
        return 0
    if not os.path.isdir(os.path.join(build, "python")) or not os.path.isfile(os.path.join(build, "tools", "attend")):
        raise SystemExit(f"run_blocks: {build} is not a built tree (no tools/attend or python/)")

    scratch_root = tempfile.mkdtemp(prefix="attend-readme-")
    prefix = os.path.join(scratch_root, "prefix")  # the built tree installed, for pkg-config
    subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True, capture_output=True)
    failures, ran, skipped = 0, 0, 0
    try:
        for f in files:
            work = os.path.join(scratch_root, re.sub(r"[^A-Za-z0-9]+", "_", f))
            os.makedirs(work)
            repo = os.path.join(work, "repo")
            copy_repository(root, repo, build)
            home = os.path.join(work, "home")
            os.makedirs(home)
            env = dict(os.environ, HOME=home, PYTHONPATH=os.path.join(repo, "build", "python"),
                       PYTHONDONTWRITEBYTECODE="1")
            cenv = dict(env, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
            for n, b in enumerate(x for x in plan if x.path == f):
                if b.marker and b.marker[0] == "skip":
                    print(f"skip {b.where()}: {b.marker[1]}")
                    skipped += 1
                    continue
                if b.marker and b.marker[0] == "file":
                    with open(os.path.join(repo, b.marker[1]), "w", encoding="utf-8") as out:
                        out.write(b.text)
                    print(f"file {b.where()}: wrote {b.marker[1]}")
                    continue
                try:
                    if b.lang in ("sh", "bash"):
                        proc, secs = run(["bash", "-euo", "pipefail", "-c", b.text], repo, env, args.timeout)
                    elif b.lang == "python":
                        proc, secs = run(["/usr/bin/python3", "-c", b.text], repo, env, args.timeout)
                    else:
                        src = os.path.join(work, f"block{n}.{b.lang}")
                        with open(src, "w", encoding="utf-8") as out:
                            out.write(b.text)
                        exe = src + ".out"
                        compiler = ("c++ -std=c++17 -Wall -Wextra -Werror" if b.lang == "cpp"
                                    else "cc -std=c99 -Wall -Wextra -Wpedantic -Werror")
                        pkg = "attend" if b.lang == "cpp" else "attend-capi"
                        cmd = (f"{compiler} '{src}' -o '{exe}' $(pkg-config --cflags --libs --static {pkg})"
                               f" -lm && '{exe}'")
                        proc, secs = run(cmd, repo, cenv, args.timeout, shell=True)
                except subprocess.TimeoutExpired:
                    print(f"FAIL {b.where()}: timed out after {args.timeout} s")
                    failures += 1
                    continue
                ran += 1
                if proc.returncode != 0:
                    failures += 1
                    print(f"FAIL {b.where()}: exit {proc.returncode} after {secs:.1f} s\n--- block:\n{b.text}"
                          f"--- stdout (tail):\n{proc.stdout[-3000:]}\n--- stderr (tail):\n{proc.stderr[-3000:]}")
                else:
                    print(f"ok   {b.where()}: {secs:.1f} s")
                    for out_line in proc.stdout.strip().split("\n")[-3:]:   # what the block printed, in brief
                        if out_line.strip():
                            print(f"       | {out_line[:160]}")
    finally:
        if args.keep:
            print(f"scratch kept: {scratch_root}")
        else:
            shutil.rmtree(scratch_root, ignore_errors=True)
    print(f"run_blocks: {ran} blocks ran, {skipped} skipped (with their reasons above), {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
