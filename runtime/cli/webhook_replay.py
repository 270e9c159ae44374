"""``lsq webhook replay FILE --to URL``: POST a saved delivery body to a receiver, with the
subscription's secret header, for debugging and backfill.

The secret goes only to the subscription's registered receiver (same scheme, host and port)
or to a loopback address, and the check reads the URL exactly as the HTTP library will:

1. ``--to`` must be printable ASCII without spaces or backslashes (parsers disagree about
   those: ``http://evil.com\\@127.0.0.1/`` is 127.0.0.1 to ``urllib.parse`` and evil.com to
   urllib3), with an http(s) scheme, a host, a port in 1-65535, and no user name or fragment;
2. it is parsed with urllib3's ``parse_url`` (the parser ``requests`` uses), and the request is
   prepared from it; the prepared request's URL is parsed again and must name the same
   scheme, host and port that were checked;
3. the request is sent without proxies or ``.netrc`` from the environment, and redirects are
   not followed.

Exit 0 only when the receiver answers 200 ``Status: Success``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from runtime.cli.common import open_state_store, print_json
from runtime.errors import ConfigurationError
from runtime.text import json_text

REPLAY_TIMEOUT = 30.0
DEFAULT_PORTS = {"http": 80, "https": 443}
RECEIVER_HINT = "use <base>/hooks/<instance id> (see `lsq hooks list`)"


@dataclass(frozen=True)
class Destination:
    """A checked replay URL: where the request goes, as urllib3 reads it."""

    scheme: str
    host: str
    port: int
    url: str
    path: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def destination(url: str) -> Destination:
    """Check ``url`` (see the module docstring, step 1) and read it with urllib3's parser."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if not url or any(not "!" <= char <= "~" or char == "\\" for char in url):
        raise _not_a_receiver(url, "only printable ASCII, without spaces or backslashes")
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise _not_a_receiver(url, "it does not parse as a URL") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.host:
        raise _not_a_receiver(url, "use an http:// or https:// URL with a host")
    if parts.auth is not None or parts.fragment is not None:
        raise _not_a_receiver(url, "no user name, password or #fragment")
    if parts.port is not None and not 1 <= parts.port <= 65535:
        raise _not_a_receiver(url, "the port must be 1-65535")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    rebuilt = f"{parts.scheme}://{parts.host}:{port}{parts.path or '/'}"
    if parts.query is not None:
        rebuilt += f"?{parts.query}"
    return Destination(parts.scheme, parts.host.lower(), port, rebuilt, parts.path or "/")


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of ``url`` as urllib3 reads it; None if it does not parse."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    try:
        parts = parse_url(url)
    except LocationParseError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.host:
        return None
    return parts.scheme, parts.host.lower(), parts.port or DEFAULT_PORTS[parts.scheme]


def may_receive_secret(target: Destination, registered: str) -> bool:
    """The subscription secret goes only to its registered receiver (same scheme, host and
    port) or to a receiver on this machine (loopback), never to an arbitrary URL."""
    from runtime.api.hosts import is_loopback

    return target.origin == origin_of(registered) or is_loopback(target.host)


def run_replay(args: argparse.Namespace) -> int:
    import requests

    from runtime.engine.receiver import HOOK_PATH_PREFIX, SECRET_HEADER
    from runtime.store.state import is_instance_id

    body = _read_body(args.file)
    target = destination(args.to)
    path = target.path
    instance = path.rsplit(HOOK_PATH_PREFIX, 1)[-1].rstrip("/") if HOOK_PATH_PREFIX in path else ""
    if not is_instance_id(instance):
        raise _not_a_receiver(args.to, RECEIVER_HINT)
    with open_state_store(args) as store:
        subscription = store.get_subscription(instance)
    if subscription is None:
        raise ConfigurationError(f"no subscription for {instance} in the state store",
                                 hint="replay to an instance subscribed from this state store")
    if not may_receive_secret(target, subscription.receiver_url):
        raise ConfigurationError(
            f"--to {args.to!r} is neither this subscription's receiver nor on this machine",
            hint=f"the secret is sent only to {subscription.receiver_url} or a loopback address",
        )
    headers = {"Content-Type": args.content_type or _guess_content_type(body),
               SECRET_HEADER: subscription.secret}
    prepared = requests.Request("POST", target.url, data=body, headers=headers).prepare()
    if origin_of(str(prepared.url)) != target.origin:  # never send elsewhere than was checked
        raise _not_a_receiver(args.to, "its host or port reads differently once prepared")
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy or .netrc from the environment
            reply = session.send(prepared, timeout=REPLAY_TIMEOUT, allow_redirects=False)
    except requests.RequestException as problem:
        raise ConfigurationError(
            f"cannot reach {target.host}:{target.port}: {type(problem).__name__}"
        ) from None
    answer = _json_or_text(reply)
    ok = reply.status_code == 200 and isinstance(answer, dict) and answer.get("Status") == "Success"
    if args.json:
        print_json({"status": reply.status_code, "body": answer, "ok": ok}, compact=True)
    else:
        print(f"HTTP {reply.status_code} {json_text(answer)}")
    return 0 if ok else 1


def _not_a_receiver(url: str, hint: str) -> ConfigurationError:
    return ConfigurationError(f"--to {url!r} is not a receiver URL", hint=hint)


def _read_body(name: str) -> bytes:
    from runtime.cli import UsageError
    from runtime.inputs import MAX_REPLAY_BODY_BYTES, UnreadableInput, read_input

    try:
        return read_input(name, limit=MAX_REPLAY_BODY_BYTES, what="stdin" if name == "-" else name)
    except UnreadableInput as problem:
        raise UsageError(str(problem)) from None


def _guess_content_type(body: bytes) -> str:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return "application/x-www-form-urlencoded"
    return "application/json"


def _json_or_text(reply: Any) -> Any:
    try:
        return reply.json()
    except (ValueError, RecursionError):
        return reply.text[:500]
