"""LeadSquared's regional API hosts, and the one parser that turns a setting into a host.

Real calls go only to an allowlisted host over HTTPS with TLS verification; the only other
accepted target is a loopback URL (the local sandbox). See reference §1.1.
"""

from __future__ import annotations

import difflib
import ipaddress
from urllib.parse import SplitResult, urlsplit

from runtime.errors import ConfigurationError

#: Regional API host -> region (reference §1.1). The account's host is shown in the app under
#: My Account > Settings > API and Webhooks, and UserByAccessKey.Get reports it.
REGIONAL_HOSTS: dict[str, str] = {
    "api.leadsquared.com": "Singapore (default)",
    "api-us11.leadsquared.com": "USA",
    "api-in21.leadsquared.com": "India (Mumbai)",
    "api-in22.leadsquared.com": "India (Hyderabad)",
    "api-ir31.leadsquared.com": "Ireland",
    "api-ca12.leadsquared.com": "Canada",
    # LIKELY: only the portal host portalapi-id51 is documented (reference §1.1).
    "api-id51.leadsquared.com": "Indonesia (Jakarta)",
}

#: The host asked first when the account's host is not configured (UserByAccessKey.Get
#: answers on every regional host and names the right one, reference §1.3).
DISCOVERY_HOST = "api.leadsquared.com"

_API_PATHS = {"", "/", "/v2", "/v2/"}
_FIX = "set api_host to your account's API host, e.g. api-in21.leadsquared.com"


def parse_api_host(value: str) -> tuple[str | None, str | None]:
    """Read an ``api_host`` setting; returns ``(api_host, base_url)``.

    A bare regional host name or an ``https://`` URL of one gives ``(host, None)``. A plain
    ``http``/``https`` URL on loopback (127.0.0.0/8, localhost, [::1]) is a sandbox and gives
    ``(None, base_url)``. Anything else raises :class:`ConfigurationError`.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ConfigurationError("api_host is empty", hint=_FIX)
    if "://" not in text:
        return check_host_name(text), None
    try:
        url = urlsplit(text)
        host = url.hostname or ""
        url.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ConfigurationError("api_host is not a valid URL", hint=_FIX) from None
    if url.username is not None or url.password is not None or "@" in url.netloc:
        raise ConfigurationError("api_host must not contain a user name or password", hint=_FIX)
    scheme = url.scheme.lower()
    if scheme not in {"http", "https"}:
        raise ConfigurationError(f"api_host '{text}' must use https", hint=_FIX)
    if url.query or url.fragment or url.path not in _API_PATHS:
        raise ConfigurationError(
            f"api_host '{_without_userinfo(url)}' may have no path other than /v2, "
            "no query and no fragment",
            hint=_FIX,
        )
    if is_loopback(host) and _plain_netloc(url):
        return None, f"{scheme}://{url.netloc}"
    if scheme != "https":
        raise ConfigurationError(
            f"api_host '{text}' uses plain http; LeadSquared requires https", hint=_FIX
        )
    if url.port is not None:
        raise ConfigurationError(f"api_host '{text}' must not name a port", hint=_FIX)
    return check_host_name(host), None


def check_host_name(name: str) -> str:
    """The lower-cased host ``name`` if it is an allowlisted regional host; else an error."""
    host = name.strip().lower()
    if host in REGIONAL_HOSTS:
        return host
    if _is_ip(host.strip("[]")):
        raise ConfigurationError(
            f"api_host '{name}' is an IP address; use the regional host name", hint=_FIX
        )
    if any(ch in host for ch in "/:@?#"):
        raise ConfigurationError(
            f"api_host '{name}' must be a host name (api-xx.leadsquared.com) or an https URL",
            hint=_FIX,
        )
    close = difflib.get_close_matches(host, REGIONAL_HOSTS, n=1, cutoff=0.8)
    suggestion = f"did you mean {close[0]}? " if close else ""
    raise ConfigurationError(
        f"api_host '{name}' is not a LeadSquared API host; {suggestion}"
        f"known hosts: {', '.join(REGIONAL_HOSTS)}",
        hint=_FIX,
    )


def check_sandbox_url(base_url: str) -> str:
    """``base_url`` without a trailing slash if it is an http(s) URL on loopback; else an error."""
    try:
        url = urlsplit(base_url)
        url.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ConfigurationError("base_url is not a valid URL") from None
    if (
        url.scheme not in {"http", "https"}
        or not is_loopback(url.hostname or "")
        or not _plain_netloc(url)
        or url.username is not None
        or url.query
        or url.fragment
        or url.path not in {"", "/"}
    ):
        raise ConfigurationError(
            "base_url is only for a local sandbox: an http(s) URL on 127.0.0.1, localhost or "
            "[::1] with no path",
            hint=_FIX,
        )
    return base_url.rstrip("/")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plain_netloc(url: SplitResult) -> bool:
    """True if the netloc is exactly the host (bracketed for IPv6) and an optional port.

    ``urlsplit`` reads ``http://evil.io[::1]`` as host ``::1``; other parsers (urllib3, which
    requests uses) read it differently, so anything but the plain form is refused.
    """
    host = url.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    port = f":{url.port}" if url.port is not None else ""
    return url.netloc.lower() in {shown, shown + port}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _without_userinfo(url: SplitResult) -> str:
    return f"{url.scheme}://{url.hostname or ''}{url.path}"
