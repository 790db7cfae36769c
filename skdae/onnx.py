"""ONNX export: skdae's estimators in ``skl2onnx``, decoders on their own.

``import skdae.onnx`` registers converters with ``skl2onnx`` for
``DenoisingAutoencoder`` and ``ConvDenoisingAutoencoder`` (their ``transform``),
so that ``skl2onnx.to_onnx(pipeline, X[:1])`` converts a whole pipeline. The
graph is written from the fitted module's layers, in evaluation mode (dropout
off, batch norm's running statistics folded into a scale and a shift), with
operators of ONNX opset 13 (GELU as ``0.5 x (1 + erf(x / sqrt 2))``).
``decoder_to_onnx`` and ``reconstruction_to_onnx`` export ``inverse_transform``
and ``reconstruct``. A layer (or layer setting) this module does not know
fails the conversion with its name, never a silently wrong graph. The graphs
compute in float32: float64 input is cast, and the outputs are float32 (where
``transform`` would answer float64). Unlike ``transform``, a graph checks
neither the number of columns beyond its declared shape nor the [0, 1] range.

Needs the ``deploy`` extra: ``pip install "skdae[deploy]"`` (skl2onnx, onnx,
onnxruntime, skops).

Examples
--------
>>> import numpy as np
>>> from sklearn.datasets import load_digits
>>> from skdae import DenoisingAutoencoder
>>> X = (load_digits().data / 16.0).astype(np.float32)
>>> dae = DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0).fit(X)
>>> import skdae.onnx  # registers the converters
>>> from skl2onnx import to_onnx
>>> import onnxruntime as ort
>>> model = to_onnx(dae, X[:1], target_opset=13)
>>> session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
>>> codes = session.run(None, {session.get_inputs()[0].name: X})[0]
>>> float(np.abs(codes - dae.transform(X)).max()) < 1e-5
True
"""

import math

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._conv import ConvDenoisingAutoencoder
from ._estimator import DenoisingAutoencoder
from ._modules import CenterCrop, Dropout

TARGET_OPSET = 13


class _Graph:
    """Where the emitted nodes go: an skl2onnx container, or a plain ONNX graph."""

    def __init__(self, scope=None, container=None):
        self.scope, self.container = scope, container
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, base):
        if self.scope is not None:
            return self.scope.get_unique_variable_name(base)
        self.count += 1
        return f"{base}_{self.count}"

    def constant(self, base, array):
        from onnx import numpy_helper

        name = self.name(base)
        array = np.ascontiguousarray(array)
        if self.container is not None:
            from onnx.helper import np_dtype_to_tensor_dtype

            self.container.add_initializer(
                name, np_dtype_to_tensor_dtype(array.dtype), list(array.shape), array.ravel()
            )
        else:
            self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op_type, inputs, **attrs):
        output = self.name(op_type.lower())
        if self.container is not None:
            self.container.add_node(
                op_type,
                inputs,
                [output],
                name=self.scope.get_unique_operator_name(op_type),
                **attrs,
            )
        else:
            from onnx import helper

            self.nodes.append(helper.make_node(op_type, inputs, [output], **attrs))
        return output


def _f32(tensor):
    return tensor.detach().cpu().to(torch.float32).numpy()


def _activation(graph, x, layer):
    kind = type(layer)
    if kind is nn.ReLU:
        return graph.node("Relu", [x])
    if kind is nn.LeakyReLU:
        return graph.node("LeakyRelu", [x], alpha=float(layer.negative_slope))
    if kind is nn.ELU:
        return graph.node("Elu", [x], alpha=float(layer.alpha))
    if kind is nn.SELU:
        return graph.node("Selu", [x])
    if kind is nn.Tanh:
        return graph.node("Tanh", [x])
    if kind is nn.Sigmoid:
        return graph.node("Sigmoid", [x])
    if kind is nn.SiLU:
        return graph.node("Mul", [x, graph.node("Sigmoid", [x])])
    if kind is nn.GELU and layer.approximate == "none":
        scaled = graph.node("Div", [x, graph.constant("sqrt2", np.float32(math.sqrt(2.0)))])
        one_plus = graph.node(
            "Add", [graph.node("Erf", [scaled]), graph.constant("one", np.float32(1))]
        )
        half_x = graph.node("Mul", [x, graph.constant("half", np.float32(0.5))])
        return graph.node("Mul", [half_x, one_plus])
    return None


