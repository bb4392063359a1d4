# Type stubs for the attend package (Python entry points over the pybind11 extension attend._attend).
# attend.torch (torch.pyi) has torch's scaled_dot_product_attention; attend.reference (reference.pyi)
# the float64 specification of attention/attention_backward.
# Shape letters: B batch, Nq queries, Nk keys, Hq query heads, Hkv key/value heads (Hq % Hkv == 0),
# D query/key width, Dv value width. layout='bshd' is [B, N, H, D]; layout='bhsd' is [B, H, N, D].
from typing import Any, Callable, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from . import reference as reference
from . import flash as flash

__version__: str

ArrayLike = npt.ArrayLike
Array = npt.NDArray[Any]
Layout = Literal["bshd", "bhsd"]

# ---- attend's own entry points: [B, N, H, D], causal/window bottom-right aligned -----------------

@overload
def attention(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, causal: bool = False, window: Tuple[int, int] = (-1, -1),
              logit_scale: Optional[float] = None, softcap: float = 0.0, bias: Optional[ArrayLike] = None,
              alibi: Optional[ArrayLike] = None, dropout_p: float = 0.0, seed: int = 0,
              return_lse: Literal[False] = False, layout: Layout = "bshd", dtype: Optional[str] = None,
              cu_seqlens_q: Optional[ArrayLike] = None, cu_seqlens_k: Optional[ArrayLike] = None,
              seqlens_k: Optional[ArrayLike] = None, threads: Optional[int] = None,
              out: Optional[Array] = None) -> Array: ...
@overload
def attention(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, causal: bool = False, window: Tuple[int, int] = (-1, -1),
              logit_scale: Optional[float] = None, softcap: float = 0.0, bias: Optional[ArrayLike] = None,
              alibi: Optional[ArrayLike] = None, dropout_p: float = 0.0, seed: int = 0,
              return_lse: Literal[True] = ..., layout: Layout = "bshd", dtype: Optional[str] = None,
              cu_seqlens_q: Optional[ArrayLike] = None, cu_seqlens_k: Optional[ArrayLike] = None,
              seqlens_k: Optional[ArrayLike] = None, threads: Optional[int] = None,
              out: Optional[Array] = None) -> Tuple[Array, Array]:
    """Exact scaled-dot-product attention (forward), attend's names and conventions.

    q: [B, Nq, Hq, D] (layout='bhsd': [B, Hq, Nq, D]; packed with cu_seqlens: [total_q, Hq, D])
    k: [B, Nk, Hkv, D];  v: [B, Nk, Hkv, Dv]
    returns out: [B, Nq, Hq, Dv] (q's layout and dtype); with return_lse=True also
    lse: float32 [B, Hq, Nq] (-inf for a fully masked row, whose out is 0).
    causal / window: BOTTOM-RIGHT aligned (i' = i + Nk - Nq).  logit_scale: default 1/sqrt(D).
    bias: float, broadcastable to [B, Hq, Nq, Nk], or bool (True = attend).  alibi: [Hq].
    cu_seqlens_q/k: [B + 1] int32.  seqlens_k: [B] int32.
    numpy arrays (native byte order) or CPU torch tensors (torch in, torch out, differentiable);
    float32, float16, bfloat16 (torch.bfloat16, ml_dtypes, or uint16 + dtype='bfloat16').
    torch's keywords (is_causal, attn_mask, scale, ...) and flash-attn's (softmax_scale,
    window_size, ...) raise TypeError naming attend.torch.scaled_dot_product_attention /
    attend.flash_attn_func. Bad values raise ValueError naming the argument.
    """

@overload
def attention_backward(q: ArrayLike, k: ArrayLike, v: ArrayLike, out: ArrayLike, dout: ArrayLike, lse: ArrayLike, *,
                       causal: bool = False, window: Tuple[int, int] = (-1, -1), logit_scale: Optional[float] = None,
                       softcap: float = 0.0, bias: Optional[ArrayLike] = None, alibi: Optional[ArrayLike] = None,
                       dropout_p: float = 0.0, seed: int = 0, return_dbias: Literal[False] = False,
                       deterministic: bool = False, layout: Layout = "bshd", dtype: Optional[str] = None,
                       cu_seqlens_q: Optional[ArrayLike] = None, cu_seqlens_k: Optional[ArrayLike] = None,
                       seqlens_k: Optional[ArrayLike] = None,
                       threads: Optional[int] = None) -> Tuple[Array, Array, Array]: ...
