"""attend.reference: the double-precision specification of attention (slow). Same signatures,
names and semantics as attend.attention and attend.attention_backward; tests compare every fast
path with it."""
from ._generic import reference_attention as attention  # noqa: F401
from ._generic import reference_attention_backward as attention_backward  # noqa: F401

__all__ = ["attention", "attention_backward"]
