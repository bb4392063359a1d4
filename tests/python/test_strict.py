"""Strict arguments: other libraries' keywords are refused with a pointer to the right entry point,
bad calls give one-line messages (never an array dump), byte order and integer ranges are checked
(nothing truncated), and every exception has a non-empty message."""
import numpy as np
import pytest

import attend


def qkv(n=5, h=2, d=8):
    r = np.random.default_rng(0)
    return tuple(r.standard_normal((1, n, h, d)).astype(np.float32) for _ in range(3))


def one_line(e):
    m = str(e.value)
    assert m and "\n" not in m and len(m) < 600, m
    assert "array(" not in m and "[[" not in m, m  # no argument dumps
    return m


@pytest.mark.parametrize("keyword, library, entry, own", [
    ("is_causal", "torch", "attend.torch.scaled_dot_product_attention", "causal=True (bottom-right aligned, [B, N, H, D])"),
    ("attn_mask", "torch", "attend.torch.scaled_dot_product_attention", "bias="),
    ("scale", "torch", "attend.torch.scaled_dot_product_attention", "logit_scale="),
    ("enable_gqa", "torch", "attend.torch.scaled_dot_product_attention", "grouped-query"),
    ("softmax_scale", "flash-attn", "attend.flash_attn_func", "logit_scale="),
    ("window_size", "flash-attn", "attend.flash_attn_func", "window="),
    ("alibi_slopes", "flash-attn", "attend.flash_attn_func", "alibi="),
    ("return_attn_probs", "flash-attn", "attend.flash_attn_func", "return_lse=True"),
    ("max_seqlen_q", "flash-attn", "attend.flash_attn_varlen_func", "cu_seqlens_q"),
])
@pytest.mark.parametrize("fn", ["attention", "attention_backward", "reference.attention"])
def test_other_libraries_keywords_point_to_their_entry_point(keyword, library, entry, own, fn):
    q, k, v = qkv()
    call = {"attention": lambda **kw: attend.attention(q, k, v, **kw),
            "reference.attention": lambda **kw: attend.reference.attention(q, k, v, **kw),
            "attention_backward": lambda **kw: attend.attention_backward(q, k, v, q, q, q[:, 0], **kw)}[fn]
    with pytest.raises(TypeError) as e:
        call(**{keyword: True})
    m = one_line(e)
    assert m.startswith(f"attend.{fn}: '{keyword}' is {library}'s keyword; use {entry} for {library} semantics")
    assert own in m


def test_the_documented_is_causal_message():
    with pytest.raises(TypeError) as e:
        attend.attention(*qkv(), is_causal=True)
    assert str(e.value) == ("attend.attention: 'is_causal' is torch's keyword; use "
                            "attend.torch.scaled_dot_product_attention for torch semantics, or causal=True "
                            "(bottom-right aligned, [B, N, H, D])")


def test_unknown_keyword_names_it_and_the_valid_ones():
    with pytest.raises(TypeError) as e:
        attend.attention(*qkv(), causl=True)
    m = one_line(e)
    assert "unexpected keyword 'causl' (did you mean 'causal'?)" in m and "logit_scale" in m and "threads" in m


def test_torch_and_flash_positional_calls_name_both_entry_points():
    q, k, v = qkv()
    for args in ((q, k, v, None, 0.0, True), (q, k, v, 0.0, 0.3, True)):
        with pytest.raises(TypeError) as e:
            attend.attention(*args)
        m = one_line(e)
        assert "takes 3 positional arguments (q, k, v), got 6" in m
        assert "attend.torch.scaled_dot_product_attention" in m and "attend.flash_attn_func" in m


def test_pybind11_mismatch_messages_are_one_line_without_arrays():
    q, k, v = qkv(n=300)
    cache = attend.KVCache(1, 8, 2, 8)
    calls = [
        lambda: attend.KVCache(1, 4, 1, 8, dtyp="float32"),
        lambda: cache.append("zero", q[0], v[0]),
        lambda: cache.truncate(q, 1),
        lambda: attend.Model(config=q),
        lambda: attend.Model().generate(q, max_new_tokens="many"),
        lambda: attend.write_report(q, "dir"),
        lambda: attend.set_isa(q),
    ]
    for call in calls:
        with pytest.raises((TypeError, ValueError)) as e:
            call()
        one_line(e)


