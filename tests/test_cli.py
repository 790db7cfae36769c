import re
import subprocess
import sys
from pathlib import Path

import pytest

from skdae.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_demo_prints_metrics_and_writes_the_picture(tmp_path, capsys):
    assert main(["demo", "--epochs", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for label in ["train time", "reconstruction RMSE", "latent features", "raw pixels"]:
        assert label in out
    accuracy = float(re.search(r"latent features\s+([0-9.]+)", out).group(1))
    assert 0.1 < accuracy <= 1.0
    picture = tmp_path / "reconstructions.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_python_dash_m_skdae_shows_help():
    result = subprocess.run(
        [sys.executable, "-m", "skdae", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--noise-factor" in result.stdout


def test_unknown_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["fly"])
    assert excinfo.value.code == 2


def test_readme_example_runs_as_written(capsys):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    exec(compile(blocks[0], str(README), "exec"), {"__name__": "__readme__"})
    assert "dae__hidden_units" in capsys.readouterr().out
