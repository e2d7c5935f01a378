"""Pseudonymous user ids: the only form in which a platform user id ever reaches the database."""

from __future__ import annotations

import hashlib
import hmac


def hash_user_id(salt: str, platform_user_id: str) -> str:
    """Hex HMAC-SHA256 of ``platform_user_id`` keyed with ``salt``.

    Keyed rather than a plain hash because platform ids are small, guessable numbers:
    without the secret salt the hash could be reversed by brute force.
    """
    if not salt:
        raise ValueError("user id salt is empty: refusing to store guessable user hashes")
    return hmac.new(salt.encode(), str(platform_user_id).encode(), hashlib.sha256).hexdigest()
