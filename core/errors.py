"""Typed errors of the core. Adapters turn each into a friendly sentence via core.messages."""

from __future__ import annotations


class MoodTunesError(Exception):
    """Base of every error the core raises on purpose.

    ``setting`` names the setting to fix (e.g. ``MODEL_DIR``) when the error comes from one; it is set where the
    setting is read, so a start-up failure can tell the admin what to change."""

    setting: str | None = None

    def for_setting(self, setting: str) -> MoodTunesError:
        """Name ``setting`` as the one to fix, unless a closer one is already named; returns the error."""
        self.setting = self.setting or setting
        return self


class ImageRejected(MoodTunesError):
    """The bytes we were given cannot be used as a photo."""


class EmptyImage(ImageRejected):
    """Zero bytes."""


class NotAnImage(ImageRejected):
    """The bytes are not an image format we read (core.intake.ACCEPTED_FORMATS)."""


class TruncatedImage(ImageRejected):
    """The header is fine but the image data is cut short or corrupt."""


class ImageTooLarge(ImageRejected):
    """More bytes than the configured limit."""


class TooManyPixels(ImageRejected):
    """Width x height over the pixel limit (decompression-bomb guard); never decoded."""


class ImageTooSmall(ImageRejected):
    """Too few pixels to hold a face."""


class UnknownMood(MoodTunesError):
    """A mood name that is not in the catalog."""


class CatalogError(MoodTunesError):
    """The track catalog is missing or invalid; the message names the row and column."""


class ModelError(MoodTunesError):
    """The emotion model folder is missing, incomplete or does not match its metadata."""


class ConfigError(MoodTunesError):
    """A setting is missing or cannot work as given (e.g. webhook mode without its secret)."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting
