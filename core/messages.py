"""The one place where typed errors and results become sentences for people. Every front end uses it."""

from __future__ import annotations

from moodtunes.core import errors
from moodtunes.core.intake import PHOTO_FORMATS

EMOJI = {"angry": "😠", "disgust": "🤢", "fear": "😨", "happy": "😊", "neutral": "😐", "sad": "😢", "surprise": "😮"}

_REJECTION_SENTENCES: dict[type[errors.ImageRejected], str] = {
    errors.EmptyImage: "That file is empty. Please send a photo of your face.",
    errors.NotAnImage: f"I can only read photos ({PHOTO_FORMATS}). Please send a selfie.",
    errors.TruncatedImage: "That photo seems to be damaged or cut short. Could you send it again?",
    errors.ImageTooLarge: "That file is too big for me. Please send a smaller photo (up to 20 MB).",
    errors.TooManyPixels: "That picture is far too large for me. Please send a normal-sized photo.",
    errors.ImageTooSmall: "That picture is too small to show a face. Please send a bigger photo.",
}


def friendly_rejection(error: errors.ImageRejected) -> str:
    """A sentence for the user; the technical detail stays in the logs."""
    for kind in type(error).__mro__:
        if kind in _REJECTION_SENTENCES:
            return _REJECTION_SENTENCES[kind]
    return "I couldn't read that photo. Please try another one."


NO_FACE = ("I couldn't find a face in that photo. Try a well-lit selfie looking at the camera — "
           "or pick a mood yourself.")
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."
BUSY = "I'm very busy right now — please send your photo again in a minute."
PHOTO_FAILED = "Something in that photo trips me up, sorry — please try another one, or pick a mood yourself."
TOO_MANY_PHOTOS = "You're sending photos faster than I can listen! Please wait a minute and try again."
# Neutral words: a Telegram or Discord button, or the console's "more" and "+N", may refer to a gone answer.
STALE_BUTTON = "That answer has expired. Send a new photo or use /mood."
