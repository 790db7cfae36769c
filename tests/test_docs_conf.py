"""The documentation builds offline: the MNIST example runs only where MNIST's files are."""

import re
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "docs" / "conf.py"
EXAMPLES = sorted(p.name for p in (CONF.parents[1] / "examples").glob("plot_*.py"))


def _runs(conf):
    pattern = conf["sphinx_gallery_conf"]["filename_pattern"]
    return {name for name in EXAMPLES if re.search(pattern, f"/examples/{name}")}


def test_without_mnist_the_mnist_example_is_shown_not_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path))  # a data folder with no mnist/
    conf = runpy.run_path(str(CONF))
    assert _runs(conf) == set(EXAMPLES) - {"plot_denoise_mnist.py"}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SKDAE_DATA" in err and "download=True" in err


def test_with_mnist_every_example_runs(tmp_path, monkeypatch, capsys):
    from skdae.datasets import MNIST_FILES

    (tmp_path / "mnist").mkdir()
    for name in MNIST_FILES:
        (tmp_path / "mnist" / f"{name}.gz").write_bytes(b"")  # presence is what counts here
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path))
    conf = runpy.run_path(str(CONF))
    assert _runs(conf) == set(EXAMPLES)
    assert capsys.readouterr().err == ""


def test_every_relative_link_in_the_readme_and_docs_leads_to_a_file():
    root = CONF.parents[1]
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    pages = [p for p in pages if "_build" not in p.parts and "auto_examples" not in p.parts]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:|#", target):  # a web address, or an anchor on the page
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(root)}: {target}")
    assert not broken


def test_constraints_say_what_a_user_needs_and_point_somewhere_real():
    root = CONF.parents[1]
    header = [
        line for line in (root / "constraints.txt").read_text().splitlines() if line[:1] == "#"
    ]
    text = "\n".join(header)
    assert "download.pytorch.org/whl/cpu" in text  # how to get the CPU build
    for pointer in re.findall(r"docs/[\w/.]+\.md", text):
        assert (root / pointer).is_file(), pointer
