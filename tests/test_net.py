import torch

from skdae._data import TensorBatches


def test_shuffled_batches_cover_every_row_once_per_epoch():
    data = torch.arange(10.0).reshape(10, 1)
    batches = TensorBatches(data, batch_size=4, shuffle=True, generator=torch.Generator())
    assert len(batches) == 3
    epochs = [torch.cat(list(batches)).ravel() for _ in range(2)]
    for rows in epochs:
        assert sorted(rows.tolist()) == list(range(10))
    assert not torch.equal(epochs[0], epochs[1])  # a new permutation each epoch


def test_unshuffled_batches_are_slices_in_order():
    data = torch.arange(10.0).reshape(5, 2)
    sizes = [len(b) for b in TensorBatches(data, batch_size=2)]
    assert sizes == [2, 2, 1]
    assert torch.equal(torch.cat(list(TensorBatches(data, batch_size=2))), data)


def test_a_last_batch_below_the_minimum_joins_the_one_before():
    data = torch.arange(9.0)
    batches = TensorBatches(data, batch_size=4, min_batch_size=2)
    assert [len(b) for b in batches] == [4, 5] and len(batches) == 2
    assert torch.equal(torch.cat(list(batches)), data)
    shuffled = TensorBatches(data, 4, shuffle=True, generator=torch.Generator(), min_batch_size=2)
    assert sorted(torch.cat(list(shuffled)).tolist()) == data.tolist()
    assert [len(b) for b in TensorBatches(torch.arange(1.0), 4, min_batch_size=2)] == [1]
