"""The lab from Python: the logit lens and direct logit attribution against a numpy computation from
the captured activations and the model's weights; run_with_hooks against ablate/compare and hand-made
edits; the report's JSON from attend.inspect."""
import json

import numpy as np
import pytest

import attend

CFG = dict(vocab=24, context=20, d_model=16, layers=2, heads=2, kv_heads=1, d_ff=32)
TOKENS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7]


def model(seed=2, **over):
    m = attend.Model({**CFG, **over}, seed=seed)
    # Non-zero biases and gains (zeros and ones at initialisation) so their terms are exercised.
    rng = np.random.default_rng(seed)
    p = m.parameters()
    m.set_parameters({k: v + rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in p.items() if v.ndim == 1})
    assert not np.array_equal(m.parameters()["h.0.attn.bo"], p["h.0.attn.bo"])
    return m


def final_norm(x, p, rms, eps=1e-5):
    x = x.astype(np.float64)
    mean = 0 if rms else x.mean(-1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + eps)
    out = (x - mean) * rstd * p["ln_f.w"]
    return (out if rms else out + p["ln_f.b"]), rstd[:, 0], mean


@pytest.mark.parametrize("rms", [False, True])
def test_logit_lens_matches_numpy(rms):
    m = model(norm="rmsnorm" if rms else "layernorm")
    p = {k: v.astype(np.float64) for k, v in m.parameters().items()}
    rec = attend.capture(m, TOKENS)
    target = np.array(TOKENS[1:] + [0])
    lens = attend.logit_lens(m, rec, target=target)
    stages = [rec.activations(0)["resid_pre"]]
    for l in range(2):
        stages += [rec.activations(l)["resid_mid"], rec.activations(l)["resid_post"]]
    assert lens["labels"] == ["L0 pre", "L0 mid", "L0 post", "L1 mid", "L1 post"]
    for s, x in enumerate(stages):
        logits = final_norm(x, p, rms)[0] @ p["tok_emb"].T
        logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        want = np.exp(logp[np.arange(len(TOKENS)), target])
        np.testing.assert_allclose(lens["prob"][s], want, rtol=2e-4, atol=1e-6)
        rank = (logits > logits[np.arange(len(TOKENS)), target][:, None]).sum(1)
        np.testing.assert_array_equal(lens["rank"][s], rank)
        np.testing.assert_array_equal(lens["top_token"][s], logits.argmax(1))
    # The last stage is the model's output.
    out = m.forward(TOKENS).astype(np.float64)
    np.testing.assert_array_equal(lens["top_token"][-1], out.argmax(1))


@pytest.mark.parametrize("rms", [False, True])
def test_direct_logit_attribution_matches_numpy(rms):
    m = model(seed=5, norm="rmsnorm" if rms else "layernorm")
    p = {k: v.astype(np.float64) for k, v in m.parameters().items()}
    rec = attend.capture(m, TOKENS)
    n, E, H = len(TOKENS), CFG["d_model"], CFG["heads"]
    D = E // H
    target = np.array([(7 * i) % 24 for i in range(n)])
    base = np.array([(3 * i + 1) % 24 for i in range(n)])
    a = attend.direct_logit_attribution(m, rec, target=target, baseline=base)
    # numpy: the final residual's norm scale, frozen; each component centred (LayerNorm) and read along gain ⊙ (W_U[t] − W_U[b]).
    final = rec.activations(1)["resid_post"].astype(np.float64)
    _, rstd, _ = final_norm(final, p, rms)
    direction = p["ln_f.w"] * (p["tok_emb"][target] - p["tok_emb"][base])  # [N, E]

    def term(c):  # c: [N, E]
        if not rms:
            c = c - c.mean(-1, keepdims=True)
        return rstd * (c * direction).sum(-1)

    want = {"embed": term(rec.activations(0)["resid_pre"].astype(np.float64))}
    for l in range(2):
        act = rec.activations(l)
        z = act["head_out"].astype(np.float64)  # [N, H, D]
        wo = p[f"h.{l}.attn.wo"]                 # [H·D, E]
        for h in range(H):
            want[f"L{l}H{h}"] = term(z[:, h] @ wo[h * D:(h + 1) * D])
        want[f"L{l} attn bias"] = term(np.broadcast_to(p[f"h.{l}.attn.bo"], (n, E)))
        want[f"L{l} mlp"] = term(act["mlp_out"].astype(np.float64))
    want["ln_f bias"] = 0 if rms else (p["ln_f.b"] * (p["tok_emb"][target] - p["tok_emb"][base])).sum(-1)
    assert a["labels"] == list(want)
    for k, label in enumerate(a["labels"]):
        np.testing.assert_allclose(a["value"][k], want[label], rtol=1e-4, atol=2e-5, err_msg=label)
    out = m.forward(TOKENS).astype(np.float64)
    logit = out[np.arange(n), target] - out[np.arange(n), base]
    np.testing.assert_allclose(a["logit"], logit, atol=2e-4)
    np.testing.assert_allclose(a["value"].sum(0), logit, atol=2e-4)
    np.testing.assert_allclose(a["rstd"], rstd, rtol=1e-5)


