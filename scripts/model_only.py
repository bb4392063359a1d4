#!/usr/bin/env python3
"""Model-only copy of an `attend train` checkpoint: keeps the model's tensors and its attend_config
metadata, drops the AdamW moments (opt.*) and the train_state metadata (step, level, loss curve).
The result loads with nn::Model::load like the checkpoint, at about a third of its size.

    python3 scripts/model_only.py CHECKPOINT.safetensors OUT.safetensors

Standard library only; OUT is written to a temporary file in its folder and renamed over OUT.
"""
import json
import os
import struct
import sys
import tempfile


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: model_only.py CHECKPOINT.safetensors OUT.safetensors")
    src, dst = argv[1], argv[2]
    with open(src, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        sys.exit(f"model_only.py: {src} is too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        sys.exit(f"model_only.py: {src}: header length {n} exceeds the file")
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    meta = header.pop("__metadata__", {})
    if "attend_config" not in meta:
        sys.exit(f"model_only.py: {src} has no attend_config metadata (not an attend model)")
    out_header = {"__metadata__": {"attend_config": meta["attend_config"]}}
    chunks, offset = [], 0
    for name in sorted(header):
        if name.startswith("opt."):
            continue
        t = header[name]
        begin, end = t["data_offsets"]
        chunks.append(data[begin:end])
        out_header[name] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [offset, offset + end - begin]}
        offset += end - begin
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # tensor data 8-byte aligned, as safetensors writers do
    folder = os.path.dirname(os.path.abspath(dst))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model_only.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text)
            for c in chunks:
                f.write(c)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise


if __name__ == "__main__":
    main(sys.argv)
