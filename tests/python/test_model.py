"""attend.Model / Trainer / train / capture / write_report: the model runtime and the observatory
from Python, checked against the C++ command line and against numpy recomputations."""
import pathlib
import subprocess
import threading

import numpy as np
import pytest

import attend

TINY = dict(vocab=16, context=24, d_model=16, layers=2, heads=2, kv_heads=2, d_ff=32)
CLI = pathlib.Path(attend.__file__).resolve().parents[2] / "tools" / "attend"


def tiny_model(seed=1, **over):
    return attend.Model({**TINY, **over}, seed=seed)


def test_config_save_load_roundtrip(tmp_path):
    m = tiny_model(position="rope", norm="rmsnorm", mlp="swiglu", kv_heads=1, tied_embeddings=False, bias=False)
    assert m.config["position"] == "rope" and m.config["kv_heads"] == 1 and m.config["vocab"] == 16
    assert m.num_parameters > 0
    tokens = np.arange(10) % 16
    logits = m.forward(tokens)
    assert logits.shape == (10, 16) and logits.dtype == np.float32
    path = str(tmp_path / "m.safetensors")
    m.save(path)
    m2 = attend.Model.load(path)
    assert m2.config == m.config
    np.testing.assert_array_equal(m2.forward(tokens), logits)
    with pytest.raises(ValueError, match="unknown config key 'widht'"):
        attend.Model({"widht": 3})
    with pytest.raises(ValueError, match="outside the vocabulary"):
        m.forward([1, 2, 99])
    with pytest.raises(ValueError):
        attend.Model.load(str(tmp_path / "missing.safetensors"))


def test_a_train_step_lowers_the_loss(tmp_path):
    text = tmp_path / "t.txt"
    text.write_bytes(b"the cat sat on the mat. " * 40)
    m = tiny_model(seed=2, vocab=256)
    tr = attend.Trainer(m, "text", 16, str(text), steps=30, batch=8, lr=1e-2, warmup=3, weight_decay=0.0)
    before = tr.eval_loss(32)
    first = tr.step()
    assert first == pytest.approx(before, rel=0.2)  # ~ln(256) at initialisation
    tr.run()
    assert tr.steps_done == 30 and len(tr.curve) == 30
    assert tr.curve[-1]["loss"] < 0.6 * first
    assert tr.eval_loss(32) < 0.6 * before
    p = tr.phase_times
    assert p["forward"] > 0 and p["backward"] > 0 and 0 < p["attention_forward"] <= p["forward"]
    with pytest.raises(ValueError, match="unknown task"):
        attend.Trainer(m, "nope")


def test_train_function_matches_the_trainer():
    a, b = tiny_model(seed=3), tiny_model(seed=3)
    curve = attend.train(a, "sort", 11, steps=5, batch=4, seed=7)
    tr = attend.Trainer(b, "sort", 11, steps=5, batch=4, seed=7)
    tr.run()
    assert [c["loss"] for c in curve] == [c["loss"] for c in tr.curve]  # same data order, same arithmetic
    np.testing.assert_array_equal(a.forward([1, 2, 3]), b.forward([1, 2, 3]))


def test_checkpoint_resume_continues_the_curve(tmp_path):
    path = str(tmp_path / "ck.safetensors")
    ref = tiny_model(seed=4)
    full = attend.Trainer(ref, "copy", 11, steps=6, batch=4)
    full.run()
    m = tiny_model(seed=4)
    part = attend.Trainer(m, "copy", 11, steps=6, batch=4)
    for _ in range(3):
        part.step()
    part.save_checkpoint(path)
    resumed = attend.Trainer(tiny_model(seed=99), "copy", 11, steps=6, batch=4)
    resumed.load_checkpoint(path)
    resumed.run()
    np.testing.assert_allclose([c["loss"] for c in resumed.curve], [c["loss"] for c in full.curve], rtol=1e-6)


def test_generate_is_deterministic_and_matches_the_cache_free_path():
    m = tiny_model(seed=5)
    prompt = [1, 2, 3, 4]
    greedy = m.generate(prompt, max_new_tokens=12, temperature=0)
    assert len(greedy) == 12
    assert m.generate(prompt, max_new_tokens=12, temperature=0, use_cache=False) == greedy
    kw = dict(max_new_tokens=15, temperature=1.0, top_k=8, top_p=0.9)
    s1 = m.generate(prompt, seed=11, **kw)
    assert m.generate(prompt, seed=11, **kw) == s1
    assert any(m.generate(prompt, seed=s, **kw) != s1 for s in range(12, 16))
    seen = []
    out = m.generate(prompt, seed=11, on_token=lambda t: seen.append(t) or len(seen) < 3, **kw)
    assert out == seen == s1[:3]
    # GIL released: generation from several threads at once gives the same tokens.
    results = [None] * 4

    def worker(i):
        results[i] = m.generate(prompt, seed=11, **kw)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == s1 for r in results)