@overload
def attention_backward(q: ArrayLike, k: ArrayLike, v: ArrayLike, out: ArrayLike, dout: ArrayLike, lse: ArrayLike, *,
                       causal: bool = False, window: Tuple[int, int] = (-1, -1), logit_scale: Optional[float] = None,
                       softcap: float = 0.0, bias: Optional[ArrayLike] = None, alibi: Optional[ArrayLike] = None,
                       dropout_p: float = 0.0, seed: int = 0, return_dbias: Literal[True] = ...,
                       deterministic: bool = False, layout: Layout = "bshd", dtype: Optional[str] = None,
                       cu_seqlens_q: Optional[ArrayLike] = None, cu_seqlens_k: Optional[ArrayLike] = None,
                       seqlens_k: Optional[ArrayLike] = None,
                       threads: Optional[int] = None) -> Tuple[Array, Array, Array, Array]:
    """Gradients of attention.

    q, k, v, out: as the forward (out = the forward's output);  dout: [B, Nq, Hq, Dv];
    lse: float32 [B, Hq, Nq] from attention(..., return_lse=True).
    returns (dq, dk, dv) shaped like q, k, v; with return_dbias=True also dbias (float32, the
    bias's shape, broadcast dimensions summed). Pass the forward's options.
    """

# ---- flash-attn 2's interface: [B, N, H, D], bottom-right causal (attend.flash) ---------------------

@overload
def flash_attn_func(q: ArrayLike, k: ArrayLike, v: ArrayLike, dropout_p: float = 0.0,
                    softmax_scale: Optional[float] = None, causal: bool = False,
                    window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                    alibi_slopes: Optional[ArrayLike] = None, deterministic: bool = False,
                    return_attn_probs: Literal[False] = False) -> Array: ...
@overload
def flash_attn_func(q: ArrayLike, k: ArrayLike, v: ArrayLike, dropout_p: float = 0.0,
                    softmax_scale: Optional[float] = None, causal: bool = False,
                    window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                    alibi_slopes: Optional[ArrayLike] = None, deterministic: bool = False,
                    return_attn_probs: Literal[True] = ...) -> Tuple[Array, Array, Array]:
    """flash_attn.flash_attn_func: q (batch, seqlen_q, nheads, headdim), k/v (batch, seqlen_k,
    nheads_k, headdim) -> out like q; with return_attn_probs also softmax_lse (batch, nheads,
    seqlen_q; +inf for a row with no visible key) and an empty S_dmask."""

def flash_attn_varlen_func(q: ArrayLike, k: ArrayLike, v: ArrayLike, cu_seqlens_q: ArrayLike, cu_seqlens_k: ArrayLike,
                           max_seqlen_q: int, max_seqlen_k: int, dropout_p: float = 0.0,
                           softmax_scale: Optional[float] = None, causal: bool = False,
                           window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                           alibi_slopes: Optional[ArrayLike] = None, deterministic: bool = False,
                           return_attn_probs: bool = False,
                           block_table: Optional[ArrayLike] = None) -> Union[Array, Tuple[Array, Array, Array]]:
    """flash_attn.flash_attn_varlen_func: q (total_q, nheads, headdim), k/v (total_k, nheads_k,
    headdim), cu_seqlens (batch + 1,) int32 -> out (total_q, nheads, headdim); softmax_lse
    (nheads, total_q)."""

def flash_attn_with_kvcache(q: ArrayLike, k_cache: ArrayLike, v_cache: ArrayLike, k: Optional[ArrayLike] = None,
                            v: Optional[ArrayLike] = None, rotary_cos: None = None, rotary_sin: None = None,
                            cache_seqlens: Union[int, ArrayLike, None] = None,
                            cache_batch_idx: Optional[ArrayLike] = None, cache_leftpad: Optional[ArrayLike] = None,
                            block_table: Optional[ArrayLike] = None, softmax_scale: Optional[float] = None,
                            causal: bool = False, window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                            rotary_interleaved: bool = True, alibi_slopes: Optional[ArrayLike] = None,
                            num_splits: int = 0,
                            return_softmax_lse: bool = False) -> Union[Array, Tuple[Array, Array]]:
    """flash_attn.flash_attn_with_kvcache: k/v appended to k_cache/v_cache IN PLACE at
    cache_seqlens, then q (batch, seqlen_q, nheads, headdim) attends to each sequence's cache,
    bottom-right aligned. softmax_lse: (batch, nheads, seqlen_q). rotary_* must be None."""

