import math

import pytest
import torch

from skdae._modules import (
    ACTIVATIONS,
    ConvAutoencoder,
    Dropout,
    MLPAutoencoder,
    count_parameters,
)


def test_encoder_mirrors_into_decoder_with_a_linear_last_layer():
    module = MLPAutoencoder(20, (8, 4, 2), activation="tanh", dropout=0.1)
    linear = [layer for layer in module.modules() if isinstance(layer, torch.nn.Linear)]
    widths = [(layer.in_features, layer.out_features) for layer in linear]
    assert widths == [(20, 8), (8, 4), (4, 2), (2, 4), (4, 8), (8, 20)]
    assert isinstance(module.encoder[-1], Dropout)  # after the code layer too
    assert isinstance(module.decoder[-1], torch.nn.Linear)
    assert module.code_size == 2
    assert module.n_features == 20
    assert count_parameters(module) == sum(i * o + o for i, o in widths)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_builds_and_runs(activation):
    module = MLPAutoencoder(6, (4, 2), activation=activation)
    assert module(torch.rand(3, 6)).shape == (3, 6)


def test_relu_layers_get_he_init():
    module = MLPAutoencoder(2000, (1000,))
    std = module.encoder[0].weight.std().item()
    assert std == pytest.approx(math.sqrt(2 / 2000), rel=0.05)
    assert torch.count_nonzero(module.encoder[0].bias) == 0


def test_meta_device_build_draws_no_global_random_numbers():
    state = torch.get_rng_state()
    module = MLPAutoencoder(50, (20, 5), dropout=0.5, device="meta")
    module.to_empty(device="cpu").reset_parameters(torch.Generator().manual_seed(0))
    module.train()(torch.rand(4, 50, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(torch.get_rng_state(), state)


def test_dropout_masks_come_from_the_given_generator():
    x = torch.ones(100, 10)
    a = Dropout(0.5).train()
    b = Dropout(0.5).train()
    a.generator = torch.Generator().manual_seed(3)
    b.generator = torch.Generator().manual_seed(3)
    out = a(x)
    assert torch.equal(out, b(x))
    assert set(out.unique().tolist()) == {0.0, 2.0}  # inverted dropout scaling
    assert torch.equal(a.eval()(x), x)


def test_linear_code_leaves_the_code_layer_without_activation():
    generator = torch.Generator().manual_seed(0)
    module = MLPAutoencoder(10, (6, 3), dropout=0.2, code_activation="linear")
    module.reset_parameters(generator).eval()
    assert isinstance(module.encoder[-1], torch.nn.Linear)
    x = torch.randn(200, 10, generator=generator)
    z = module.encode(x)
    assert torch.equal(z, module.encoder[-1](module.encoder[:-1](x)))
    assert (z < 0).any()  # a ReLU code could not go negative


def test_the_code_layer_has_an_activation_of_its_own():
    module = MLPAutoencoder(10, (6, 3), activation="relu", code_activation="tanh", dropout=0.1)
    kinds = [type(layer).__name__ for layer in [*module.encoder, *module.decoder]]
    assert kinds == [
        "Linear", "ReLU", "Dropout", "Linear", "Tanh", "Dropout",
        "Linear", "ReLU", "Dropout", "Linear",
    ]  # fmt: skip
    same = MLPAutoencoder(10, (6, 3), activation="elu")
    assert type(same.encoder[-1]).__name__ == "ELU"  # None: the hidden layers' activation


def test_batch_norm_sits_between_each_hidden_layer_and_its_activation():
    module = MLPAutoencoder(10, (6, 3), batch_norm=True, code_activation="linear")
    kinds = [type(layer).__name__ for layer in [*module.encoder, *module.decoder]]
    assert kinds == [
        "Linear", "BatchNorm1d", "ReLU", "Linear",  # linear code: no norm, no activation
        "Linear", "BatchNorm1d", "ReLU", "Linear",
    ]  # fmt: skip
    # A bias before a batch norm would be cancelled by it.
    assert module.encoder[0].bias is None and module.decoder[-1].bias is not None


def test_batch_norm_is_initialised_after_a_meta_build():
    module = MLPAutoencoder(10, (6,), batch_norm=True, device="meta").to_empty(device="cpu")
    module.encoder[1].running_var.fill_(float("nan"))  # what uninitialised memory may hold
    module.reset_parameters(torch.Generator().manual_seed(0))
    norm = module.encoder[1]
    assert torch.equal(norm.weight, torch.ones(6)) and torch.equal(norm.bias, torch.zeros(6))
    assert torch.equal(norm.running_mean, torch.zeros(6))
    assert torch.equal(norm.running_var, torch.ones(6))


def test_convolutional_batch_norm_keeps_the_shapes():
    module = ConvAutoencoder((1, 9, 7), channels=(4, 8), code_size=3, batch_norm=True)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules()) == 3
    assert module.train()(torch.rand(5, 63)).shape == (5, 63)
