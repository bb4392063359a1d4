"""The .pyi stubs in python/attend describe exactly the public functions of attend, attend.reference,
attend.flash and attend.torch (parameter names and order, one list per overload)."""
import ast
import inspect
import pathlib
import re

import pytest

import attend

STUB_DIR = pathlib.Path(__file__).resolve().parents[2] / "python" / "attend"


def stub_functions(path):
    """name -> list of parameter-name lists (one per overload), and the re-exported names."""
    tree = ast.parse(path.read_text())
    funcs, reexported = {}, set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            funcs.setdefault(node.name, []).append([x.arg for x in a.posonlyargs + a.args + a.kwonlyargs])
        elif isinstance(node, ast.ImportFrom) and node.module is None:
            reexported |= {alias.asname or alias.name for alias in node.names}
    return funcs, reexported


def params(fn):
    """Parameter names: from the signature of a Python function, or pybind11's first doc line."""
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        sig = fn.__doc__.splitlines()[0]
        inner = sig[sig.index("(") + 1: sig.rindex(") ->")]
        return [m.group(1) for m in re.finditer(r"(?:^|, )(\w+):", inner)]


def public_functions(module):
    names = getattr(module, "__all__", None) or dir(module)
    out = {}
    for n in names:
        f = getattr(module, n)
        if callable(f) and not isinstance(f, type) and not inspect.ismodule(f):
            out[n] = f
    if module is attend:
        out["_time_cpp_attention"] = attend._time_cpp_attention
    return out


def check(module, stub):
    stubs, reexported = stub_functions(STUB_DIR / stub)
    reexported = {n for n in reexported if not inspect.ismodule(getattr(module, n, None))}  # submodules
    funcs = public_functions(module)
    assert set(stubs) | reexported == set(funcs), f"{stub}: stub {sorted(set(stubs) | reexported)} vs {sorted(funcs)}"
    for name, fn in funcs.items():
        for p in stubs.get(name, []):
            assert p == params(fn), f"{name}: stub {p} vs module {params(fn)}"
        if name in reexported:  # same signature as the attend-level function it names
            assert params(fn) == params(getattr(module, name))


def test_package_stub_matches_module():
    check(attend, "__init__.pyi")


def test_reference_and_flash_stubs_match():
    check(attend.reference, "reference.pyi")
    check(attend.flash, "flash.pyi")
    assert params(attend.reference.attention) == params(attend.attention)
    assert params(attend.reference.attention_backward) == params(attend.attention_backward)


def test_torch_stub_matches():
    pytest.importorskip("torch")
    import attend.torch
    check(attend.torch, "torch.pyi")


def test_docstrings_give_shapes():
    for fn in (attend.attention, attend.attention_backward):
        assert "[B, Nq, Hq, D]" in fn.__doc__
    assert "(batch, seqlen_q, nheads, headdim)" in attend.flash_attn_func.__doc__