def set_num_threads(n: int) -> None:
    """Worker threads for calls that do not pass threads= (n >= 1)."""
def num_threads() -> int:
    """The global thread setting."""
def isa_info() -> dict[str, str]:
    """{'detected': best SIMD path of this CPU, 'active': the one calls use}."""
def set_isa(name: Optional[Literal["scalar", "avx2", "avx512"]]) -> None:
    """Force a SIMD path (never above the detected one); None restores the best."""
def _time_cpp_attention(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, causal: bool = False,
                        layout: Layout = "bshd", threads: Optional[int] = None,
                        runs: int = 5) -> list[float]:
    """Seconds of each of `runs` attend::attention calls timed in C++ (benchmarks only)."""

class KVCache:
    """Contiguous KV cache for S sequences; k [n, G, D], v [n, G, Dv] per append."""
    def __init__(self, sequences: int, capacity: int, kv_heads: int, head_dim: int,
                 value_dim: Optional[int] = None, dtype: str = "float32", window: int = -1,
                 sink_tokens: int = 0) -> None: ...
    def append(self, s: int, k: ArrayLike, v: ArrayLike) -> int: ...
    def truncate(self, s: int, length: int) -> None: ...
    def clear(self, s: int) -> None: ...
    def length(self, s: int) -> int: ...
    def stored(self, s: int) -> int: ...
    def kept_positions(self, s: int) -> list[int]: ...
    def keys(self, s: int) -> Array:
        """Copy of stored keys, [stored, G, D]."""
    def values(self, s: int) -> Array:
        """Copy of stored values, [stored, G, Dv]."""
    sequences: int
    kv_heads: int
    head_dim: int
    value_dim: int
    dtype: str

class PagedKVCache:
    """Paged KV cache: blocks shared by sequences, fork() with copy-on-write."""
    def __init__(self, num_blocks: int, block_size: int, kv_heads: int, head_dim: int,
                 value_dim: Optional[int] = None, dtype: str = "float32") -> None: ...
    def add_sequence(self) -> int: ...
    def fork(self, parent: int) -> int: ...
    def remove_sequence(self, s: int) -> None: ...
    def append(self, s: int, k: ArrayLike, v: ArrayLike) -> int: ...
    def truncate(self, s: int, length: int) -> None: ...
    def length(self, s: int) -> int: ...
    def free_blocks(self) -> int: ...
    def block_table(self, s: int) -> list[int]: ...
    block_size: int
    kv_heads: int
    head_dim: int
    value_dim: int
    dtype: str

@overload
def decode(q: ArrayLike, cache: Union[KVCache, PagedKVCache], *, logit_scale: Optional[float] = None,
           softcap: float = 0.0, window: int = -1, alibi: Optional[ArrayLike] = None,
           sequences: Optional[Sequence[int]] = None, return_lse: Literal[False] = False,
           dtype: Optional[str] = None, threads: Optional[int] = None, out: Optional[Array] = None) -> Array: ...
@overload
def decode(q: ArrayLike, cache: Union[KVCache, PagedKVCache], *, logit_scale: Optional[float] = None,
           softcap: float = 0.0, window: int = -1, alibi: Optional[ArrayLike] = None,
           sequences: Optional[Sequence[int]] = None, return_lse: Literal[True] = ...,
           dtype: Optional[str] = None, threads: Optional[int] = None,
           out: Optional[Array] = None) -> Tuple[Array, Array]:
    """Decode over a KV cache. q: [S, T, Hq, D] -> out [S, T, Hq, Dv] (+ lse float32 [S, Hq, T])."""

# ---- model runtime (include/attend/model.h, train.h). N tokens, V vocabulary, E width, L layers.

class Model:
    """A decoder-only transformer (GPT-2 family) on attend's kernels. config keys (any subset):
    vocab, context, d_model, layers, heads, kv_heads, d_ff, norm, position, mlp, tied_embeddings,
    rope_base, norm_eps, bias."""
    def __init__(self, config: Optional[dict[str, Any]] = None, seed: int = 0) -> None: ...
    @staticmethod
    def load(path: str) -> Model: ...
    def save(self, path: str) -> None: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def num_parameters(self) -> int: ...
    def parameters(self) -> dict[str, Array]:
        """Every parameter by its attend layout name (x·W convention), float32 copies."""
    def set_parameters(self, values: dict[str, ArrayLike]) -> None:
        """Overwrites the named parameters (names and sizes as parameters())."""
    def encode(self, text: str, add_special: bool = True) -> list[int]: ...
    def decode(self, tokens: ArrayLike) -> str: ...
    def decode_token(self, token: int) -> bytes: ...
    @property
    def eos_token(self) -> int: ...
    @property
    def tokenizer(self) -> str: ...
    def forward(self, tokens: ArrayLike) -> Array:
        """tokens: [N] ints -> logits float32 [N, V]."""
    def generate(self, prompt: ArrayLike, *, max_new_tokens: int = 32, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, seed: int = 0, stop_token: int = -1,
                 use_cache: bool = True, on_token: Optional[Any] = None) -> list[int]:
        """prompt: [N] ints -> the new tokens (greedy at temperature 0; seeded sampling otherwise)."""

