# attend.reference: the double-precision specification (slow); same signatures as attend's.
from . import attention as attention
from . import attention_backward as attention_backward
