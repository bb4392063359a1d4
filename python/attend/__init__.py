"""attend: exact, fast CPU attention (forward, backward, decode), a small transformer runtime and
the observatory, on numpy arrays and torch tensors.

Three families of entry points, each with its own library's names and semantics:

    import attend
    out = attend.attention(q, k, v, causal=True)            # attend's own: [B, N, H, D], bottom-right causal
    out = attend.flash_attn_func(q, k, v, causal=True)      # flash-attn 2's interface and semantics
    import attend.torch
    out = attend.torch.scaled_dot_product_attention(q, k, v, is_causal=True)   # torch's: [B, H, L, E], top-left

attend.attention refuses the other libraries' keywords (is_causal, attn_mask, scale,
softmax_scale, window_size, ...) with a message naming the entry point that has their semantics.
Type stubs with shapes: attend/__init__.pyi. attend.reference holds the double-precision
specification of attention/attention_backward with the same signatures.

The module imports without numpy; functions that read or return arrays say so when numpy is
missing (torch tensors work without numpy).
"""
from . import _attend
from ._attend import __version__  # noqa: F401
from ._attend import _time_cpp_attention  # noqa: F401  (bench/python_overhead.py)
from ._generic import attention, attention_backward, decode  # noqa: F401
from ._strict import friendly as _friendly, friendly_class as _friendly_class
from .flash import flash_attn_func, flash_attn_varlen_func, flash_attn_with_kvcache  # noqa: F401
from . import reference  # noqa: F401

# The C++ bindings used as they are (classes and plain functions), with pybind11's
# overload-mismatch message (which prints every argument) replaced by one line (attend._strict).
KVCache = _friendly_class("attend.KVCache", _attend.KVCache)
PagedKVCache = _friendly_class("attend.PagedKVCache", _attend.PagedKVCache)
Model = _friendly_class("attend.Model", _attend.Model)
Trainer = _friendly_class("attend.Trainer", _attend.Trainer)
Recording = _friendly_class("attend.Recording", _attend.Recording)
set_num_threads = _friendly("attend.set_num_threads", _attend.set_num_threads)
num_threads = _friendly("attend.num_threads", _attend.num_threads)
isa_info = _friendly("attend.isa_info", _attend.isa_info)
set_isa = _friendly("attend.set_isa", _attend.set_isa)
train = _friendly("attend.train", _attend.train)
capture = _friendly("attend.capture", _attend.capture)
write_report = _friendly("attend.write_report", _attend.write_report)
residual_flow = _friendly("attend.residual_flow", _attend.residual_flow)
wasserstein2 = _friendly("attend.wasserstein2", _attend.wasserstein2)
run_with_hooks = _friendly("attend.run_with_hooks", _attend.run_with_hooks)
predictions = _friendly("attend.predictions", _attend.predictions)
logit_lens = _friendly("attend.logit_lens", _attend.logit_lens)
direct_logit_attribution = _friendly("attend.direct_logit_attribution", _attend.direct_logit_attribution)
ablate = _friendly("attend.ablate", _attend.ablate)
compare = _friendly("attend.compare", _attend.compare)
detect_heads = _friendly("attend.detect_heads", _attend.detect_heads)
inspect = _friendly("attend.inspect", _attend.inspect)

__all__ = ["attention", "attention_backward", "decode", "flash_attn_func", "flash_attn_varlen_func",
           "flash_attn_with_kvcache", "KVCache", "PagedKVCache", "Model", "Trainer", "Recording", "set_num_threads",
           "num_threads", "isa_info", "set_isa", "train", "capture", "write_report", "reference", "__version__",
           "residual_flow", "wasserstein2", "run_with_hooks", "predictions", "logit_lens", "direct_logit_attribution", "ablate", "compare", "detect_heads", "inspect"]


def __getattr__(name):
    """attend.torch is imported on first use (it imports torch)."""
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'attend' has no attribute '{name}'")
