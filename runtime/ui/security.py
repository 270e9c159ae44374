"""The page's guard: who may see it, which POSTs count, and the headers every answer carries.

- **Token.** With a token (``LSQ_UI_TOKEN``; required when the page is bound beyond loopback),
  every request shows it: ``Authorization: Bearer TOKEN`` (scripts), or the session cookie
  the login form sets (an HMAC of the token, never the token itself; ``HttpOnly``,
  ``SameSite=Strict``). Without a token (loopback only) the page is open to this machine.
- **CSRF.** Every state-changing request is a POST carrying ``csrf``, an HMAC (under a key made
  per process) of a random cookie value (``SameSite=Strict``): a signed double-submit cookie.
  A POST also fails when its ``Origin`` names another host. A Bearer request is exempt (a
  browser never adds that header by itself).
- **Headers.** A content security policy that allows no script, no external asset and no
  framing; ``nosniff``; no referrer beyond the page itself (a POST keeps its ``Origin``);
  ``no-store``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

SESSION_COOKIE = "lsq_ui_session"
CSRF_COOKIE = "lsq_ui_csrf"
TOKEN_ENV = "LSQ_UI_TOKEN"
MIN_TOKEN_CHARS = 16
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def check_token(token: str | None) -> str | None:
    """The token to require (None: none), or ValueError naming the fix."""
    if token is None or not token.strip():
        return None
    token = token.strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{TOKEN_ENV} is too short: use at least {MIN_TOKEN_CHARS} characters "
                         "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe())'`)")
    return token


class Guard:
    """Token and CSRF checks for one page (one key per process)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = check_token(token)
        self._key = secrets.token_bytes(32)
        self._session = (
            None if self.token is None
            else hmac.new(self.token.encode(), b"lsq-ui-session", hashlib.sha256).hexdigest()
        )

    # -- who --------------------------------------------------------------------------------

    def bearer(self, request: Request) -> bool:
        """Whether the request shows the token in an ``Authorization: Bearer`` header."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return (self.token is not None and scheme.lower() == "bearer"
                and hmac.compare_digest(given.strip().encode(), self.token.encode()))

    def allowed(self, request: Request) -> bool:
        """Whether the request may see the page."""
        if self.token is None or self.bearer(request):
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return self._session is not None and hmac.compare_digest(cookie.encode(),
                                                                 self._session.encode())

    def login(self, given: str, response: Response, path: str) -> bool:
        """Check a token typed into the login form; on a match set the session cookie."""
        if self.token is None or self._session is None:
            return True
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return False
        response.set_cookie(SESSION_COOKIE, self._session, path=path, httponly=True,
                            samesite="Strict")
        return True

    # -- CSRF -------------------------------------------------------------------------------

    def csrf_seed(self, request: Request) -> tuple[str, bool]:
        """The request's CSRF cookie value, and whether it is new (to be set)."""
        seed = request.cookies.get(CSRF_COOKIE, "")
        if len(seed) == 43 and seed.replace("-", "").replace("_", "").isalnum():
            return seed, False
        return secrets.token_urlsafe(32), True

    def csrf_token(self, seed: str) -> str:
        """The form field value that goes with the cookie value ``seed``."""
        return hmac.new(self._key, seed.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, request: Request) -> bool:
        """Whether a POST is the page's own: its form token fits its cookie and its origin."""
        if self.bearer(request):
            return True
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            return False
        seed = request.cookies.get(CSRF_COOKIE, "")
        given = request.form.get("csrf", "")
        return bool(seed) and hmac.compare_digest(given.encode(),
                                                  self.csrf_token(seed).encode())


def secure(response: Response) -> Response:
    """``response`` with the page's security headers."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response


__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "TOKEN_ENV", "Guard", "check_token", "secure"]
