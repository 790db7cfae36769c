"""Write the intersphinx inventories that docs/conf.py reads.

Why these files exist: intersphinx normally downloads each project's
``objects.inv`` from its site at build time, but the machines that build this
site (CI's among them) reach no documentation site, only package registries.
So each mapping in conf.py points at a small inventory in this folder instead,
listing the objects of that project our pages and docstrings reference, each
with its address on the project's real site: the links in the built pages
lead to scikit-learn.org, numpy.org, docs.pytorch.org, skorch.readthedocs.io
and docs.python.org as usual.

A page that references an object missing here fails the build (``nitpicky``):
add the object below, with the address its project's site gives it, and run

    python docs/_inventories/make_inventories.py

The files are Sphinx's inventory format, version 2 (a four-line header, then
zlib-compressed lines ``name domain:role priority uri display-name``; a
``uri`` ending in ``$`` stands for the uri with ``$`` replaced by the name, a
display name ``-`` for the name itself).
"""

import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# file name -> (project, version, [(name, domain:role, uri relative to the site's root)])
INVENTORIES = {
    "python.inv": (
        "Python",
        "3",
        [
            ("ValueError", "py:exception", "library/exceptions.html#$"),
            ("TypeError", "py:exception", "library/exceptions.html#$"),
            ("RuntimeError", "py:exception", "library/exceptions.html#$"),
            ("FileNotFoundError", "py:exception", "library/exceptions.html#$"),
            ("KeyboardInterrupt", "py:exception", "library/exceptions.html#$"),
            ("UserWarning", "py:exception", "library/exceptions.html#$"),
            ("pickle", "py:module", "library/pickle.html#module-$"),
            ("pathlib.Path", "py:class", "library/pathlib.html#$"),
            ("os.PathLike", "py:class", "library/os.html#$"),
        ],
    ),
    "numpy.inv": (
        "NumPy",
        "2.4",
        [
            ("numpy.memmap", "py:class", "reference/generated/numpy.memmap.html#$"),
            ("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#$"),
            ("numpy.random.Generator", "py:class", "reference/random/generator.html#$"),
        ],
    ),
    "sklearn.inv": (
        "scikit-learn",
        "1.9",
        [
            (name, "py:class", f"modules/generated/{name}.html#$")
            for name in [
                "sklearn.compose.ColumnTransformer",
                "sklearn.decomposition.PCA",
                "sklearn.ensemble.IsolationForest",
                "sklearn.impute.IterativeImputer",
                "sklearn.impute.KNNImputer",
                "sklearn.impute.MissingIndicator",
                "sklearn.impute.SimpleImputer",
                "sklearn.linear_model.LogisticRegression",
                "sklearn.linear_model.RidgeCV",
                "sklearn.metrics.RocCurveDisplay",
                "sklearn.model_selection.GridSearchCV",
                "sklearn.model_selection.KFold",
                "sklearn.neural_network.BernoulliRBM",
                "sklearn.neural_network.MLPRegressor",
                "sklearn.pipeline.Pipeline",
                "sklearn.preprocessing.MinMaxScaler",
                "sklearn.preprocessing.OneHotEncoder",
                "sklearn.preprocessing.StandardScaler",
                "sklearn.utils.Bunch",
                "sklearn.base.BaseEstimator",
                "sklearn.base.TransformerMixin",
                "sklearn.base.ClassNamePrefixFeaturesOutMixin",
            ]
        ]
        + [
            (name, "py:function", f"modules/generated/{name}.html#$")
            for name in [
                "sklearn.datasets.load_diabetes",
                "sklearn.datasets.load_digits",
                "sklearn.metrics.make_scorer",
                "sklearn.metrics.roc_auc_score",
                "sklearn.model_selection.cross_val_score",
                "sklearn.model_selection.train_test_split",
                "sklearn.pipeline.make_pipeline",
                "sklearn.set_config",
            ]
        ]
        + [
            (
                f"sklearn.base.{owner}.{method}",
                "py:method",
                f"modules/generated/sklearn.base.{owner}.html#$",
            )
            for owner, method in [
                ("BaseEstimator", "get_metadata_routing"),
                ("BaseEstimator", "get_params"),
                ("BaseEstimator", "set_params"),
                ("ClassNamePrefixFeaturesOutMixin", "get_feature_names_out"),
                ("TransformerMixin", "fit_transform"),
                ("TransformerMixin", "set_output"),
            ]
        ]
        + [
            (
                "sklearn.exceptions.ConvergenceWarning",
                "py:class",
                "modules/generated/sklearn.exceptions.ConvergenceWarning.html#$",
            ),
        ],
    ),
    "torch.inv": (
        "PyTorch",
        "2.13",
        [
            ("torch.Generator", "py:class", "generated/torch.Generator.html#$"),
            ("torch.nn.Module", "py:class", "generated/torch.nn.Module.html#$"),
            ("torch.device", "py:class", "tensor_attributes.html#$"),
            ("torch.amp.GradScaler", "py:class", "amp.html#$"),
            ("torch.autocast", "py:class", "amp.html#$"),
            ("torch.compile", "py:function", "generated/torch.compile.html#$"),
            (
                "torch.set_flush_denormal",
                "py:function",
                "generated/torch.set_flush_denormal.html#$",
            ),
            ("torch.distributed.init_process_group", "py:function", "distributed.html#$"),
            (
                "torch.utils.tensorboard.writer.SummaryWriter",
                "py:class",
                "tensorboard.html#$",
            ),
        ],
    ),
    "skorch.inv": (
        "skorch",
        "1.4",
        [
            ("skorch.callbacks.Callback", "py:class", "callbacks.html#$"),
            ("skorch.callbacks.ProgressBar", "py:class", "callbacks.html#$"),
            ("skorch.history.History", "py:class", "history.html#$"),
            ("skorch.net.NeuralNet", "py:class", "net.html#$"),
            ("skorch.regressor.NeuralNetRegressor", "py:class", "regressor.html#$"),
        ],
    ),
}


def write(path, project, version, entries):
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(f"{name} {role} 1 {uri} -\n" for name, role, uri in sorted(entries))
    path.write_bytes(header.encode() + zlib.compress(lines.encode(), 9))


def main():
    for filename, (project, version, entries) in INVENTORIES.items():
        write(HERE / filename, project, version, entries)
        print(f"wrote {filename}: {len(entries)} objects")


if __name__ == "__main__":
    main()
