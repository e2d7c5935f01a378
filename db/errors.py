"""The store's own errors: callers handle these, never a database library's exceptions."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class StorageUnavailable(StoreError):
    """The database could not do what was asked: down, read-only, or locked past the retries.

    The message is one line for the admin — the operation and the driver's reason, never SQL parameters."""


class NotFound(StoreError, LookupError):
    """No such user or event (e.g. deleted by /forgetme meanwhile)."""
