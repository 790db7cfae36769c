import numpy as np
import pytest

pytest.importorskip("matplotlib")

from skdae import DenoisingAutoencoder  # noqa: E402
from skdae.plotting import (  # noqa: E402
    plot_latent_map,
    plot_learning_curve,
    plot_reconstructions,
    sprite_image,
)


def test_pictures_work_on_any_fitted_estimator(digits, tmp_path):
    X, y = digits
    dae = DenoisingAutoencoder((16, 3), max_epochs=2, random_state=0).fit(X)
    plot_reconstructions([X[:4], dae.reconstruct(X[:4])], (8, 8), path=tmp_path / "r.png")
    plot_latent_map(dae.transform(X), y, path=tmp_path / "m.png")
    plot_learning_curve(dae.history_, path=tmp_path / "c.png")
    for name in ["r.png", "m.png", "c.png"]:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_sprite_tiles_images_in_a_square():
    images = np.arange(5 * 4, dtype=np.float32).reshape(5, 4) / 20
    sprite = sprite_image(images, (2, 2))
    assert sprite.shape == (6, 6)
    assert np.array_equal(sprite[2:4, 0:2], images[3].reshape(2, 2))
    assert np.all(sprite[4:, 4:] == 0)


def test_learning_curve_ticks_are_whole_epochs_and_the_map_has_a_legend(digits):
    X, y = digits
    dae = DenoisingAutoencoder((16, 3), max_epochs=3, random_state=0).fit(X)
    curve = plot_learning_curve(dae.history_)
    ticks = curve.axes[0].get_xticks()
    assert np.array_equal(ticks, np.round(ticks))
    latent = plot_latent_map(dae.transform(X), y)
    legend = latent.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [str(d) for d in range(10)]
