"""scikit-learn's own conformance suite, every check, no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skdae import (
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    ConvDenoisingAutoencoder,
    DenoisingAutoencoder,
)

# Conditional noise (a Gaussian fitted in fit) refined by a residual network, tiny.
GUESSES = dict(
    noise_type="conditional",
    noise_factor=0.25,
    residual=True,
    loss="mse",
    max_epochs=2,
    batch_size=16,
)


def _small_estimators():
    # Tiny network and few epochs: the checks test the API, not the model.
    yield DenoisingAutoencoder(hidden_units=(4, 2), max_epochs=2, batch_size=16)
    # Dropout draws random numbers inside the module: determinism must hold too.
    yield DenoisingAutoencoder(
        hidden_units=(5, 3), dropout=0.2, activation="tanh", max_epochs=2, batch_size=16
    )
    # Batch norm: eval mode must not depend on the batch either; one-sample fits refused.
    yield DenoisingAutoencoder(hidden_units=(4, 2), batch_norm=True, max_epochs=2, batch_size=16)
    # Conditional noise (a Gaussian fitted in fit) and a residual network (no inverse).
    yield DenoisingAutoencoder(hidden_units=(4, 2), **GUESSES)
    # The checks' X have any number of features: without image_shape they are
    # viewed as square images or as 1-D signals, and both must conform.
    yield ConvDenoisingAutoencoder(channels=(3, 4), code_size=2, max_epochs=2, batch_size=16)
    # The seed's kind of network: max-pools, and the last feature map as the code
    # (so the number of output features depends on X's).
    yield ConvDenoisingAutoencoder(
        channels=(3, 2), downsampling="maxpool", code_size=None, max_epochs=2, batch_size=16
    )

    # The outlier detector, with the outlier checks, around a tiny autoencoder.
    yield AutoencoderOutlierDetector(
        DenoisingAutoencoder(hidden_units=(4, 2), max_epochs=2, batch_size=16), n_estimators=2
    )
    # The imputer (NaN in, none out), around a tiny autoencoder.
    yield AutoencoderImputer(DenoisingAutoencoder(hidden_units=(4, 4), max_epochs=2, batch_size=16))
    # The imputer's default kind of network: a Gaussian's guesses, refined (no inverse).
    yield AutoencoderImputer(DenoisingAutoencoder(hidden_units=(4, 4), **GUESSES))


@parametrize_with_checks(list(_small_estimators()))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