Task = Literal["induction", "induction-random", "copy", "sort", "text"]

class Trainer:
    """AdamW training of a Model on a built-in task (or byte-level text from the file `data`)."""
    def __init__(self, model: Model, task: Task = "induction", seq_len: int = 0, data: str = "", *,
                 steps: int = 1000, batch: int = 16, accum: int = 1, lr: float = 1e-3, min_lr: float = 1e-4,
                 warmup: int = 50, weight_decay: float = 0.1, clip: float = 1.0, seed: int = 0,
                 log_every: int = 0) -> None: ...
    def step(self) -> float: ...
    def run(self) -> None: ...
    @property
    def steps_done(self) -> int: ...
    @property
    def curve(self) -> list[dict[str, float]]: ...
    @property
    def phase_times(self) -> dict[str, float]: ...
    def lr_at(self, step: int) -> float: ...
    def accuracy(self, sequences: int = 256, seed: int = 1) -> float: ...
    def eval_loss(self, sequences: int = 256, seed: int = 1) -> float: ...
    def save_checkpoint(self, path: str) -> None: ...
    def load_checkpoint(self, path: str) -> None: ...

def train(model: Model, task: Task = "induction", seq_len: int = 0, data: str = "", *, steps: int = 1000,
          batch: int = 16, accum: int = 1, lr: float = 1e-3, min_lr: float = 1e-4, warmup: int = 50,
          weight_decay: float = 0.1, clip: float = 1.0, seed: int = 0, log_every: int = 0) -> list[dict[str, float]]:
    """Trains `model` in place; returns the loss curve (dicts: step, loss, lr, tokens_per_s, grad_norm)."""

# ---- observatory (include/attend/observe.h, observe_report.h). H heads, N tokens.

class Recording:
    """One captured forward pass: stats(layer) -> dict of [H, N] arrays (lse, entropy, sink_mass,
    mean_distance, max_weight, argmax, visible); weights/scores(layer, head) -> float32 [N, N];
    activations(layer) -> resid_pre/mid/post [N, E], q/head_out [N, H, D], k/v [N, G, D]."""
    title: str
    n: int
    heads: int
    d_model: int
    head_dim: int
    token_ids: list[int]
    @property
    def num_layers(self) -> int: ...
    @property
    def tokens(self) -> list[bytes]: ...
    def stats(self, layer: int) -> dict[str, Array]: ...
    def has_weights(self, layer: int, head: int) -> bool: ...
    def weights(self, layer: int, head: int) -> Array: ...
    def scores(self, layer: int, head: int) -> Array: ...
    def activations(self, layer: int) -> dict[str, Optional[Array]]:
        """resid_pre/mid/post, attn_out, mlp_out [N, E]; q, head_out [N, H, D]; k, v [N, G, D]."""
    def thumbnail(self, layer: int) -> Optional[tuple[Array, Array]]:
        """(mean, max) pooled in the kernel, each [H, R, C] with R = min(N, side), C likewise."""
    def rows(self, layer: int) -> Optional[tuple[list[int], Array]]:
        """The exact rows kept for every head: (rows, weights [H, len(rows), N])."""
    def exact_weights(self, layer: int, head: int) -> Array:
        """[N, N]: recorded in full, or the thumbnail when it has one cell per entry."""

def capture(model: Model, tokens: Union[ArrayLike, str], *, layers: Optional[Sequence[int]] = None,
            heads: Optional[Sequence[int]] = None, full_matrices: bool = True, activations: bool = True,
            sink_tokens: int = 1, title: str = "", thumbnail: int = 256,
            rows: Optional[Sequence[int]] = None) -> Recording:
    """Runs model on tokens ([N] ints or text) with the observatory attached; thumbnail: side of
    every head's in-kernel thumbnail (0: none); rows: query rows kept exactly for every head."""
