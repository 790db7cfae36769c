"""Evaluation of a fitted module: in batches, in X's float dtype, without noise.

``transform``, ``inverse_transform``, ``reconstruct`` and the scores all run
``evaluate``: the module in eval mode (no dropout, no noise), without autograd,
``EVAL_BATCH_SIZE`` rows at a time. float64 input is evaluated with a float64
copy of the weights (``float64_copy``, made once per fit), so that a row's
output does not depend on which rows share its batch.
"""

import copy
import weakref

import numpy as np
import scipy.sparse as sp
import torch

from ._data import as_tensor
from ._modules import evaluating
from ._runtime import denormals_flushed

# Rows per forward pass at evaluation time: large enough to keep the matrix
# products efficient, small enough that the activations stay a few MB.
EVAL_BATCH_SIZE = 4096


# Evaluation's float64 copies of fitted modules, made on demand and dropped with
# the module: a cache that is no state of the estimator (its __dict__ and pickles).
_FLOAT64_COPIES = weakref.WeakKeyDictionary()


def float64_copy(module, record):
    """A float64 copy of ``module``, made once per fit (``record``) and kept until
    its weights change.

    Each fit makes a new record; changes by hand (``load_state_dict``) bump the
    weights' version counters (fused Adam's updates do not: hence the record).
    """
    key = tuple(t._version for t in module.state_dict(keep_vars=True).values())
    cached = _FLOAT64_COPIES.get(module)
    if cached is None or cached[0] is not record or cached[1] != key:
        cached = (record, key, copy.deepcopy(module).to(torch.float64))
        _FLOAT64_COPIES[module] = cached
    return cached[2]


def evaluate(module, record, X, step, n_outputs):
    """``step(module, batch)`` over X in batches, in X's float dtype: ``(n, n_outputs)``.

    ``record`` is the fit's ``FittedModel`` (its device, and the key of the
    float64 copy). float64 rows go through a float64 copy of the weights (bit
    for bit the same per row whatever its batch with ReLU; to float64 rounding
    with activations whose vectorised and scalar kernels differ in the last
    bit, such as GELU).
    """
    if X.dtype == np.float64 and next(module.parameters()).dtype != torch.float64:
        module = float64_copy(module, record)
    device = torch.device(record.device)
    out = np.empty((X.shape[0], n_outputs), dtype=X.dtype)
    with evaluating(module), torch.inference_mode(), denormals_flushed(device):
        for start in range(0, X.shape[0], EVAL_BATCH_SIZE):
            stop = start + EVAL_BATCH_SIZE
            rows = X[start:stop]
            if sp.issparse(rows):  # densified a batch at a time
                rows = rows.toarray()
            batch = as_tensor(rows, device, dtype=X.dtype)
            result = step(module, batch)
            out[start:stop] = result.reshape(len(batch), -1).cpu().numpy()
    return out
