"""The command line's estimator options, generated from the estimators.

Each parameter in an estimator's ``_parameter_constraints`` becomes an option
of ``skdae train`` (``--hidden-units``, ``--max-epochs``, ...), its type and
choices from the constraints, its help from the docstring's first sentence and
its default: an option added to an estimator reaches the command line with no
change here.
"""

import argparse
import re
import sys
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._conv import ConvDenoisingAutoencoder
from ._estimator import DenoisingAutoencoder

# Parameters train sets itself (verbose from -v, callbacks and tensorboard_dir from
# --images and --no-tensorboard) or that a fresh command-line fit cannot use (a
# data-parallel fit is a script's, under torchrun).
NOT_OPTIONS = {"verbose", "callbacks", "tensorboard_dir", "warm_start", "distributed"}
# Earlier spellings, kept working for now; each use says what to write instead.
DEPRECATED_ALIASES = {"max_epochs": ["--epochs"]}


class DeprecatedAlias(argparse.Action):
    """Store the value as the option it stands for does, and say it is deprecated."""

    def __init__(self, option_strings, dest, instead, **kwargs):
        self.instead = instead
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"skdae: warning: {option_string} is deprecated and will be removed; "
            f"use {self.instead}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_aliases(group, name, flags, kwargs):
    """Add parameter ``name``'s deprecated spellings to ``group``, beside ``flags``."""
    for alias in DEPRECATED_ALIASES.get(name, []):
        group.add_argument(
            alias,
            **dict(
                kwargs,
                action=DeprecatedAlias,
                instead=flags[0],
                help=f"deprecated spelling of {flags[0]}",
            ),
        )


def _first_sentences(cls):
    """``{parameter: the first sentence of its description}`` from a numpydoc docstring."""
    if not cls.__doc__:  # python -OO: no docstrings, options without help
        return {}
    doc = cls.__doc__.split("    Parameters\n    ----------\n", 1)[1].split("\n    Attributes\n")[0]
    found = {}
    for block in re.split(r"\n    (?=\w+ : )", "\n" + doc):
        head, _, body = block.strip("\n").partition("\n")
        if " : " in head:
            text = " ".join(body.split())
            text = text.replace("``", "").split(". ")[0].rstrip(".")
            found[head.split(" : ")[0].strip()] = text
    return found


def _value_parser(ints, floats, words):
    """An argparse type: an int/float, or one of ``words`` ("none" standing for None)."""

    def parse(text):
        lowered = text.strip().lower()
        if lowered in words:
            return None if lowered == "none" else lowered
        try:
            return int(text) if ints else float(text)
        except ValueError:
            kinds = "an int" if ints else "a number"
            choices = " or ".join(repr(w) for w in sorted(words))
            raise argparse.ArgumentTypeError(
                f"expected {kinds}{' or ' + choices if words else ''}, got {text!r}"
            ) from None

    return parse


def _none_or_text(text):
    return None if text.strip().lower() == "none" else text


def _option(name, constraints, helps, default):
    """The ``add_argument`` keywords of parameter ``name``, from its constraints."""
    kinds = {type(c) for c in constraints}
    strings = {s for c in constraints if isinstance(c, StrOptions) for s in c.options}
    ints = any(isinstance(c, Interval) and c.type is Integral for c in constraints)
    floats = any(isinstance(c, Interval) and c.type is Real for c in constraints)
    words = set(strings) | ({"none"} if None in constraints else set())
    help_text = f"{helps.get(name, name)} (default: {default!r})"
    kwargs = dict(default=argparse.SUPPRESS, help=help_text, dest=name)
    if constraints == ["boolean"]:
        return dict(kwargs, action=argparse.BooleanOptionalAction)
    if "array-like" in constraints:
        return dict(kwargs, type=int, nargs="+", metavar="N")
    if "random_state" in constraints:
        return dict(kwargs, type=int, metavar="SEED")
    if kinds == {StrOptions} or (kinds == {StrOptions, type(None)} and not (ints or floats)):
        names = sorted(words)
        choices = [None if w == "none" else w for w in names]
        metavar = "{" + ",".join(names) + "}"
        return dict(kwargs, type=_none_or_text, choices=choices, metavar=metavar)
    if ints or floats:
        metavar = "|".join(["N" if ints else "X", *sorted(words)])
        return dict(kwargs, type=_value_parser(ints, floats, words), metavar=metavar)
    return dict(kwargs, metavar="TEXT")  # devices, folders


def estimator_options(classes=(DenoisingAutoencoder, ConvDenoisingAutoencoder)):
    """``{parameter: (option strings, add_argument keywords, classes that take it)}``."""
    options = {}
    for cls in classes:
        helps, defaults = _first_sentences(cls), cls().get_params()
        for name, constraints in cls._parameter_constraints.items():
            if name in NOT_OPTIONS:
                continue
            if name not in options:
                flags = [f"--{name.replace('_', '-')}"]
                options[name] = (flags, _option(name, constraints, helps, defaults[name]), set())
            elif defaults[name] != classes[0]().get_params()[name]:  # say each default
                kwargs = options[name][1]
                kwargs["help"] = kwargs["help"][:-1] + f"; {cls.__name__}: {defaults[name]!r})"
            options[name][2].add(cls)
    return options
