"""The local directories one step hands the next (KFP artifacts, or CLI flags)."""

from pathlib import Path

from components.errors import DataError


def require_files(directory: str | Path, names: list[str], step: str) -> Path:
    """``directory`` as a Path, once every file in ``names`` is in it.

    Raises:
        DataError: naming the first missing file and the step whose output it is.
    """
    directory = Path(directory)
    for name in names:
        if not (directory / name).is_file():
            raise DataError(
                f"{directory / name} not found: is {directory} the {step} step's output?"
            )
    return directory