def test_run_with_hooks_edits_in_place_or_by_return_and_matches_ablate():
    m = model(seed=3)
    clean = m.forward(TOKENS)
    np.testing.assert_array_equal(attend.run_with_hooks(m, TOKENS), clean)

    def zero_head(z, name):
        assert name == "blocks.1.attn.hook_z" and z.shape == (len(TOKENS), 2, 8)
        z[:, 1] = 0

    got = attend.run_with_hooks(m, TOKENS, fwd_hooks=[("blocks.1.attn.hook_z", zero_head)])
    np.testing.assert_array_equal(got, attend.ablate(m, TOKENS, heads=[(1, 1)]))
    assert np.abs(got - clean).max() > 1e-4
    # A returned array replaces the activation: the whole MLP output of layer 0, zeroed.
    got2 = attend.run_with_hooks(m, TOKENS, fwd_hooks=[("blocks.0.hook_mlp_out", lambda x, name: np.zeros_like(x))])
    np.testing.assert_array_equal(got2, attend.ablate(m, TOKENS, mlps=[0]))
    # Patterns: [H, N, N] rows summing to 1; a copied-back identity edit changes nothing (to rounding).
    seen = []

    def pattern(p, name):
        seen.append(p.copy())
        return p

    got3 = attend.run_with_hooks(m, TOKENS, fwd_hooks=[("blocks.0.attn.hook_pattern", pattern)])
    assert seen[0].shape == (2, len(TOKENS), len(TOKENS))
    np.testing.assert_allclose(seen[0].sum(-1), 1, atol=1e-5)
    assert np.all(np.triu(seen[0], 1) == 0)
    np.testing.assert_allclose(got3, clean, atol=1e-4)
    rec = attend.capture(m, TOKENS)
    np.testing.assert_allclose(seen[0][1], rec.exact_weights(0, 1), atol=1e-5)
    # Patching the whole clean stream into another prompt through hooks gives the clean logits exactly.
    other = [t + 1 for t in TOKENS]
    acts = rec.activations(0)["resid_pre"]
    patched = attend.run_with_hooks(m, other, fwd_hooks=[("blocks.0.hook_resid_pre", lambda x, name: acts)])
    np.testing.assert_array_equal(patched, clean)
    logits, cache = attend.run_with_hooks(m, TOKENS, return_cache=True)
    np.testing.assert_array_equal(logits, clean)
    assert cache.activations(1)["mlp_out"].shape == (len(TOKENS), CFG["d_model"])
    with pytest.raises(ValueError, match="unknown hook"):
        attend.run_with_hooks(m, TOKENS, fwd_hooks=[("blocks.0.hook_nothing", zero_head)])
    with pytest.raises(ValueError, match="layer 7"):
        attend.run_with_hooks(m, TOKENS, fwd_hooks=[("blocks.7.hook_resid_pre", zero_head)])


def test_compare_and_inspect(tmp_path):
    m = model(seed=4)
    other = [(t * 5 + 2) % 23 for t in TOKENS]
    c = attend.compare(m, TOKENS, other)
    final = [g for g in c["grids"] if g["name"].startswith("residual") and g["direction"].startswith("clean")][0]
    row = final["recovered"][-1]
    np.testing.assert_allclose(row[-1], 1, atol=1e-5)
    np.testing.assert_allclose(row[:-1], 0, atol=1e-5)
    out = attend.inspect(m, TOKENS, out_dir=str(tmp_path / "r"), ablate=[(0, 1)], corrupt=other)
    data = json.loads(out["json"])
    for key in ("predictions", "baseline_predictions", "lens", "dla", "detectors", "comparison", "thumbs", "full"):
        assert data[key] is not None, key
    assert data["intervention"] == "zero-ablated L0H1"
    assert len(data["full"]) == 4  # 14 tokens: every head's thumbnail has one cell per entry
    np.testing.assert_allclose(out["predictions"]["p_actual"][:-1],
                               np.exp(-out["predictions"]["loss"][:-1]), rtol=1e-5)
    assert (tmp_path / "r" / "report.html").exists() and (tmp_path / "r" / "report.json").exists()
    dets = attend.detect_heads(m, periods=[3, 5], sequences=2)
    assert len(dets) == 4 and all(0 <= d["induction"] <= 1 for d in dets)
