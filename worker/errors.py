"""Why a photo job gave no analysis: typed errors the conversation service turns into friendly sentences.
Kept apart from the Celery code so the service can name them without importing Celery."""

from __future__ import annotations


class PhotoJobError(Exception):
    """A photo sent to the workers came back without an analysis."""


class WorkersUnavailable(PhotoJobError):
    """The broker or the result store cannot be reached, or no worker answered in time: try again later."""


class PhotoJobFailed(PhotoJobError):
    """The workers gave up on this photo: it crashed a worker on every delivery (dead-lettered) or raised."""
