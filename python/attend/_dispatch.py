"""Runs attend's kernels on numpy arrays or torch tensors, whichever the caller passed.

numpy in, numpy out: the C++ binding allocates. torch in, torch out: outputs are allocated with
torch and written in place by the kernels through DLPack (zero copy both ways, bfloat16 included);
tensors that require grad go through attend._autograd.AttendFunction. Neither numpy nor torch is
imported here: torch is looked up only when the caller's objects are torch tensors.
"""
import sys

from . import _attend as _C


def torch_or_none():
    """The torch module if it is already imported (a caller holding a tensor has imported it)."""
    return sys.modules.get("torch")


def is_tensor(x):
    torch = torch_or_none()
    return torch is not None and isinstance(x, torch.Tensor)


def out_shape(q, v):
    """out has q's shape with the last dimension of v, in either layout and for packed inputs."""
    return tuple(q.shape[:-1]) + (v.shape[-1],)


def lse_shape(q, layout):
    """lse is [B, Hq, Nq] (packed rank-3 inputs: B = 1)."""
    s = tuple(q.shape)
    if len(s) == 3:  # packed: [total, H, D] or (bhsd) [H, total, D]
        return (1, s[1], s[0]) if layout != "bhsd" else (1, s[0], s[1])
    return (s[0], s[2], s[1]) if layout != "bhsd" else (s[0], s[1], s[2])


def float_mask(mask):
    """A torch bool mask (True = attend) as a float32 bias (0 / -inf); float masks pass unchanged."""
    torch = torch_or_none()
    if torch is not None and isinstance(mask, torch.Tensor) and mask.dtype == torch.bool:
        bias = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
        return bias.masked_fill_(mask.logical_not(), float("-inf"))
    return mask


def forward(q, k, v, opts, *, bias=None, return_lse=False, out=None, deterministic=False, reference=False):
    """attend's forward with `opts` (the binding's keywords). Returns out, or (out, lse)."""
    if is_tensor(q):
        from . import _autograd
        return _autograd.forward(q, k, v, float_mask(bias), opts, return_lse=return_lse, out=out,
                                 deterministic=deterministic, reference=reference)
    impl = _C.reference.attention if reference else _C.attention
    return impl(q, k, v, bias=bias, return_lse=return_lse, out=out, **opts)


def backward(q, k, v, out, dout, lse, opts, *, bias=None, return_dbias=False, deterministic=False, reference=False):
    """attend's backward; torch tensors in give torch gradients out."""
    impl = _C.reference.attention_backward if reference else _C.attention_backward
    if not is_tensor(q):
        return impl(q, k, v, out, dout, lse, bias=bias, return_dbias=return_dbias, deterministic=deterministic, **opts)
    torch = torch_or_none()
    bias = float_mask(bias)
    grads = dict(dq_out=torch.empty_like(q), dk_out=torch.empty_like(k), dv_out=torch.empty_like(v))
    if return_dbias:
        if bias is None:
            raise ValueError("attention_backward: return_dbias=True needs a bias")
        grads["dbias_out"] = torch.empty(bias.shape, dtype=torch.float32)
    detached = [t.detach() if isinstance(t, torch.Tensor) else t for t in (q, k, v, out, dout, lse)]
    impl(*detached, bias=None if bias is None else bias.detach(), deterministic=deterministic, **grads, **opts)
    result = (grads["dq_out"], grads["dk_out"], grads["dv_out"])
    return result + ((grads["dbias_out"],) if return_dbias else ())
