"""``python -m backend restore IN... -o FOLDER``: many image files in one run, into a folder.

Inputs are files, folders (their image files; ``-r`` for subfolders too) and glob patterns. Every check that can
refuse the whole run (no such input, an output folder inside an input folder or not writable) comes before any
work; after that a file that fails is named once on stderr and the run goes on. Outputs are written atomically and
an existing one is skipped unless ``--overwrite``, so an interrupted run leaves no half-written file and the same
command resumes it.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import RetexError
from ..imaging.io import FORMATS, IMAGE_SUFFIXES
from .common import end_on_signals

OUTPUT_NAMES = (
    "in a batch (several inputs, a folder or a glob pattern among them, or an existing folder here) the folder for "
    "the results, each named as its input, with its extension when that is .png, .jpg, .jpeg, .tif or .tiff, else .png"
)


@dataclass(frozen=True)
class Job:
    """One input file and the output it becomes."""

    input: Path
    output: Path


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-r", "--recursive", action="store_true", help="batch: folders' subfolders too (kept below -o)")
    p.add_argument("--overwrite", action="store_true", help="batch: redo files whose output is already there")


def is_batch(inputs: Sequence[str], output: str) -> bool:
    """The batch form: several inputs, a folder or a pattern among them, or a folder as the output (one that
    exists, or ends in a slash); one existing file into a file name is the single-file form."""
    return (
        len(inputs) > 1
        or Path(output).is_dir()
        or output.endswith(("/", os.sep))
        or any(Path(i).is_dir() or (glob.has_magic(i) and not Path(i).exists()) for i in inputs)
    )


def plan(inputs: Sequence[str], output: Path, recursive: bool, masked: bool) -> list[Job]:
    """The files to restore and their outputs; refuses, before anything is written, masks (one file's), inputs
    that name nothing, and an output folder that is inside an input folder or cannot be written."""
    if masked:
        raise RetexError(
            "--mask and inpainting take one mask for one image: restore those files one at a time "
            "(restore IN -o OUT.png --mask MASK)"
        )
    jobs: list[Job] = []
    folders: list[Path] = []
    for text in inputs:
        found = _expand(text, recursive)
        folders += {f.parent for f, _ in found} | ({Path(text)} if Path(text).is_dir() else set())
        jobs += [Job(f, output / sub / (f.stem + _suffix(f))) for f, sub in found]
    _check_output(output, folders)
    unique = {j.input.resolve(): j for j in jobs}  # a file named twice (a folder and a glob) is restored once
    return list(unique.values())


def run(jobs: list[Job], restore: Callable[[Path, Path], None], overwrite: bool) -> None:
    """Restore every job, one line per failed file on stderr and a summary on stdout; exit status 1 when any
    failed. Ctrl-C or a kill ends the run between writes (main's status 130) with the summary so far."""
    end_on_signals()
    written = skipped = failed = 0
    owners: dict[Path, Path] = {}  # two inputs, one output name: the input of the same extension has it
    for job in sorted(jobs, key=lambda j: j.input.suffix.lower() != j.output.suffix):
        owners.setdefault(job.output, job.input)
    progress = Progress(len(jobs))

    def summary() -> str:
        return f"{written} written, {skipped} skipped (already there), {failed} failed"

    try:
        for n, job in enumerate(jobs):
            progress.show(n, job.input)
            if owners[job.output] != job.input:
                progress.fail(f"{job.input}: its output {job.output} is {owners[job.output]}'s (rename one of them)")
                failed += 1
            elif job.output.exists() and not overwrite:
                skipped += 1
            else:
                try:
                    _remove_leftovers(job.output)
                    restore(job.input, job.output)
                    written += 1
                except Exception as e:  # one file's failure, whatever it is, must not end the batch
                    progress.fail(_reason(job.input, e))
                    failed += 1
    except KeyboardInterrupt:
        progress.clear()
        print(f"{summary()} before the interruption; the same command goes on from there", flush=True)
        raise
    progress.clear()
    print(summary(), flush=True)
    if failed:
        raise SystemExit(1)


class Progress:
    """One line on stderr redrawn in place (a terminal only: logs get just the failures and the summary)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.live = sys.stderr.isatty()

    def show(self, done: int, current: Path) -> None:
        if not self.live:
            return
        width = shutil.get_terminal_size().columns
        filled = 20 * done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{self.total} {current.name}"
        sys.stderr.write("\r" + line[: width - 1] + "\x1b[K")
        sys.stderr.flush()

    def fail(self, message: str) -> None:
        self.clear()
        print(f"failed: {message}", file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _expand(text: str, recursive: bool) -> list[tuple[Path, Path]]:
    """The image files an input names, each with its subfolder below the input folder (kept in the output)."""
    path = Path(text)
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        found = [(f, f.parent.relative_to(path)) for f in sorted(path.glob(pattern)) if _is_image(f, path)]
        if not found:
            raise RetexError(f"no image files in {path} ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return found
    if path.exists() or not glob.has_magic(text):
        if not path.is_file():
            raise RetexError(f"image not found: {path}")
        return [(path, Path())]
    matches = [Path(m) for m in sorted(glob.glob(text, recursive=recursive))]
    found = [(m, Path()) for m in matches if m.is_file() and m.suffix.lower() in IMAGE_SUFFIXES]
    if not found:
        raise RetexError(f"no image files match {text}")
    return found


def _is_image(file: Path, top: Path) -> bool:
    """An image file of a folder, leaving out hidden files and folders (temporary files, .git and the like)."""
    hidden = any(part.startswith(".") for part in file.relative_to(top).parts)
    return not hidden and file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES


def _suffix(file: Path) -> str:
    suffix = file.suffix.lower()
    return suffix if suffix in FORMATS else ".png"


def _check_output(output: Path, input_folders: list[Path]) -> None:
    """Refuse an output folder that would mix with the inputs or cannot take a file, creating it if need be."""
    where = output.resolve()
    for folder in input_folders:
        top = folder.resolve()
        if where == top or top in where.parents:
            raise RetexError(
                f"the output folder {output} is inside the input folder {folder}: choose one outside it, so no "
                "result is ever taken for an input or written over one"
            )
    if output.exists() and not output.is_dir():
        raise RetexError(f"the output {output} is a file: with several inputs, -o names a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=output, prefix=".retex-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise RetexError(f"cannot write in the output folder {output}: {e.strerror or e}") from None


def _remove_leftovers(output: Path) -> None:
    """Temporary files a killed run left beside ``output`` (backend.files.atomic_write's names)."""
    for stale in output.parent.glob(f".{glob.escape(output.name)}.*.tmp"):
        stale.unlink(missing_ok=True)


def _reason(file: Path, error: Exception) -> str:
    """Why ``file`` failed, naming it once (most errors already name their file)."""
    message = str(error) if isinstance(error, RetexError) else f"{type(error).__name__}: {error}"
    return message if str(file) in message else f"{file}: {message}"
