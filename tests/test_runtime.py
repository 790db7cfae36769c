import warnings

import numpy as np
import pytest
import torch

from skdae import DenoisingAutoencoder
from skdae._net import DenoisingNet
from skdae._runtime import denormals_flushed, flushes_denormals, on_every_pool_thread


def _pool_modes():
    """The flush mode of every thread of torch's pool (the caller's alone off GNU OpenMP)."""
    return on_every_pool_thread(flushes_denormals) or [flushes_denormals()]


@pytest.fixture
def caller_flush_mode():
    """Put the process's flush mode and thread count back as they were."""
    before, threads = flushes_denormals(), torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
    torch.set_flush_denormal(before)
    on_every_pool_thread(lambda: torch.set_flush_denormal(before))


def test_flushes_denormals_reads_the_mode(caller_flush_mode):
    torch.set_flush_denormal(False)
    assert not flushes_denormals()
    torch.set_flush_denormal(True)
    assert flushes_denormals()


@pytest.mark.parametrize("caller_mode", [False, True])
def test_fit_flushes_denormals_and_gives_the_caller_its_mode_back(
    monkeypatch, unit_X, tiny, caller_flush_mode, caller_mode
):
    seen = []
    original = DenoisingNet.train_step_single

    def spy(self, batch, **fit_params):
        seen.extend(_pool_modes())
        return original(self, batch, **fit_params)

    monkeypatch.setattr(DenoisingNet, "train_step_single", spy)
    torch.set_num_threads(2)
    torch.rand(100_000).sum()  # the pool exists before the fit, as in a user's process
    torch.set_flush_denormal(caller_mode)
    on_every_pool_thread(lambda: torch.set_flush_denormal(caller_mode))
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    assert seen and all(seen)  # every worker thread flushes, not only the caller's
    assert _pool_modes() == [caller_mode] * len(_pool_modes())
    dae.transform(unit_X)
    assert _pool_modes() == [caller_mode] * len(_pool_modes())


def test_mode_is_restored_when_the_fit_fails(monkeypatch, unit_X, tiny, caller_flush_mode):
    def broken(self, batch, **fit_params):
        raise RuntimeError("boom")

    monkeypatch.setattr(DenoisingNet, "train_step_single", broken)
    torch.set_flush_denormal(False)
    with pytest.raises(RuntimeError, match="boom"):
        DenoisingAutoencoder(**tiny).fit(unit_X)
    assert not flushes_denormals()


def test_denormals_flushed_leaves_other_devices_alone(caller_flush_mode):
    torch.set_flush_denormal(False)
    with denormals_flushed("cuda"):
        assert not flushes_denormals()


def test_fit_leaves_the_thread_count_alone(unit_X, tiny):
    # A count that is not torch's default, so that a fit setting its own (or
    # resetting to the default) is seen.
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if threads > 1 else 2)
    try:
        chosen = torch.get_num_threads()
        dae = DenoisingAutoencoder(**tiny).fit(unit_X)
        assert torch.get_num_threads() == chosen
        dae.transform(unit_X)
        assert torch.get_num_threads() == chosen
    finally:
        torch.set_num_threads(threads)


def test_assume_finite_skips_the_scan_like_sklearn(unit_X, tiny):
    import sklearn

    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    bad = unit_X.copy()
    bad[3, 4] = np.inf
    with pytest.raises(ValueError, match="contains infinity"):
        dae.transform(bad)
    with sklearn.config_context(assume_finite=True):
        assert not np.isfinite(dae.transform(bad)[3]).all()


def test_assume_finite_also_skips_the_bce_range_check(unit_X, tiny):
    import sklearn

    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    assert dae.loss_function_ == "bce"
    with pytest.warns(UserWarning, match=r"spans \[0\.\d+, 1\.99"):
        dae.transform(unit_X * 2)
    with sklearn.config_context(assume_finite=True), warnings.catch_warnings():
        warnings.simplefilter("error")  # no scan at all: the caller vouches
        assert np.isfinite(dae.transform(unit_X * 2)).all()
