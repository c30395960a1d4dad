"""Errors raised by the LiDAR stage; each names the file and what is wrong with it."""

from __future__ import annotations

import os


class LidarError(ValueError):
    """A LAS/LAZ file that cannot be used, with the file named in the message."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class LidarHeaderError(LidarError):
    """The public header, VLRs or LAZ chunk table contradict each other or the file size."""


class LidarCRSError(LidarError):
    """The file's CRS is missing or unreadable and the caller named none."""


class LidarBackendError(LidarError):
    """The requested backend (e.g. PDAL) is not available or failed."""
