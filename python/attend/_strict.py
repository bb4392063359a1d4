"""Strict calls: one-line messages for a bad call, never a dump of the arguments.

- `strict(name)` decorates attend's own Python entry points. A call that does not bind to the
  signature raises TypeError naming the problem: a keyword of torch or flash-attn (with the entry
  point that has those semantics), an unknown keyword (with the valid ones), or a positional call
  in another library's order. The check costs nothing on a good call (it runs only after Python
  has refused the call).
- `friendly(name, fn)` wraps a pybind11 function or method: pybind11's "incompatible function
  arguments" message lists the repr of every argument (whole arrays); it becomes one line with the
  expected signature and the types (and shapes) of what was passed. An int outside the 64-bit
  range and a str that is not valid UTF-8 are named as such (ValueError).
"""
import difflib
import functools
import inspect
import re

TORCH_SDPA = "attend.torch.scaled_dot_product_attention"
FLASH = "attend.flash_attn_func"

# keyword -> (library, entry point with that library's semantics, attend's own spelling)
FOREIGN = {
    "is_causal": ("torch", TORCH_SDPA, "causal=True (bottom-right aligned, [B, N, H, D])"),
    "attn_mask": ("torch", TORCH_SDPA, "bias= (float, or bool with True = attend, in [B, H, Nq, Nk] order)"),
    "scale": ("torch", TORCH_SDPA, "logit_scale="),
    "enable_gqa": ("torch", TORCH_SDPA, "nothing: attend allows grouped-query attention whenever Hq % Hkv == 0"),
    "query": ("torch", TORCH_SDPA, "q (positional)"),
    "key": ("torch", TORCH_SDPA, "k (positional)"),
    "value": ("torch", TORCH_SDPA, "v (positional)"),
    "softmax_scale": ("flash-attn", FLASH, "logit_scale="),
    "window_size": ("flash-attn", FLASH, "window=(left, right) (bottom-right aligned)"),
    "alibi_slopes": ("flash-attn", FLASH, "alibi="),
    "return_attn_probs": ("flash-attn", FLASH, "return_lse=True"),
    "return_softmax_lse": ("flash-attn", "attend.flash_attn_with_kvcache", "return_lse=True"),
    "max_seqlen_q": ("flash-attn", "attend.flash_attn_varlen_func", "nothing: attend reads the lengths from cu_seqlens_q"),
    "max_seqlen_k": ("flash-attn", "attend.flash_attn_varlen_func", "nothing: attend reads the lengths from cu_seqlens_k"),
    "k_cache": ("flash-attn", "attend.flash_attn_with_kvcache", "attend.decode with an attend.KVCache"),
    "cache_seqlens": ("flash-attn", "attend.flash_attn_with_kvcache", "seqlens_k="),
}


def _positional_params(sig):
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in sig.parameters.values() if p.kind in kinds]


def _keyword_params(sig):
    return [p.name for p in sig.parameters.values() if p.kind != inspect.Parameter.VAR_POSITIONAL
            and p.kind != inspect.Parameter.VAR_KEYWORD]


def explain(name, sig, args, kwargs, positional_hint=None):
    """The one-line message for a call of `name` that does not bind to `sig`."""
    valid = [p for p in _keyword_params(sig) if p not in _positional_params(sig)]
    for key in kwargs:
        if key in sig.parameters:
            continue
        if key in FOREIGN:
            lib, entry, own = FOREIGN[key]
            return (f"{name}: '{key}' is {lib}'s keyword; use {entry} for {lib} semantics, or {own}")
        close = difflib.get_close_matches(key, valid, n=1)
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{name}: unexpected keyword '{key}'{guess}; valid keywords: {', '.join(valid)}"
    positional = _positional_params(sig)
    if len(args) > len(positional):
        msg = (f"{name} takes {len(positional)} positional arguments ({', '.join(positional)}), got {len(args)}; "
               "the options are keywords")
        return msg + (f". {positional_hint}" if positional_hint else "")
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        return f"{name}: {e}"
    return f"{name}: the arguments do not match {name}{sig}"


def strict(name, positional_hint=None):
    """Decorator: a call that does not bind to the function's signature raises a one-line TypeError."""
    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except TypeError:
                try:  # only a call that does not bind is rewritten; a TypeError from the body passes
                    sig.bind(*args, **kwargs)
                except TypeError:
                    raise TypeError(explain(name, sig, args, kwargs, positional_hint)) from None
                raise
        return wrapper
    return deco


# ---- pybind11 functions and methods ------------------------------------------------------------

_INCOMPATIBLE = ("incompatible function arguments", "incompatible constructor arguments")
_INT64 = (-(2**63), 2**63 - 1)


def _describe(x):
    """Type (and dtype/shape) of an argument, never its contents."""
    t = type(x).__name__
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{t} of dtype {x.dtype} and shape {tuple(x.shape)}"
    if isinstance(x, (bool, int, float)) or x is None:
        r = repr(x)
        return r if len(r) <= 40 else f"{t}({len(str(x))} digits)"
    if isinstance(x, str):
        return "str" if len(x) > 40 else repr(x)
    return t


def _rewrite(name, message, args, kwargs):
    """The exception to raise instead of pybind11's overload-mismatch TypeError."""
    listed = message.split("supported:", 1)[-1].split("Invoked with", 1)[0]  # never the dumped arguments
    sigs = re.findall(r"^\s*\d+\.\s*(.*)$", listed, flags=re.M)
    sigs = [re.sub(r"\battend\._attend\.", "", s) for s in sigs]
    expected = "; or ".join(sigs) if sigs else "its signature"
    names = [re.findall(r"(\w+):", s[s.find("(") + 1:]) for s in sigs]
    if "constructor" in message:  # a constructor's listed signature omits self
        names = [["self"] + n for n in names]
    params = set(n for ns in names for n in ns)
    first = names[0] if names else []
    items = [(f"'{first[i]}'" if i < len(first) else f"argument {i + 1}", a) for i, a in enumerate(args)]
    items += [(f"'{k}'", v) for k, v in kwargs.items()]
    for label, value in items:
        if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
            return ValueError(f"{name}: {label} = {value} is outside the 64-bit integer range [{_INT64[0]}, {_INT64[1]}]")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return ValueError(f"{name}: {label} is not valid UTF-8 text (it holds lone surrogate characters, as "
                                  "from bytes decoded with errors='surrogateescape')")
    for key in kwargs:
        if params and key not in params:
            return TypeError(f"{name}: unexpected keyword '{key}'; expected {expected}")
    got = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
    return TypeError(f"{name}: arguments ({got}) do not match {expected}")


def friendly(name, fn):
    """`fn` (a pybind11 callable) with its overload-mismatch message rewritten (see _rewrite)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TypeError as e:
            message = str(e)
            if not any(m in message for m in _INCOMPATIBLE):
                raise
            raise _rewrite(name, message, args, kwargs) from None
    return wrapper


def friendly_class(name, cls):
    """Wraps the methods, static methods and constructor of a pybind11 class in place."""
    for attr, value in list(vars(cls).items()):
        kind = type(value).__name__
        if attr == "__init__" or (not attr.startswith("_") and kind == "instancemethod"):
            method = friendly(f"{name}.{attr}" if attr != "__init__" else name, getattr(cls, attr))
            setattr(cls, attr, method)
        elif not attr.startswith("_") and kind == "staticmethod":
            setattr(cls, attr, staticmethod(friendly(f"{name}.{attr}", value.__func__)))
    return cls
