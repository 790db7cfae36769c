"""ONNX export: onnxruntime gives what transform / inverse_transform / predict give."""

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

import skdae.onnx  # noqa: E402  (registers the converters)
from skdae import ConvDenoisingAutoencoder, DenoisingAutoencoder  # noqa: E402

TOLERANCE = 1e-5  # float32 rounding of a few layers of sums


def _run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.fixture(scope="module")
def X(digits):
    return digits[0].astype(np.float32)


@pytest.mark.parametrize(
    "params",
    [
        dict(activation="gelu"),
        dict(activation="relu", batch_norm=True),
        dict(activation="leaky_relu", dropout=0.3),
        dict(activation="elu", code_activation="linear"),
        dict(activation="selu", code_activation="tanh"),
        dict(activation="silu", code_activation="sigmoid"),
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_fully_connected_transform_decoder_and_reconstruction_match(X, params):
    from skl2onnx import to_onnx

    dae = DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0, **params).fit(X)
    codes = _run(to_onnx(dae, X[:1], target_opset=13), X)[0]
    np.testing.assert_allclose(codes, dae.transform(X), atol=TOLERANCE, rtol=0)
    decoded = _run(skdae.onnx.decoder_to_onnx(dae), dae.transform(X))[0]
    np.testing.assert_allclose(decoded, dae.inverse_transform(dae.transform(X)), atol=TOLERANCE)
    rebuilt = _run(skdae.onnx.reconstruction_to_onnx(dae), X)[0]
    np.testing.assert_allclose(rebuilt, dae.reconstruct(X), atol=TOLERANCE)


def test_a_residual_network_exports_its_reconstruction_not_a_decoder(X):
    from skl2onnx import to_onnx

    params = dict(residual=True, loss="mse", noise_type="conditional", noise_factor=0.25)
    dae = DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0, **params).fit(X)
    codes = _run(to_onnx(dae, X[:1], target_opset=13), X)[0]
    np.testing.assert_allclose(codes, dae.transform(X), atol=TOLERANCE, rtol=0)
    rebuilt = _run(skdae.onnx.reconstruction_to_onnx(dae), X)[0]
    np.testing.assert_allclose(rebuilt, dae.reconstruct(X), atol=TOLERANCE)
    with pytest.raises(ValueError, match="residual"):
        skdae.onnx.decoder_to_onnx(dae)


@pytest.mark.parametrize(
    "params",
    [
        dict(channels=(4, 8), code_size=6),
        dict(channels=(4, 4, 2), downsampling="maxpool", code_size=None, batch_norm=True),
        dict(channels=(3,), code_size=5, activation="gelu", image_shape=(4, 16)),
        dict(channels=(4, 8), dense_units=(12,), code_size=6, activation="gelu"),
    ],
    ids=["stride", "maxpool-bn", "gelu-rect", "dense"],
)
def test_convolutional_transform_and_reconstruction_match(X, params):
    from skl2onnx import to_onnx

    dae = ConvDenoisingAutoencoder(max_epochs=1, random_state=0, **params).fit(X[:400])
    codes = _run(to_onnx(dae, X[:1], target_opset=13), X)[0]
    np.testing.assert_allclose(codes, dae.transform(X), atol=TOLERANCE, rtol=0)
    rebuilt = _run(skdae.onnx.reconstruction_to_onnx(dae), X)[0]
    np.testing.assert_allclose(rebuilt, dae.reconstruct(X), atol=TOLERANCE)


def test_a_whole_pipeline_converts_and_predicts_the_same(digits):
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, y = digits
    X = X.astype(np.float32)
    pipe = make_pipeline(
        MinMaxScaler(),
        DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    labels, _ = _run(to_onnx(pipe, X[:1], target_opset=13, options={"zipmap": False}), X)
    assert (labels == pipe.predict(X)).mean() > 0.999  # a tie may break the other way


def test_an_unknown_layer_fails_the_conversion_with_its_name(X):
    from skl2onnx import to_onnx
    from torch import nn

    dae = DenoisingAutoencoder((8, 2), max_epochs=1, random_state=0).fit(X)
    dae.net_.module_.encoder[1] = nn.Hardswish()
    with pytest.raises(NotImplementedError, match="cannot export a Hardswish layer"):
        to_onnx(dae, X[:1], target_opset=13)
