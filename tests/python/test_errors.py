"""Bad input raises ValueError carrying the C++ message (function name and offending value)."""
import numpy as np
import pytest

import attend


def qkv(hq=4, hkv=2, n=5, d=8):
    r = np.random.default_rng(0)
    return (r.standard_normal((1, n, hq, d)).astype(np.float32),
            r.standard_normal((1, n, hkv, d)).astype(np.float32),
            r.standard_normal((1, n, hkv, d)).astype(np.float32))


@pytest.mark.parametrize("call, message", [
    (lambda: attend.attention(*qkv(hq=32, hkv=7)), "attention: k has 7 heads, which does not divide q's 32 heads"),
    (lambda: attend.attention(*qkv(), window=(-2, 0)), "attention: window sizes must be >= 0 or -1"),
    (lambda: attend.attention(*qkv(), softcap=-1.0), "attention: softcap must be >= 0"),
    (lambda: attend.attention(*qkv(), dropout_p=1.0), r"attention: dropout_p must be in \[0, 1\)"),
    (lambda: attend.attention(*qkv(), alibi=[0.1, 0.2]), "attention: alibi_slopes has 2 entries but q has 4 heads"),
    (lambda: attend.attention(*qkv(), causal="yes"), "attention: causal must be True or False, got 'yes'"),
    (lambda: attend.attention(*qkv(), window=(1, 2, 3)), r"attention: window must be a pair \(left, right\)"),
    (lambda: attend.attention(*qkv(), logit_scale="0.1"), "attention: logit_scale must be a number"),
    (lambda: attend.attention(*qkv(), seed=-1), r"attention: seed = -1 is outside \[0, 18446744073709551615\]"),
    (lambda: attend.attention(*qkv(), bias=np.zeros((3, 5), np.float32)), "attention: bias has shape"),
    (lambda: attend.attention(*qkv(), layout="bsdh"), "attention: layout must be 'bshd'"),
    (lambda: attend.attention(*qkv(), threads=0), r"attention: threads = 0 is outside \[1, 1024\]"),
    (lambda: attend.attention(*(x.astype(np.float64) for x in qkv())), "attention: q has dtype float64; expected float32, float16 or bfloat16"),
    (lambda: attend.attention(np.zeros((5, 4, 8), np.float32), *qkv()[1:]), "attention: q must have 4 dimensions, got 3"),
    (lambda: attend.attention(*qkv(), cu_seqlens_q=[0, 5]), "attention: cu_seqlens_q and cu_seqlens_k must be given together"),
    (lambda: attend.reference.attention(*qkv(hq=3, hkv=2)), "reference::attention: k has 2 heads"),
    (lambda: attend.attention_backward(*qkv(), *qkv()[:2], np.zeros((1, 4, 4), np.float32)),
     r"attention_backward: lse has shape \[1, 4, 4\], expected \[1, 4, 5\]"),
    (lambda: attend.set_num_threads(0), r"set_num_threads: n = 0 is outside \[1, 1024\]"),
    (lambda: attend.set_isa("sse2"), "set_isa: unknown ISA 'sse2'"),
])
def test_errors_are_value_errors_with_the_cpp_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()
