"""data_placement: X on the device once, or streamed to it a batch at a time."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skdae import DenoisingAutoencoder
from skdae._data import (
    STREAM_ABOVE_FREE_FRACTION,
    HostRows,
    TensorBatches,
    _one_ahead,
    choose_placement,
)


def small(**params):
    base = dict(hidden_units=(16, 4), max_epochs=3, batch_size=16, random_state=0, device="cpu")
    return DenoisingAutoencoder(**{**base, **params})


def weights(model):
    return {k: v.clone() for k, v in model.net_.module_.state_dict().items()}


@pytest.mark.parametrize(
    "params",
    [{}, {"early_stopping": True, "n_iter_no_change": 2}, {"noise_type": "swap"}, {"loss": "mse"}],
)
def test_streamed_and_in_memory_fits_give_the_same_model_on_the_cpu(params, monkeypatch):
    X = np.random.default_rng(0).random((150, 10), dtype=np.float32)
    fetched = []
    getitem = HostRows.__getitem__

    def spy(self, index):
        fetched.append(len(index) if not isinstance(index, slice) else index)
        return getitem(self, index)

    monkeypatch.setattr(HostRows, "__getitem__", spy)
    in_memory = small(data_placement="device", **params).fit(X)
    assert fetched == []  # the in-memory path never streams
    streamed = small(data_placement="stream", **params).fit(X)
    assert fetched  # the streamed one did, a batch at a time
    assert max(n for n in fetched if isinstance(n, int)) <= 16
    for (name, a), b in zip(weights(in_memory).items(), weights(streamed).values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert in_memory.loss_curve_ == streamed.loss_curve_
    np.testing.assert_array_equal(in_memory.transform(X), streamed.transform(X))


def test_a_read_only_memmap_streams_to_the_same_model(tmp_path):
    X = np.random.default_rng(1).random((120, 8), dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    streamed = small(data_placement="stream").fit(mapped)
    in_memory = small(data_placement="device").fit(X)
    np.testing.assert_array_equal(streamed.transform(X), in_memory.transform(X))


def test_auto_streams_only_what_does_not_fit_on_a_gpu():
    X = np.zeros((1000, 250), dtype=np.float32)  # 1 MB as float32
    assert choose_placement("auto", X, "cpu") == "device"
    limit = X.nbytes / STREAM_ABOVE_FREE_FRACTION
    assert choose_placement("auto", X, "cuda", free_bytes=limit * 0.9) == "stream"
    assert choose_placement("auto", X, "cuda", free_bytes=limit * 1.1) == "device"
    assert choose_placement("stream", X, "cpu") == "stream"
    assert choose_placement("device", X, "cuda", free_bytes=1) == "device"
    assert choose_placement("stream", sp.csr_matrix(X), "cpu") == "device"  # stays sparse


def test_streamed_batches_are_fetched_one_ahead():
    # Through TensorBatches, as a fit draws them: each batch of HostRows is fetched
    # before the one before it is used, so that its copy overlaps that work.
    log = []

    class LoggedRows(HostRows):
        def __getitem__(self, index):
            log.append("fetch")
            return super().__getitem__(index)

    rows = LoggedRows(torch.arange(12.0).reshape(6, 2), "cpu")
    for shuffle in (False, True):
        log.clear()
        batches = TensorBatches(rows, batch_size=2, shuffle=shuffle)
        for _ in batches:
            log.append("use")
        assert log == ["fetch", "fetch", "use", "fetch", "use", "use"], shuffle
    # A tensor on the device is sliced as it is used: nothing to fetch ahead.
    assert list(_one_ahead(iter([]))) == []


def test_host_rows_index_like_the_tensor_they_hold():
    tensor = torch.arange(20.0).reshape(10, 2)
    rows = HostRows(tensor, "cpu")
    index = torch.tensor([3, 1, 7])
    torch.testing.assert_close(rows[index], tensor[index])
    torch.testing.assert_close(rows[2:5], tensor[2:5])
    part = rows.subset(torch.tensor([9, 0, 4]))
    assert len(part) == 3 and part.shape == (3, 2)
    torch.testing.assert_close(part[torch.tensor([2, 0])], tensor[torch.tensor([4, 9])])
    torch.testing.assert_close(part.std(), tensor[[9, 0, 4]].std(dim=0, correction=0))
    low, high = part.aminmax()
    torch.testing.assert_close(low, tensor[[9, 0, 4]].amin(0))
    torch.testing.assert_close(high, tensor[[9, 0, 4]].amax(0))
