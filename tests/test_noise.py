import numpy as np
import pytest
import scipy.sparse as sp
import torch

import skdae
from skdae import DenoisingAutoencoder
from skdae._noise import NOISE_TYPES, GaussianNoise, MaskingNoise, SaltAndPepperNoise, SwapNoise


def test_gaussian_noise_has_the_requested_std_and_leaves_the_batch_alone():
    batch = torch.zeros(20000, 3)
    noisy = GaussianNoise(0.3)(batch, torch.Generator().manual_seed(0))
    assert torch.count_nonzero(batch) == 0
    assert abs(noisy.std().item() - 0.3) < 0.01


def test_clipped_noise_stays_in_the_unit_interval():
    batch = torch.rand(1000, 5)
    noisy = GaussianNoise(2.0, clip=True)(batch, torch.Generator().manual_seed(0))
    assert noisy.min() >= 0 and noisy.max() <= 1


def test_scale_sets_the_noise_std_per_feature():
    scale = torch.tensor([0.0, 1.0, 10.0])
    noisy = GaussianNoise(0.5, scale=scale)(torch.zeros(20000, 3), torch.Generator().manual_seed(0))
    std = noisy.std(dim=0)
    assert std[0] == 0
    assert abs(std[1].item() - 0.5) < 0.02
    assert abs(std[2].item() - 5.0) < 0.2


def test_same_generator_state_gives_same_noise_and_next_draw_differs():
    corrupt = GaussianNoise(0.5)
    batch = torch.rand(4, 4)
    g = torch.Generator().manual_seed(7)
    first, second = corrupt(batch, g), corrupt(batch, g)
    assert not torch.equal(first, second)
    assert torch.equal(first, corrupt(batch, torch.Generator().manual_seed(7)))


def test_masking_zeroes_the_requested_fraction_and_keeps_the_rest():
    batch = torch.rand(200, 100) + 1.0  # no zeros of its own
    noisy = MaskingNoise(0.3)(batch, torch.Generator().manual_seed(0))
    zeroed = noisy == 0
    assert abs(zeroed.float().mean().item() - 0.3) < 0.01
    assert torch.equal(noisy[~zeroed], batch[~zeroed])
    assert torch.count_nonzero(batch == 0) == 0  # the clean batch is untouched


def test_salt_and_pepper_sends_half_low_half_high():
    batch = torch.full((200, 100), 0.5)
    noisy = SaltAndPepperNoise(0.4)(batch, torch.Generator().manual_seed(0))
    assert abs((noisy == 0).float().mean().item() - 0.2) < 0.01
    assert abs((noisy == 1).float().mean().item() - 0.2) < 0.01
    assert torch.equal(noisy[(noisy != 0) & (noisy != 1)], batch[(noisy != 0) & (noisy != 1)])


def test_salt_and_pepper_uses_per_feature_bounds_when_given():
    low, high = torch.tensor([-5.0, 0.0]), torch.tensor([5.0, 2.0])
    noisy = SaltAndPepperNoise(0.5, low=low, high=high)(
        torch.full((5000, 2), 1.0), torch.Generator().manual_seed(0)
    )
    assert set(noisy[:, 0].tolist()) == {-5.0, 1.0, 5.0}
    assert set(noisy[:, 1].tolist()) == {0.0, 1.0, 2.0}


def test_swap_takes_each_value_from_another_row_of_the_same_feature():
    # Each row holds its own index in every feature: a swapped value names its donor row.
    n_rows, n_features = 300, 200
    batch = torch.arange(n_rows, dtype=torch.float32).view(-1, 1).repeat(1, n_features)
    batch[:, 1::2] += 1000.0  # two features never share a value
    noisy = SwapNoise(0.3)(batch, torch.Generator().manual_seed(0))
    swapped = noisy != batch
    assert abs(swapped.float().mean().item() - 0.3) < 0.01
    # Every value still belongs to its own column (same feature) ...
    for j in (0, 1):
        assert set(noisy[:, j].tolist()) <= set(batch[:, j].tolist())
    # ... comes from another row whenever swapped (never its own), the donors spread over rows ...
    donors = (noisy % 1000).long()
    rows = torch.arange(n_rows).view(-1, 1).expand_as(donors)
    assert torch.equal(donors != rows, swapped)
    assert len(set(donors[swapped].tolist())) > 0.9 * n_rows
    # ... and the clean batch is untouched.
    assert torch.equal(batch[:, 0], torch.arange(n_rows, dtype=torch.float32))


def test_swap_leaves_a_single_row_as_it_is():
    batch = torch.rand(1, 5)
    assert torch.equal(SwapNoise(0.9)(batch, torch.Generator().manual_seed(0)), batch)


def test_swap_noise_trains_on_sparse_input_like_on_dense():
    X = np.random.default_rng(0).random((50, 8))
    X[X < 0.6] = 0
    params = dict(hidden_units=(3,), noise_type="swap", noise_factor=0.2, max_epochs=2)
    dense = DenoisingAutoencoder(**params, random_state=0).fit(X)
    sparse = DenoisingAutoencoder(**params, random_state=0).fit(sp.csr_matrix(X))
    np.testing.assert_array_equal(dense.transform(X), sparse.transform(X))


@pytest.mark.parametrize("noise_type", sorted(NOISE_TYPES))
def test_each_noise_type_trains_and_survives_save_and_load(noise_type, tmp_path):
    X = np.random.default_rng(0).normal(size=(64, 6)) * [1, 2, 3, 4, 5, 6]  # unbounded: mse
    dae = DenoisingAutoencoder(
        hidden_units=(4,), noise_type=noise_type, noise_factor=0.3, max_epochs=2, random_state=0
    ).fit(X)
    assert isinstance(dae.net_.corruption, NOISE_TYPES[noise_type])
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert loaded.net_.corruption.tensors.keys() == dae.net_.corruption.tensors.keys()
    for key, value in dae.net_.corruption.tensors.items():
        assert torch.equal(loaded.net_.corruption.tensors[key], value)
    # What the saved model knows of the training data: the same after load.
    if noise_type == "salt_and_pepper":
        np.testing.assert_allclose(dae.net_.corruption.tensors["low"], X.min(axis=0), rtol=1e-6)
        np.testing.assert_allclose(dae.net_.corruption.tensors["high"], X.max(axis=0), rtol=1e-6)


def test_sparse_salt_and_pepper_bounds_equal_the_dense_ones():
    X = np.random.default_rng(0).normal(size=(40, 5))
    X[X < 0.5] = 0
    params = dict(hidden_units=(3,), noise_type="salt_and_pepper", max_epochs=1, random_state=0)
    dense = DenoisingAutoencoder(**params).fit(X).net_.corruption.tensors
    sparse = DenoisingAutoencoder(**params).fit(sp.csr_matrix(X)).net_.corruption.tensors
    for key in ("low", "high"):
        assert torch.equal(dense[key], sparse[key])


@pytest.mark.parametrize("noise_type", ["masking", "salt_and_pepper", "swap", "conditional"])
def test_probability_noise_factor_of_one_or_more_is_refused(unit_X, noise_type):
    dae = DenoisingAutoencoder(hidden_units=(3,), noise_type=noise_type, noise_factor=1.0)
    with pytest.raises(ValueError, match="probability"):
        dae.fit(unit_X)
    assert not hasattr(dae, "net_")
