"""numpy's BLAS on one thread while a model runs."""

from __future__ import annotations

import contextlib
import functools


@functools.cache
def _blas_threads():
    """threadpoolctl's handle on the BLAS numpy calls (OpenBLAS), or None when threadpoolctl is not
    installed (it comes with the `model` extra)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def one_blas_thread(function):
    """`function` with numpy's BLAS on one thread while it runs: a model's matrix products have as many
    rows as the sentence has tokens, too few for OpenBLAS's threads to pay, and on a busy machine they
    cost more than they bring (benchmarks/decoder_bench.py: Qwen's layer 5 in a fresh process took 9.8 s
    and 4.7 CPU s with OpenBLAS's default threads, 1.9 s and 2.0 CPU s with one). Each product is the
    same sum either way: the numbers do not change (tests/test_decoders.py)."""

    @functools.wraps(function)
    def on_one_thread(*args, **kwargs):
        controller = _blas_threads()
        with controller.limit(limits=1, user_api="blas") if controller is not None else contextlib.nullcontext():
            return function(*args, **kwargs)

    return on_one_thread
