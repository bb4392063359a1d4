"""attend's kernels as a torch.autograd.Function (imported only when torch tensors are passed).

AttendFunction.forward runs attend's forward (out and the float32 log-sum-exp written into torch
tensors in place); backward runs attend's backward (python/src/backward.cpp) into new tensors. The
options are the binding's keywords (attend's names, bottom-right alignment); the torch and
flash-attn entry points translate their own semantics onto them before calling forward() here.
Dropout: the keep mask is a pure function of (seed, b, h, i, j), so backward recomputes it.
"""
import torch

from . import _attend as _C
from ._dispatch import lse_shape, out_shape


def _dense(t):
    """t, or a copy when a dimension is broadcast (stride 0): the kernels take none (autograd hands
    such gradients over, e.g. for out.sum())."""
    return t.contiguous() if any(st == 0 and n > 1 for st, n in zip(t.stride(), t.shape)) else t


def _needs_grad(*tensors):
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _run_forward(q, k, v, bias, opts, out, reference):
    impl = _C.reference.attention if reference else _C.attention
    out = torch.empty(out_shape(q, v), dtype=q.dtype, device=q.device) if out is None else out
    lse = torch.empty(lse_shape(q, opts.get("layout", "bshd")), dtype=torch.float32, device=q.device)
    impl(q.detach(), k.detach(), v.detach(), bias=None if bias is None else bias.detach(), out=out, lse_out=lse, **opts)
    return out, lse


class AttendFunction(torch.autograd.Function):
    """(q, k, v, bias) -> (out, lse); lse is not differentiable (its gradient must not be used)."""

    @staticmethod
    def forward(ctx, q, k, v, bias, opts, deterministic, reference):
        out, lse = _run_forward(q, k, v, bias, opts, None, reference)
        ctx.save_for_backward(q, k, v, bias, out, lse)
        ctx.opts, ctx.deterministic, ctx.reference = opts, deterministic, reference
        ctx.mark_non_differentiable(lse)
        return out, lse

    @staticmethod
    def backward(ctx, dout, _dlse):
        q, k, v, bias, out, lse = ctx.saved_tensors
        impl = _C.reference.attention_backward if ctx.reference else _C.attention_backward
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        want_dbias = bias is not None and ctx.needs_input_grad[3]
        dbias = torch.empty(bias.shape, dtype=torch.float32, device=bias.device) if want_dbias else None
        impl(q.detach(), k.detach(), v.detach(), out.detach(), _dense(dout.detach()), lse,
             bias=None if bias is None else bias.detach(), deterministic=ctx.deterministic,
             dq_out=dq, dk_out=dk, dv_out=dv, dbias_out=dbias, **ctx.opts)
        if dbias is not None and dbias.dtype != bias.dtype:
            dbias = dbias.to(bias.dtype)
        return dq, dk, dv, dbias, None, None, None


def forward(q, k, v, bias, opts, *, return_lse=False, out=None, deterministic=False, reference=False):
    """out (and lse) as torch tensors; differentiable when an input requires grad."""
    if bias is not None and bias.dtype != torch.float32 and bias.dtype.is_floating_point:
        bias = bias.to(torch.float32)  # differentiable cast: the kernels read a float32 bias
    if _needs_grad(q, k, v, bias):
        if out is not None:
            raise ValueError("attention: out= cannot be used while an input requires grad (autograd owns the output)")
        res, lse = AttendFunction.apply(q, k, v, bias, opts, deterministic, reference)
    else:
        res, lse = _run_forward(q, k, v, bias, opts, out, reference)
    return (res, lse) if return_lse else res
