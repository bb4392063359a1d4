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
