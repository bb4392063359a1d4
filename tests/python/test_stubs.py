"""python/attend/__init__.pyi (and reference.pyi) describe exactly the module's functions."""
import ast
import pathlib
import re

import attend

STUB_DIR = pathlib.Path(__file__).resolve().parents[2] / "python" / "attend"


def stub_functions(path):
    """name -> list of parameter-name lists (one per overload) from a .pyi."""
    tree = ast.parse(path.read_text())
    funcs = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
            funcs.setdefault(node.name, []).append(names)
    return funcs, tree


def bound_params(fn):
    """Parameter names from pybind11's signature line 'name(a: T, *, b: T = x) -> R'."""
    sig = fn.__doc__.splitlines()[0]
    inner = sig[sig.index("(") + 1: sig.rindex(") ->")]
    return [m.group(1) for m in re.finditer(r"(?:^|, )(\w+):", inner)]


def public_functions(module):
    return {n: getattr(module, n) for n in dir(module)
            if callable(getattr(module, n)) and not isinstance(getattr(module, n), type)
            and (not n.startswith("_") or n == "_time_cpp_attention")}


def check(module, path):
    stubs, _ = stub_functions(path)
    funcs = public_functions(module)
    assert set(stubs) == set(funcs), f"{path.name}: stub {sorted(stubs)} vs module {sorted(funcs)}"
    for name, fn in funcs.items():
        for params in stubs[name]:
            assert params == bound_params(fn), f"{name}: stub {params} vs module {bound_params(fn)}"


def test_stub_matches_module():
    check(attend._attend, STUB_DIR / "__init__.pyi")


def test_reference_stub_matches_reference_module():
    _, tree = stub_functions(STUB_DIR / "reference.pyi")
    reexported = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                  for alias in node.names}
    assert reexported == set(public_functions(attend.reference))
    for name in reexported:  # same signatures as the top-level functions
        assert bound_params(getattr(attend.reference, name)) == bound_params(getattr(attend, name))


def test_docstrings_give_shapes():
    for fn in (attend.attention, attend.attention_backward):
        assert "[B, Nq, Hq, D]" in fn.__doc__
