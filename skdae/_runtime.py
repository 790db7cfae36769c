"""Process-wide torch settings that a fit needs, scoped to the fit.

On the CPU, denormal floats (below ~1.2e-38 in float32) are computed 10-100x
slower than normal ones. Adam's moment estimates for weights that never get a
gradient (MNIST's always-black border pixels, under weight decay) shrink
geometrically into that range, and late epochs then take several times as long
as early ones. Flushing denormals to zero -- TensorFlow's default -- keeps every
epoch at the speed of the first; the values lost are below 1e-38.

The mode lives in each thread's MXCSR register, and ``torch.set_flush_denormal``
sets only the calling thread's. GNU OpenMP's worker threads (torch's intra-op
pool on Linux) copy it only when they are created, so once the pool exists the
setting never reaches them and the fused Adam update, split over the pool,
keeps crawling on denormals. We therefore also run the setter once on every
thread of the pool. (Intel's and LLVM's OpenMP runtimes copy the primary
thread's mode into the workers at each parallel region by default.)

torch has a setter for the mode but no getter, so the caller's mode is read by
computing a product that is denormal unless flushing is on.

``resolve_device`` turns the ``device`` parameter into the device a fit runs on,
``check_precision`` refuses a precision it cannot train in, and ``torch_seed``
turns ``random_state`` into the seed of a fit's own ``torch.Generator``.
"""

import ctypes
import functools
import os
import sys
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import torch


def flushes_denormals():
    """Whether float32 products that would be denormal come out as zero here."""
    tiny = torch.tensor(1e-30, dtype=torch.float32)
    return bool(tiny * tiny.new_tensor(1e-10) == 0)


@functools.cache
def _gnu_openmp():
    """The GNU OpenMP runtime torch has loaded, through ctypes; None elsewhere.

    Other libraries may bring copies of their own (scikit-learn's wheels do),
    each with its own pool: take the one in torch's folder, or the only one.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/libgomp" in line}
    except OSError:
        return None
    torch_dir = os.path.dirname(torch.__file__) + os.sep
    ours = [path for path in paths if path.startswith(torch_dir)]
    if ours:
        paths = ours
    elif len(paths) != 1:
        return None
    for path in paths:
        try:
            runtime = ctypes.CDLL(path)  # the loaded copy: dlopen returns its handle
        except OSError:
            continue
        if hasattr(runtime, "GOMP_parallel"):
            runtime.GOMP_parallel.restype = None
            return runtime
    return None


_THREAD_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def on_every_pool_thread(function):
    """Call ``function()`` once on each thread of torch's OpenMP pool.

    Returns the list of results (one per thread, the calling thread included),
    or None when the pool is not GNU OpenMP's.
    """
    runtime = _gnu_openmp()
    if runtime is None:
        return None
    results = []
    # ctypes releases the GIL during the call and each thread retakes it to
    # run the Python callback, so the threads take turns.
    callback = _THREAD_FUNCTION(lambda _: results.append(function()))
    runtime.GOMP_parallel(callback, None, ctypes.c_uint(torch.get_num_threads()), ctypes.c_uint(0))
    return results


def set_flush_denormal_everywhere(mode):
    """``torch.set_flush_denormal(mode)`` on this thread and on torch's pool."""
    supported = torch.set_flush_denormal(mode)
    if supported:
        on_every_pool_thread(lambda: torch.set_flush_denormal(mode))
    return supported


@contextmanager
def denormals_flushed(device):
    """Flush denormals to zero inside the block when ``device`` is the CPU,
    and give the caller back the mode it had."""
    if torch.device(device).type != "cpu":
        yield
        return
    caller_mode = flushes_denormals()
    supported = set_flush_denormal_everywhere(True)
    try:
        yield
    finally:
        if supported and not caller_mode:
            set_flush_denormal_everywhere(False)


def resolve_device(device):
    """Turn the ``device`` parameter into a ``torch.device``, or say why not."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a device torch knows; expected 'auto', 'cpu', "
            "'cuda' or 'cuda:N'."
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but torch sees no CUDA GPU "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}). "
                "Use device='cpu', or device='auto' to take a GPU only when present."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: torch sees only {torch.cuda.device_count()} GPU(s)."
            )
    elif resolved.type != "cpu":
        raise ValueError(f"device={device!r}: only 'cpu' and 'cuda' devices are supported.")
    return resolved


def available_device(device):
    """``device`` if it is here (and is one), else the CPU: where a model is rebuilt."""
    try:
        return resolve_device(device)
    except (ValueError, TypeError):
        return torch.device("cpu")


def torch_seed(random_state):
    """One integer seed for the fit's ``torch.Generator``.

    None draws fresh entropy from the OS rather than from numpy's global state,
    so that skdae never changes the caller's random streams.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    if isinstance(random_state, Integral):
        return int(random_state)
    # A RandomState instance: advance it, as scikit-learn's estimators do.
    return int(random_state.randint(np.iinfo(np.int32).max))


def check_precision(precision, device):
    """Refuse a ``precision`` that ``device`` cannot train in, saying what it can."""
    if precision == "float16" and device.type != "cuda":
        raise ValueError(
            f"precision='float16' needs a GPU (float16 with loss scaling is a CUDA feature); "
            f"this fit runs on {device}. Use precision='bfloat16' on CPUs that have it, or "
            "'float32'."
        )
    if precision == "bfloat16" and not bfloat16_supported(device):
        raise ValueError(
            f"precision='bfloat16' needs bfloat16 arithmetic, which {device} lacks "
            "(on a CPU: AVX512-BF16 or AMX; on a GPU: compute capability 8.0, Ampere, or "
            "newer). Use precision='float32'."
        )


def bfloat16_supported(device):
    """Whether ``device`` computes bfloat16 natively (emulation is slower than float32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