@pytest.mark.skipif(not CLI.exists(), reason="the attend command line is not built")
def test_generate_equals_the_cpp_command_line(tmp_path):
    m = tiny_model(seed=6)
    path = str(tmp_path / "g.safetensors")
    m.save(path)
    prompt = "abcab"
    ids = m.encode(prompt)
    cases = ((["--temperature", "0"], dict(temperature=0)),
             (["--temperature", "0.8", "--top-k", "5", "--seed", "3"], dict(temperature=0.8, top_k=5, seed=3)))
    for args, kw in cases:
        toks = m.generate(ids, max_new_tokens=10, **kw)
        text = b"".join(m.decode_token(t) for t in toks).decode()
        out = subprocess.run([str(CLI), "generate", "--model", path, "--prompt", prompt, "--max-new", "10", *args],
                             check=True, capture_output=True, text=True).stdout
        assert out.strip() == prompt + text


def test_capture_matches_a_numpy_recomputation(tmp_path):
    m = tiny_model(seed=8)
    tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    rec = attend.capture(m, tokens, title="pi")
    n, H = len(tokens), m.config["heads"]
    assert rec.n == n and rec.num_layers == 2 and rec.token_ids == tokens and rec.title == "pi"
    np.testing.assert_array_equal(m.forward(tokens), m.forward(tokens))  # capture left the model alone
    for layer in range(2):
        act = rec.activations(layer)
        q, k = act["q"].astype(np.float64), act["k"].astype(np.float64)
        d = q.shape[2]
        st = rec.stats(layer)
        assert st["entropy"].shape == (H, n)
        for h in range(H):
            s = q[:, h] @ k[:, h].T / np.sqrt(d)
            s[np.triu_indices(n, 1)] = -np.inf
            lse = np.logaddexp.reduce(s, axis=1)
            p = np.exp(s - lse[:, None])
            np.testing.assert_allclose(rec.weights(layer, h), p, atol=1e-5)
            np.testing.assert_allclose(st["lse"][h], lse, rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(st["argmax"][h], p.argmax(axis=1))
            np.testing.assert_array_equal(st["visible"][h], np.arange(1, n + 1))
            ent = -(p * np.log(np.where(p > 0, p, 1))).sum(axis=1)
            np.testing.assert_allclose(st["entropy"][h], ent, atol=1e-4)
    # Selection: only layer 1, head 0 in full; stats for every layer.
    sel = attend.capture(m, tokens, layers=[1], heads=[0])
    assert sel.has_weights(1, 0) and not sel.has_weights(1, 1) and not sel.has_weights(0, 0)
    assert sel.activations(0)["q"] is None
    np.testing.assert_array_equal(sel.stats(0)["lse"], rec.stats(0)["lse"])
    with pytest.raises(ValueError, match="not recorded in full"):
        sel.weights(0, 0)
    with pytest.raises(ValueError, match="layer 5"):
        attend.capture(m, tokens, layers=[5])
    html = attend.write_report(rec, str(tmp_path / "report"))
    assert pathlib.Path(html).read_text().lstrip().lower().startswith("<!doctype html")


def test_attention_writes_into_a_preallocated_out():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 8, 7, 16)).astype(np.float32) for _ in range(3))
    for layout in ("bshd", "bhsd"):
        want = attend.attention(q, k, v, causal=True, layout=layout)
        buf = np.full_like(q, np.nan)
        got = attend.attention(q, k, v, causal=True, layout=layout, out=buf)
        assert got is buf
        np.testing.assert_array_equal(buf, want)
    with pytest.raises(ValueError, match="out must have shape"):
        attend.attention(q, k, v, out=np.empty((2, 8, 7, 8), np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        attend.attention(q, k, v, out=np.empty_like(q, dtype=np.float16))
    strided = np.full((2, 8, 16, 7), np.nan, np.float32).transpose(0, 1, 3, 2)  # any strides are written in place
    assert attend.attention(q, k, v, out=strided) is strided
    np.testing.assert_array_equal(strided, attend.attention(q, k, v))
    with pytest.raises(ValueError, match="out has stride 0"):
        attend.attention(q, k, v, out=np.lib.stride_tricks.as_strided(np.zeros(16, np.float32), q.shape, (0, 0, 0, 4)))
    with pytest.raises(ValueError, match="out is read-only"):
        attend.attention(q, k, v, out=np.broadcast_to(np.zeros((1, 1, 1, 16), np.float32), q.shape))