def _layer(graph, x, layer, shape):
    """Emit ``layer`` applied to ``x`` (of per-row ``shape``); returns (output, shape)."""
    out = _activation(graph, x, layer)
    if out is not None:
        return out, shape
    if isinstance(layer, (Dropout, nn.Dropout)):
        return x, shape  # evaluation: no dropout
    if isinstance(layer, nn.Linear):
        weight = graph.constant("weight", _f32(layer.weight).T)
        out = graph.node("MatMul", [x, weight])
        if layer.bias is not None:
            out = graph.node("Add", [out, graph.constant("bias", _f32(layer.bias))])
        return out, (layer.out_features,)
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        if not layer.affine or layer.running_mean is None:
            _unsupported(layer, "batch norm without a scale and running statistics")
        scale = _f32(layer.weight) / np.sqrt(_f32(layer.running_var) + layer.eps)
        shift = _f32(layer.bias) - _f32(layer.running_mean) * scale
        if isinstance(layer, nn.BatchNorm2d):
            scale, shift = scale.reshape(-1, 1, 1), shift.reshape(-1, 1, 1)
        out = graph.node("Mul", [x, graph.constant("bn_scale", scale.astype(np.float32))])
        return graph.node("Add", [out, graph.constant("bn_shift", shift.astype(np.float32))]), shape
    if isinstance(layer, nn.Unflatten):
        new = tuple(int(s) for s in layer.unflattened_size)
        target = graph.constant("shape", np.array([-1, *new], dtype=np.int64))
        return graph.node("Reshape", [x, target]), new
    if isinstance(layer, nn.Flatten):
        flat = int(np.prod(shape))
        target = graph.constant("shape", np.array([-1, flat], dtype=np.int64))
        return graph.node("Reshape", [x, target]), (flat,)
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        if layer.groups != 1 or set(layer.dilation) != {1} or layer.padding_mode != "zeros":
            _unsupported(layer, "groups, dilation or a padding mode other than zeros")
        if isinstance(layer.padding, str):
            _unsupported(layer, "padding given by name")
        inputs = [x, graph.constant("kernel", _f32(layer.weight))]
        if layer.bias is not None:
            inputs.append(graph.constant("bias", _f32(layer.bias)))
        pad_h, pad_w = layer.padding
        attrs = dict(
            kernel_shape=list(layer.kernel_size),
            strides=list(layer.stride),
            pads=[pad_h, pad_w, pad_h, pad_w],
        )
        if isinstance(layer, nn.ConvTranspose2d):
            attrs["output_padding"] = list(layer.output_padding)
            out = graph.node("ConvTranspose", inputs, **attrs)
        else:
            out = graph.node("Conv", inputs, **attrs)
        return out, _conv_shape(layer, shape)
    if isinstance(layer, nn.MaxPool2d):
        kernel, stride = layer.kernel_size, layer.stride
        if not (
            isinstance(kernel, int)
            and isinstance(stride, int)
            and layer.padding == 0
            and layer.dilation == 1
            and not layer.return_indices
        ):
            _unsupported(layer, "padding, dilation, indices or a non-square window")
        out = graph.node(
            "MaxPool",
            [x],
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            ceil_mode=int(layer.ceil_mode),
        )
        return out, _conv_shape(layer, shape)
    if isinstance(layer, CenterCrop):
        (height, width), (h, w) = shape[-2:], layer.size
        top, left = (height - h) // 2, (width - w) // 2
        starts = graph.constant("starts", np.array([top, left], dtype=np.int64))
        ends = graph.constant("ends", np.array([top + h, left + w], dtype=np.int64))
        axes = graph.constant("axes", np.array([2, 3], dtype=np.int64))
        return graph.node("Slice", [x, starts, ends, axes]), (shape[0], h, w)
    raise NotImplementedError(
        f"skdae.onnx cannot export a {type(layer).__name__} layer ({layer!r}): no ONNX "
        "operator is written for it. Train with the layers skdae builds, or export the module "
        "with torch.onnx."
    )


def _unsupported(layer, what):
    raise NotImplementedError(
        f"skdae.onnx cannot export {layer!r}: {what} is not written to ONNX here (skdae's own "
        "layers never have it)."
    )


def _conv_shape(layer, shape):
    """Per-row output shape of a convolution or pooling layer, as torch computes it."""
    parameter = next(layer.parameters(), None)
    device = parameter.device if parameter is not None else "cpu"
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, *shape, device=device)).shape[1:])


def _emit(graph, x, layers, shape):
    for layer in layers:
        x, shape = _layer(graph, x, layer, shape)
    return x, shape


def _module(estimator):

    check_is_fitted(estimator)
    if estimator.fitted_model_.table is not None:
        raise ValueError(
            "ONNX export takes a numeric matrix; this model was fitted on a mixed table "
            "(categorical_features), whose column encoding runs in Python."
        )
    if estimator.fitted_model_.params.get("feature_layers", "code") != "code":
        raise ValueError(
            "ONNX export writes the code (feature_layers='code'); this model was fitted "
            f"with feature_layers={estimator.fitted_model_.params['feature_layers']!r}."
        )
    return estimator.net_.module_


