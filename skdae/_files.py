"""Writing folders without losing anything: what skdae replaces, and how.

skdae writes model folders (``save``) and checkpoints (``checkpoint_dir/last``,
``best``) as whole folders, renamed into place once complete. It replaces only
a folder it recognises as one of its own (``is_ours``), and refuses any other
(``check_replaceable``) before anything is written: it never deletes what it
did not write.
"""

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def is_ours(folder, names, marker, says_ours):
    """Whether ``folder`` holds only regular files among ``names``, one of them
    ``marker``, a JSON object that ``says_ours``."""
    try:
        entries = list(folder.iterdir())
        if not (
            {entry.name for entry in entries} <= names
            and all(entry.is_file() and not entry.is_symlink() for entry in entries)
        ):
            return False  # checked first: a FIFO named like the marker is never read
        document = json.loads((folder / marker).read_text())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and bool(says_ours(document))


def check_replaceable(path, is_ours, what):
    """Refuse, before anything is written, to replace ``path`` unless it is absent, an
    empty folder, or a folder ``is_ours`` recognises (``what`` names such a folder)."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise FileExistsError(
            f"{path} exists and is not a folder; skdae writes {what} as a folder there and "
            "deletes nothing it did not write. Pass another path."
        )
    if not path.exists() or not any(path.iterdir()) or is_ours(path):
        return
    held = sorted(entry.name for entry in path.iterdir())
    listed = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
    raise FileExistsError(
        f"{path} is a folder that holds files skdae did not write ({listed}); skdae replaces "
        f"only {what} there and deletes nothing it did not write. Pass a new path (or move "
        "those files away)."
    )


@contextmanager
def folder_replaced_atomically(path, is_ours, what):
    """Yield a staging folder beside ``path`` that replaces ``path`` on success.

    ``path`` must be absent, an empty folder, or one ``is_ours`` recognises
    (else ``FileExistsError``, before anything is written). An interrupted
    write never leaves half a folder where a whole one was: the old folder is
    swapped out by a rename only once the new one is complete, under a name of
    its own (no other folder beside it is touched).
    """
    path = Path(path)
    check_replaceable(path, is_ours, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.new.", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary one
    old, swapped = None, False
    try:
        yield staging
        check_replaceable(path, is_ours, what)  # what another process may have put there
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old)  # onto the empty folder just made: atomic
        os.replace(staging, path)
        swapped = True
    finally:
        if not swapped:
            shutil.rmtree(staging, ignore_errors=True)
            if old is not None and not path.exists():
                os.replace(old, path)  # the earlier folder back where it was
        elif old is not None:
            shutil.rmtree(old, ignore_errors=True)  # the earlier one: ours, checked above


def history_records(history):
    """The history as plain JSON-able records, one per epoch (skorch's per-batch
    lists dropped: skdae records none)."""
    return [{k: v for k, v in epoch.items() if k != "batches"} for epoch in history]


def cpu_tensors(state_dict, prefix=""):
    """``{prefix + name: contiguous CPU tensor}``, as safetensors writes them."""
    return {prefix + k: v.detach().cpu().contiguous() for k, v in state_dict.items()}


def holds_only(*patterns):
    """A recogniser for ``remove_outputs``: a file (no patterns), or a folder whose
    files all match ``patterns`` (relative paths, ``Path.match``); never a link."""

    def recognises(path):
        if path.is_symlink():  # removing it would remove what it points to, or fail
            return False
        if not patterns:
            return path.is_file()
        return path.is_dir() and not any(
            entry.is_symlink()
            or (entry.is_file() and not any(entry.relative_to(path).match(p) for p in patterns))
            for entry in path.rglob("*")
        )

    return recognises


def remove_outputs(folder, outputs):
    """Remove ``folder / name`` for each ``name: recognises`` of ``outputs`` that exists,
    once every one of them is recognised; else ``FileExistsError`` naming the first
    that holds something else, and nothing removed."""
    present = [folder / name for name in outputs if (folder / name).exists()]
    foreign = [path for path in present if not outputs[path.name](path)]
    if foreign:
        raise FileExistsError(f"{foreign[0]} holds other files")
    for path in present:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
