"""Reading the user's YAML files with one-line errors that name the file (and the line)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from cinestage.errors import CinestageError


def read_yaml(path: Path, error: type[CinestageError]) -> object:
    try:
        return yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise error(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(str(path), f"cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(str(path), f"not valid YAML{f' at line {mark.line + 1}' if mark else ''}") from None


def first_problem(exc: ValidationError) -> str:
    """pydantic's first complaint as 'key.path: message'."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "top level"
    return f"{where}: {err['msg']}"
