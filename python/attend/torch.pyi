# attend.torch: torch.nn.functional.scaled_dot_product_attention on attend's kernels.
# query [..., Hq, L, E], key [..., Hkv, S, E], value [..., Hkv, S, Ev] -> [..., Hq, L, Ev].
from typing import Optional

import torch

def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, *, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> torch.Tensor:
    """torch's semantics exactly: top-left causal (tril), bool (True = attend) or additive float
    masks, GQA only with enable_gqa. Differentiable. A fully masked row gives 0 (torch: NaN)."""
