"""attend.residual_flow and attend.wasserstein2 against numpy recomputations from the model's own
captured residual stream, and W2 against brute force over permutations."""
import itertools

import numpy as np
import pytest

import attend

TINY = dict(vocab=16, context=24, d_model=16, layers=2, heads=2, kv_heads=2, d_ff=32)


def brute_w2(x, y):
    n = len(x)
    cost = ((x[:, None, :].astype(np.float64) - y[None, :, :]) ** 2).sum(-1)
    return np.sqrt(min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n))) / n)


def test_wasserstein2_equals_brute_force():
    rng = np.random.default_rng(3)
    for n in range(1, 7):
        x, y = rng.normal(size=(n, 4)).astype(np.float32), rng.normal(size=(n, 4)).astype(np.float32)
        assert attend.wasserstein2(x, y) == pytest.approx(brute_w2(x, y), rel=1e-9, abs=1e-9)
    with pytest.raises(ValueError, match="same shape"):
        attend.wasserstein2(np.zeros((3, 2)), np.zeros((4, 2)))


def test_residual_flow_matches_the_captured_stream():
    model = attend.Model(TINY, seed=4)
    tokens = np.array([1, 5, 2, 7, 1, 5, 2, 9, 4, 4], dtype=np.int32)
    flow = attend.residual_flow(model, tokens)
    rec = attend.capture(model, tokens, full_matrices=False)
    assert flow["predicted"] == int(np.argmax(model.forward(tokens)[-1]))
    assert len(flow["layers"]) == TINY["layers"]
    for layer, f in enumerate(flow["layers"]):
        a = rec.activations(layer)
        pre, mid, post = (a[k].astype(np.float64) for k in ("resid_pre", "resid_mid", "resid_post"))
        np.testing.assert_allclose(f["update"], np.linalg.norm(post - pre, axis=1), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(f["attention"], np.linalg.norm(mid - pre, axis=1), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(f["mlp"], np.linalg.norm(post - mid, axis=1), rtol=1e-6, atol=1e-7)
        assert f["mean_update"] == pytest.approx(np.linalg.norm(post - pre, axis=1).mean(), rel=1e-9)
        assert f["w2"] is not None and 0 <= f["w2"] <= np.sqrt(((post - pre) ** 2).sum(1).mean()) + 1e-6
        assert 1 <= f["clusters"] <= len(tokens)
    assert all(f["w2"] is None for f in attend.residual_flow(model, tokens, transport=False)["layers"])
