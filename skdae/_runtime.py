"""Process-wide torch settings that a fit needs, scoped to the fit.

On the CPU, denormal floats (below ~1.2e-38 in float32) are computed 10-100x
slower than normal ones. Adam's moment estimates for weights that never get a
gradient (MNIST's always-black border pixels, under weight decay) shrink
geometrically into that range, and late epochs then take several times as long
as early ones. Flushing denormals to zero -- TensorFlow's default -- keeps every
epoch at the speed of the first; the values lost are below 1e-38.

torch has a setter for this mode but no getter, so the caller's mode is read by
computing a product that is denormal unless flushing is on.
"""

from contextlib import contextmanager

import torch


def flushes_denormals():
    """Whether float32 products that would be denormal come out as zero here."""
    tiny = torch.tensor(1e-30, dtype=torch.float32)
    return bool(tiny * tiny.new_tensor(1e-10) == 0)


@contextmanager
def denormals_flushed(device):
    """Flush denormals to zero inside the block when ``device`` is the CPU,
    and give the caller back the mode it had."""
    if torch.device(device).type != "cpu" or flushes_denormals():
        yield
        return
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)
