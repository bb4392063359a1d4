# attend.flash: flash-attn 2's interface (also exported as attend.flash_attn_*).
from . import flash_attn_func as flash_attn_func
from . import flash_attn_varlen_func as flash_attn_varlen_func
from . import flash_attn_with_kvcache as flash_attn_with_kvcache
