import torch

from skdae._net import TensorBatches


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
