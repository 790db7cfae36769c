import torch

from skdae._noise import GaussianNoise


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
