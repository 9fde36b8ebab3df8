"""The backend's errors in plain words, with what to do about them: one place, so both editors say the same."""

from __future__ import annotations

from .protocol import VERSION, ErrorCode

# Codes whose sentence says all a person needs.
_ALONE = {
    ErrorCode.CANCELLED: "Cancelled; nothing was changed.",
    ErrorCode.TOO_EARLY: "Stopped before the texture was learned enough to use: nothing was saved.",
    ErrorCode.BAD_VERSION: (
        f"The Retex backend speaks another protocol version than this plug-in (version {VERSION}). Update the "
        "plug-in and the backend together (run the installer again)."
    ),
    ErrorCode.UNAUTHORIZED: "The backend refused this plug-in (wrong token or key). Run the installer again.",
    ErrorCode.TRAINING_NOT_INSTALLED: (
        "Learning a texture needs the training support: run python3 installer.py --with-training"
    ),
}
# Codes where the backend's own sentence (kept in brackets) says which style, task or size.
_WITH_DETAIL = {
    ErrorCode.OUT_OF_MEMORY: "The backend ran out of memory: try a smaller image or selection, or close programs.",
    ErrorCode.UNKNOWN_STYLE: "That style is no longer installed. Pick another one.",
    ErrorCode.UNKNOWN_TASK: "The backend has no model for that restoration. Run the installer again to get it.",
    ErrorCode.TOO_LARGE: "The image is too large for the backend. Try a smaller image or selection.",
}


def plain(code: str, message: str) -> str:
    """A sentence for the plug-in's message line."""
    if code in _ALONE:
        return _ALONE[code]
    if code in _WITH_DETAIL:
        return f"{_WITH_DETAIL[code]} ({message})" if message else _WITH_DETAIL[code]
    return f"The backend could not do it: {message}" if message else "The backend failed without saying why."