def write_report(recording: Recording, out_dir: str, *, graph_top_k: int = 2,
                 graph_min_weight: float = 0.05) -> str:
    """Writes the observatory report into out_dir; returns the HTML path."""

# ---- the residual stream as a flow (include/attend/residual_flow.h, transport.h). N tokens.

def residual_flow(model: Model, tokens: ArrayLike, *, cluster_cos: float = 0.9,
                  transport: bool = True) -> dict[str, Any]:
    """Runs model on tokens [N] and returns {tokens, predicted, clusters_embedded,
    embedded_last_cos, layers}: per layer a dict with update/attention/mlp ([N] norms of the
    block's update and of its attention and MLP parts), their means, w2 (exact W2 between the
    clouds entering and leaving the block, None when transport=False), clusters (on the sphere,
    cosine >= cluster_cos), last_cos, last_attention_along, last_mlp_along (the last token against
    the predicted token's unembedding)."""
def wasserstein2(x: ArrayLike, y: ArrayLike) -> float:
    """Exact W2 between equal-size point clouds x, y [n, d] with uniform weights."""
# ---- the lab (include/attend/lab.h): predictions, logit lens, attribution, interventions ------------
# Hook names: blocks.<l>.hook_resid_pre | .attn.hook_q | .attn.hook_k | .attn.hook_v | .attn.hook_z
# ([N, H, D]) | .hook_attn_out | .hook_resid_mid | .hook_mlp_out | .hook_resid_post ([N, E]) |
# .attn.hook_pattern ([H, N, N]); fn(array, name) edits in place or returns a replacement.
HookFn = Callable[[Array, str], Optional[ArrayLike]]

@overload
def run_with_hooks(model: Model, tokens: Union[ArrayLike, str], *, fwd_hooks: Sequence[tuple[str, HookFn]] = ...,
                   return_cache: Literal[False] = False) -> Array: ...
@overload
def run_with_hooks(model: Model, tokens: Union[ArrayLike, str], *, fwd_hooks: Sequence[tuple[str, HookFn]] = ...,
                   return_cache: Literal[True]) -> tuple[Array, Recording]: ...
def predictions(model: Model, tokens: Union[ArrayLike, str], *, top_k: int = 5) -> dict[str, Any]:
    """top_tokens/top_probs [N, k], actual, p_actual, rank_actual, loss [N], mean_loss, accuracy."""
def logit_lens(model: Model, tokens: Union[ArrayLike, str, Recording], *, target: Optional[ArrayLike] = None) -> dict[str, Any]:
    """labels [S], prob/rank/top_token/top_prob [S, N] for the tracked token per position."""
def direct_logit_attribution(model: Model, tokens: Union[ArrayLike, str, Recording], *, target: Optional[ArrayLike] = None,
                             baseline: Optional[ArrayLike] = None) -> dict[str, Any]:
    """labels [K], value [K, N] (sums to logit [N]), rstd [N] (the frozen final-norm scale)."""
def ablate(model: Model, tokens: Union[ArrayLike, str], *, heads: Sequence[tuple[int, int]] = ..., mlps: Sequence[int] = ...,
           kind: Literal["zero", "mean", "resample"] = "zero", reference: Optional[Sequence[Union[ArrayLike, str]]] = None) -> Array:
    """Logits [N, V] with the heads' outputs and the MLPs' outputs ablated."""
def compare(model: Model, clean: Union[ArrayLike, str], corrupt: Union[ArrayLike, str], *, position: int = -1, answer: int = -1,
            wrong: int = -1, noising: bool = True, positions: bool = True) -> dict[str, Any]:
    """metric_clean/corrupt and patching grids (recovered [rows, cols]) between two prompts."""
def detect_heads(model: Model, *, periods: Sequence[int] = ..., sequences: int = 4, length: int = 0,
                 seed: int = 1) -> list[dict[str, Any]]:
    """Per head: previous_token, duplicate_token, induction (+ _min), offset, offset_mass, positional, kind."""
def inspect(model: Model, tokens: Union[ArrayLike, str], *, out_dir: str = "", ablate: Optional[Sequence[tuple[int, int]]] = None,
            ablation: Literal["zero", "mean", "resample"] = "zero", corrupt: Optional[Union[ArrayLike, str]] = None,
            detectors: bool = True, emf: bool = True) -> dict[str, Any]:
    """Every analysis of `attend inspect` (the report's JSON under "json"); writes the report when out_dir is set."""
