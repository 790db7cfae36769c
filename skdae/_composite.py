"""Saving the estimators that wrap autoencoders: an imputer, an outlier detector.

``SavedComposite`` gives them ``save``: the folder holds their parameters, each
inner autoencoder (``members``, each the description ``skdae.load`` reads for a
lone autoencoder, with its weights under a prefix), their fitted arrays (as
safetensors, in their own dtype) and their fitted values (JSON). A subclass
names its members (``_saved_members``), its arrays and their shapes
(``_saved_array_shapes``) and its values (``_checked_values``), and sets its
fitted attributes from them (``_set_saved``). ``skdae.load`` checks every field
and shape before anything is built, as for a lone autoencoder.
"""

import math

import numpy as np

from ._fitted import register
from ._persistence import save as save_model

ARRAY_DTYPES = {"float32": np.float32, "float64": np.float64, "bool": np.bool_}


def _is_int(value, low=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def finite_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class SavedComposite:
    """Mixin: ``save`` and ``skdae.load`` for an estimator made of skdae autoencoders."""

    # The fitted arrays, by attribute name (present ones are saved), and the keys of
    # the fitted values a subclass adds (``_saved_values``).
    _saved_arrays = ()
    _saved_value_keys = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register(cls)  # skdae.load rebuilds its files by class name

    def save(self, path):
        """Write the fitted estimator to the folder ``path``, safely.

        JSON for the parameters and fitted values, safetensors for every inner
        autoencoder's weights and the fitted arrays: ``skdae.load`` reads it
        back without unpickling anything, as it reads an autoencoder's folder.

        Parameters
        ----------
        path : str or path-like
            The folder to write: created; filled when it is empty; replaced
            atomically when it is an earlier skdae model folder. Any other
            existing path is refused.

        Returns
        -------
        path : pathlib.Path
            The folder written, for ``skdae.load``.

        Raises
        ------
        TypeError
            When an inner autoencoder (or the ``autoencoder`` parameter) is not
            one of skdae's, which a model file cannot describe.
        """
        return save_model(self, path)

    def _saved_state(self):
        """``(arrays, values)``: the fitted arrays and the fitted values as JSON."""
        arrays = {
            name: np.asarray(getattr(self, name))
            for name in self._saved_arrays
            if getattr(self, name, None) is not None
        }
        names = getattr(self, "feature_names_in_", None)
        values = {
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": None if names is None else [str(n) for n in names],
            "arrays": {name: array.dtype.name for name, array in arrays.items()},
            **self._saved_values(),
        }
        return {name: array.astype(np.float64) for name, array in arrays.items()}, values

    @classmethod
    def _saved_shapes(cls, n_members, values):
        """The shapes of the fitted arrays a file holds, from its checked values."""
        if not isinstance(values, dict):
            raise TypeError("values must be an object")
        n_features = values.get("n_features_in_")
        if not _is_int(n_features, low=1):
            raise ValueError(f"n_features_in_ must be a positive int, got {n_features!r}")
        names = values.get("feature_names_in_")
        if names is not None and not (
            isinstance(names, list)
            and len(names) == n_features
            and all(isinstance(n, str) for n in names)
        ):
            raise ValueError("feature_names_in_ must be n_features_in_ strings")
        keys = {"n_features_in_", "feature_names_in_", "arrays", *cls._saved_value_keys}
        if set(values) != keys:
            raise ValueError(f"values must have the keys {sorted(keys)}, got {sorted(values)}")
        dtypes = values["arrays"]
        shapes = cls._saved_array_shapes(n_members, n_features, values)
        if not (
            isinstance(dtypes, dict)
            and set(dtypes) <= set(shapes)
            and all(isinstance(d, str) and d in shapes[name][1] for name, d in dtypes.items())
        ):
            raise ValueError(f"arrays must name some of {sorted(shapes)} and their dtypes")
        return {name: shapes[name][0] for name in dtypes}

    @classmethod
    def _from_saved(cls, estimator, members, arrays, values):
        """``estimator`` (its parameters set) fitted with a file's members, arrays and values."""
        n_features = values["n_features_in_"]
        names = values["feature_names_in_"]
        for member in members:
            member_names = member.fitted_model_.feature_names_in
            if member_names is not None and names is not None and list(member_names) != names:
                raise ValueError("an inner autoencoder's feature names are not the estimator's")
            if member.n_features_in_ != n_features:
                raise ValueError(
                    f"an inner autoencoder takes {member.n_features_in_} features, the "
                    f"estimator {n_features}"
                )
        for name, dtype in values["arrays"].items():
            setattr(estimator, name, arrays[name].astype(ARRAY_DTYPES[dtype]))
        estimator.n_features_in_ = n_features
        if values["feature_names_in_"] is not None:
            estimator.feature_names_in_ = np.asarray(values["feature_names_in_"], dtype=object)
        estimator._set_saved(members, values)
        return estimator
