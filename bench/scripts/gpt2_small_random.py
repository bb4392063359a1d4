#!/usr/bin/python3
"""A GPT-2-small-shaped Hugging Face checkpoint with random weights (12 layers x 12 heads, width
768, MLP 3072, vocabulary 50257, context 1024; f32; no tokenizer files, so attend reads it
byte-level), for timing `attend inspect` at that shape (bench/RESULTS.md, "Lab at GPT-2-small shape").
Uses tests/models/hf_reference.py's writer (transformers' names and layout).

    /usr/bin/python3 bench/scripts/gpt2_small_random.py OUT_DIR
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "models"))
import torch  # noqa: E402
import hf_reference  # noqa: E402


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: gpt2_small_random.py OUT_DIR")
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 768, "n_head": 12, "n_layer": 12,
           "n_positions": 1024, "n_ctx": 1024, "vocab_size": 50257, "n_inner": None, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "tie_word_embeddings": True}
    gen = torch.Generator().manual_seed(1)
    tensors = hf_reference.gpt2_tensors(cfg, gen, torch.float32, "")
    hf_reference.write_checkpoint(argv[1], cfg, tensors)


if __name__ == "__main__":
    main(sys.argv)