@pytest.mark.parametrize("dtype", [">f4", ">f2"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_non_native_byte_order_is_refused(dtype, which):
    args = list(qkv())
    args[which] = args[which].astype(dtype)
    name = "qkv"[which]
    with pytest.raises(ValueError, match=rf"attention: {name} has non-native byte order \(dtype '{dtype}'\); "
                                         rf"convert it first, e.g. {name}.astype"):
        attend.attention(*args)


def test_byte_order_of_bias_and_bf16_bits_and_decode():
    q, k, v = qkv()
    with pytest.raises(ValueError, match="bias has non-native byte order"):
        attend.attention(q, k, v, bias=np.zeros((5, 5), ">f4"))
    bits = (q.view(np.uint32) >> 16).astype(">u2")
    with pytest.raises(ValueError, match="q has non-native byte order"):
        attend.attention(bits, bits, bits, dtype="bfloat16")
    cache = attend.KVCache(1, 8, 2, 8)
    cache.append(0, k[0], v[0])
    with pytest.raises(ValueError, match="decode: q has non-native byte order"):
        attend.decode(q[:, :1].astype(">f4"), cache)
    # the same values in native order give the right answer (the converted array is accepted)
    good = attend.attention(q.astype(">f4").astype("=f4"), k, v)
    np.testing.assert_array_equal(good, attend.attention(q, k, v))


def test_integers_are_range_checked_never_truncated():
    q, k, v = qkv(n=5)
    cases = [
        (lambda: attend.attention(q, k, v, cu_seqlens_q=[0, 2**32 + 5], cu_seqlens_k=[0, 5]),
         r"cu_seqlens_q\[1\] = 4294967301 is outside \[0, 2147483647\]"),
        (lambda: attend.attention(q, k, v, cu_seqlens_q=np.array([0, 2**32 + 5]), cu_seqlens_k=[0, 5]),
         r"cu_seqlens_q\[1\] = 4294967301 is outside \[0, 2147483647\]"),
        (lambda: attend.attention(q, k, v, seqlens_k=np.array([2**63 + 1], np.uint64)),
         r"seqlens_k\[0\] = 9223372036854775809 is outside"),
        (lambda: attend.attention(q, k, v, threads=2**40), r"threads = 1099511627776 is outside \[1, 1024\]"),
        (lambda: attend.attention(q, k, v, window=(2**64, 0)), r"window\[0\] = 18446744073709551616 is outside"),
        (lambda: attend.Model().forward([1, 2**32 + 3]), r"tokens\[1\] = 4294967299 is outside \[0, 2147483647\]"),
        (lambda: attend.Model().forward(np.array([2**32 + 3])), r"tokens\[0\] = 4294967299 is outside"),
        (lambda: attend.Model().decode_token(2**32 + 3), r"token = 4294967299 is outside \[0, 255\]"),
        (lambda: attend.Model().generate([1], stop_token=2**31), r"stop_token = 2147483648 is outside"),
        (lambda: attend.set_num_threads(2**40), r"set_num_threads: n = 1099511627776 is outside \[1, 1024\]"),
        (lambda: attend.KVCache(1, 2**70, 1, 8), "'capacity' = 1180591620717411303424 is outside the 64-bit integer"),
        (lambda: attend.decode(q[:, :1], attend.KVCache(1, 8, 2, 8), sequences=[2**40]),
         r"sequences\[0\] = 1099511627776 is outside"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match="threads must be an integer, got True"):
        attend.attention(q, k, v, threads=True)
    with pytest.raises(ValueError, match="cu_seqlens_q must hold integers"):
        attend.attention(q, k, v, cu_seqlens_q=np.array([0.0, 5.0]), cu_seqlens_k=[0, 5])


def test_every_error_has_a_message_even_for_text_that_is_not_utf8():
    m = attend.Model()
    calls = [
        (lambda: attend.Model.load(b"/nonexistent/\xff\xfe.safetensors"), ValueError, r"(?i)\\xff\\xfe"),
        (lambda: attend.Trainer(m, task=b"\xff"), ValueError, r"(?i)unknown task '\\xff'"),
        (lambda: attend.Model.load("/tmp/\udc80.safetensors"), ValueError, "not valid UTF-8"),
        (lambda: attend.attention(*qkv(), layout="\udc80"), ValueError, "layout is not valid UTF-8"),
        (lambda: attend.capture(m, "\udc80"), ValueError, "tokens is not valid UTF-8"),
        (lambda: attend.KVCache(1, 4, 1, 8, dtype="\udcff"), ValueError, "dtype is not valid UTF-8"),
        (lambda: attend.set_isa("\udc80"), ValueError, "not valid UTF-8"),
        (lambda: m.encode("\udc80"), ValueError, "not valid UTF-8"),
    ]
    for call, kind, message in calls:
        with pytest.raises(kind, match=message) as e:
            call()
        assert str(e.value).strip()


def test_dtype_and_rank_are_checked():
    q, k, v = qkv()
    with pytest.raises(ValueError, match="q has dtype float64; expected float32, float16 or bfloat16"):
        attend.attention(q.astype(np.float64), k, v)
    with pytest.raises(ValueError, match="q has dtype int32"):
        attend.attention(q.astype(np.int32), k, v)
    with pytest.raises(ValueError, match="q is uint16; pass dtype='bfloat16'"):
        attend.attention(q.view(np.uint16)[..., ::2].copy(), k, v)
    with pytest.raises(ValueError, match="causal must be True or False, got 'yes'"):
        attend.attention(q, k, v, causal="yes")
    with pytest.raises(ValueError, match="softcap must be a number, got 'big'"):
        attend.attention(q, k, v, softcap="big")
