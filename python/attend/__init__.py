"""attend: exact, fast CPU attention on numpy arrays.

    import attend
    out = attend.attention(q, k, v, causal=True)          # q: [B, N, H, D] float32/float16
    out, lse = attend.attention(q, k, v, return_lse=True)
    dq, dk, dv = attend.attention_backward(q, k, v, out, dout, lse)

Type stubs with shapes: attend/__init__.pyi. attend.reference holds the double-precision
specification with the same signatures.
"""
import sys as _sys

from ._attend import *  # noqa: F401,F403  (every public binding)
from ._attend import __version__, _time_cpp_attention, reference  # noqa: F401

_sys.modules[__name__ + ".reference"] = reference  # `import attend.reference` works too
