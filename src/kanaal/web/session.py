"""Signed session cookies and CSRF tokens for the server-rendered pages (desk, dashboard).

The cookie carries a signed, timestamped payload: a session id, the signed-in subject (an agent
id) or none, and the CSRF token that every form posts back. Signing uses the server secret;
expiry is measured with the application clock so tests can move time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from kanaal.core.clock import Clock
from kanaal.core.errors import Forbidden

CSRF_FIELD = "csrf_token"


class _ClockSigner(TimestampSigner):
    """A timestamp signer that reads the application clock instead of time.time()."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock.now().timestamp())


@dataclass(frozen=True, slots=True)
class WebSession:
    """One browser's session: `subject` is who signed in (None before sign-in)."""

    sid: str
    csrf: str
    subject: str | None = None

    @classmethod
    def anonymous(cls) -> WebSession:
        """A fresh session with a new id and CSRF token and nobody signed in."""
        return cls(sid=secrets.token_urlsafe(18), csrf=secrets.token_urlsafe(24))

    def signed_in(self, subject: str) -> WebSession:
        """A new session for `subject`: id and CSRF token are rotated (no session fixation)."""
        return WebSession(
            sid=secrets.token_urlsafe(18), csrf=secrets.token_urlsafe(24), subject=subject
        )


class SessionCodec:
    """Turns sessions into cookie values and back, refusing forged or expired cookies."""

    def __init__(
        self, secret: str, *, clock: Clock, cookie_name: str, salt: str, max_age_seconds: int
    ) -> None:
        self.cookie_name = cookie_name
        self.max_age_seconds = max_age_seconds
        self._serializer = URLSafeTimedSerializer(
            secret, salt=salt, signer=_ClockSigner, signer_kwargs={"clock": clock}
        )

    def dumps(self, session: WebSession) -> str:
        """The signed cookie value."""
        return str(self._serializer.dumps([session.sid, session.csrf, session.subject]))

    def loads(self, value: str | None) -> WebSession | None:
        """The session in a cookie value, or None when missing, forged, malformed or expired."""
        if not value or len(value) > 1024:
            return None
        try:
            payload = self._serializer.loads(value, max_age=self.max_age_seconds)
        except (BadSignature, SignatureExpired):
            return None
        if not (isinstance(payload, list) and len(payload) == 3):
            return None
        sid, csrf, subject = payload
        if not (isinstance(sid, str) and isinstance(csrf, str)):
            return None
        if subject is not None and not isinstance(subject, str):
            return None
        return WebSession(sid=sid, csrf=csrf, subject=subject)

    def from_request(self, request: Request) -> WebSession | None:
        """The session of a request's cookie, if valid."""
        return self.loads(request.cookies.get(self.cookie_name))

    def attach(self, response: Response, request: Request, session: WebSession) -> None:
        """Set the cookie: HttpOnly, SameSite=Lax, Secure over https, expiring with the session."""
        response.set_cookie(
            self.cookie_name,
            self.dumps(session),
            max_age=self.max_age_seconds,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    def clear(self, response: Response, request: Request) -> None:
        """Remove the cookie from the browser."""
        response.delete_cookie(
            self.cookie_name, path="/", httponly=True, samesite="lax",
            secure=request.url.scheme == "https",
        )


def check_csrf(session: WebSession | None, submitted: str | None) -> None:
    """Raise Forbidden unless the form's token equals the session's (constant-time compare)."""
    if session is None or not submitted:
        raise Forbidden("the form has expired; reload the page and try again", code="csrf_failed")
    if not hmac.compare_digest(session.csrf.encode(), submitted.encode()):
        raise Forbidden("the form has expired; reload the page and try again", code="csrf_failed")
