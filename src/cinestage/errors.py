"""The one exception hierarchy. The CLI maps it to exit code 2 and one line; the API to 4xx JSON.

Every error names the input it is about (a path, a YAML key, a camera name) so the one-line
message tells the user exactly what to fix.
"""

from __future__ import annotations


class CinestageError(Exception):
    """A user-facing problem with an input: never shown as a traceback."""

    def __init__(self, source: str, problem: str):
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")

    def __reduce__(self):
        # Pickled with its two parts (the default would pass the one-line message alone), so the
        # error crosses into and out of worker processes and Ray tasks as itself.
        return type(self), (self.source, self.problem)


class MotionError(CinestageError):
    """A motion file (BVH) that cannot be read or used."""


class PerformanceError(CinestageError):
    """A performance description (YAML) that is malformed or inconsistent."""


class CameraError(CinestageError):
    """A camera specification or a camera track that cannot be built or used."""


class RenderError(CinestageError):
    """Rendering or video writing failed for a reason the user can act on."""


class VideoError(CinestageError):
    """A video file that cannot be opened, decoded or analysed."""


class ModelError(CinestageError):
    """Model weights that are missing, corrupt or do not fit the network."""
