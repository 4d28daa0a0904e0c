"""Render tokens: a signed note of which form was shown, when, with which consent wording, and a nonce.

A form page carries one in a hidden field. Its time tells how long the person
took to fill the form in; its nonce makes a double click or a retried post one
submission.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.core import signing

SALT = "leadflow.capture.render"
# A page left open over a long weekend still counts as a person's.
MAX_AGE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class RenderToken:
    form_id: int
    issued_at: float
    nonce: str
    wording_id: int | None

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.issued_at


def mint(*, form_id: int, wording_id: int | None, issued_at: float | None = None) -> str:
    """Return a new token for a form about to be shown."""
    issued = time.time() if issued_at is None else issued_at
    payload = {"f": form_id, "t": round(issued, 3), "n": secrets.token_urlsafe(12), "w": wording_id}
    return signing.Signer(salt=SALT).sign_object(payload, compress=False)


def read(token: str) -> RenderToken | None:
    """Return the token's contents, or None when it was not made here or was changed."""
    if not isinstance(token, str) or not token or len(token) > 400:
        return None
    try:
        payload = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeError):
        return None
    try:
        wording = payload.get("w")
        return RenderToken(
            form_id=int(payload["f"]),
            issued_at=float(payload["t"]),
            nonce=str(payload["n"])[:40],
            wording_id=int(wording) if wording is not None else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