# --------------------------------------------------------------- skl2onnx
def _shape_calculator(operator):
    from skl2onnx.common.data_types import FloatTensorType

    estimator = operator.raw_operator
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType([n_rows, estimator._n_features_out])


def _converter(scope, operator, container):
    estimator = operator.raw_operator
    module = _module(estimator)
    graph = _Graph(scope, container)
    x = operator.inputs[0].full_name
    if operator.inputs[0].type.__class__.__name__ != "FloatTensorType":
        x = graph.node("Cast", [x], to=1)  # the weights are float32
    code, _ = _emit(graph, x, module.encoder, (module.n_features,))
    container.add_node(
        "Identity",
        [code],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Identity"),
    )


def _register():
    from skl2onnx import update_registered_converter

    for estimator in (DenoisingAutoencoder, ConvDenoisingAutoencoder):
        update_registered_converter(
            estimator, f"Skdae{estimator.__name__}", _shape_calculator, _converter
        )


# ------------------------------------------------------ decoders on their own
def _model(graph, input_name, n_inputs, output, n_outputs, name):
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, n_inputs])]
    outputs = [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, n_outputs])]
    model = helper.make_model(
        helper.make_graph(graph.nodes, name, inputs, outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", TARGET_OPSET)],
    )
    from onnx import checker

    checker.check_model(model)
    return model


def decoder_to_onnx(estimator):
    """An ONNX model of ``inverse_transform``: codes (float32) in, reconstructions out.

    Parameters
    ----------
    estimator : fitted skdae estimator
        A fitted ``DenoisingAutoencoder`` or ``ConvDenoisingAutoencoder``.

    Returns
    -------
    model : onnx.ModelProto
        Input ``codes`` of shape (n, code size), output ``reconstruction``.

    See Also
    --------
    reconstruction_to_onnx : The encoder and decoder together.
    skdae.DenoisingAutoencoder.inverse_transform : What the model computes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.onnx import decoder_to_onnx
    >>> X = (load_digits().data / 16.0).astype(np.float32)
    >>> dae = DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0).fit(X)
    >>> model = decoder_to_onnx(dae)
    >>> [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    (['codes'], ['reconstruction'])
    """
    module = _module(estimator)
    return _decoding_model(estimator, module, "codes", (module.code_size,), encode=False)


def reconstruction_to_onnx(estimator):
    """An ONNX model of ``reconstruct``: rows (float32) in, reconstructions out.

    Parameters
    ----------
    estimator : fitted skdae estimator
        A fitted ``DenoisingAutoencoder`` or ``ConvDenoisingAutoencoder``.

    Returns
    -------
    model : onnx.ModelProto
        Input ``X`` of shape (n, `n_features_in_`), output ``reconstruction``.

    See Also
    --------
    decoder_to_onnx : The decoder alone.
    skdae.DenoisingAutoencoder.reconstruct : What the model computes.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.onnx import reconstruction_to_onnx
    >>> X = (load_digits().data / 16.0).astype(np.float32)
    >>> dae = DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0).fit(X)
    >>> model = reconstruction_to_onnx(dae)
    >>> session = ort.InferenceSession(model.SerializeToString(),
    ...                                providers=["CPUExecutionProvider"])
    >>> rows = session.run(None, {"X": X})[0]
    >>> float(np.abs(rows - dae.reconstruct(X)).max()) < 1e-5
    True
    """
    module = _module(estimator)
    return _decoding_model(estimator, module, "X", (module.n_features,), encode=True)


def _decoding_model(estimator, module, input_name, input_shape, encode):
    """The decoder (after the encoder when ``encode``) and the output activation, as a model."""
    residual = getattr(module, "residual", False)
    if residual and not encode:
        raise ValueError(
            "this model's network is residual (residual=True): it adds its decoder's output "
            "to its input, so a code alone decides no reconstruction. Export "
            "reconstruction_to_onnx instead."
        )
    graph = _Graph()
    x, shape = input_name, input_shape
    if encode:
        x, shape = _emit(graph, x, module.encoder, shape)
    out, _ = _emit(graph, x, module.decoder, shape)
    if residual:
        out = graph.node("Add", [input_name, out])
    if estimator.loss_function_ == "bce":
        out = graph.node("Sigmoid", [out])
    graph.nodes.append(_identity(out, "reconstruction"))
    name = "autoencoder" if encode else "decoder"
    return _model(graph, input_name, input_shape[0], "reconstruction", module.n_features, name)


def _identity(source, target):
    from onnx import helper

    return helper.make_node("Identity", [source], [target])


_register()
