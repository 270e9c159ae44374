"""What ``lsq serve`` shows while it runs: ``GET /metrics`` and the progress lines.

- ``--json``: every line on stdout is one JSON object (the start-up banner included);
- ``--quiet``: no progress lines (warnings and errors still go to stderr through logging);
- ``--summary-every SECONDS``: the period of the one-line summary (default 60).

The metrics and the progress listener subscribe to the process bus before the service starts
(so the first polls count) and leave it when the service has stopped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from runtime.cli.arguments import positive_seconds
from runtime.observe.events import BUS
from runtime.text import json_text

if TYPE_CHECKING:  # prometheus_client is imported when `lsq serve` runs, not by every command
    from runtime.observe.metrics import Metrics
    from runtime.observe.progress import Progress

METRICS_PATH = "/metrics"
DEFAULT_SUMMARY_EVERY = 60.0


def register_options(serve: argparse.ArgumentParser) -> None:
    """``--quiet``, ``--json`` and ``--summary-every`` on ``lsq serve``."""
    serve.add_argument("--quiet", action="store_true",
                       help="no progress lines (warnings and errors still go to stderr)")
    serve.add_argument("--json", action="store_true",
                       help="progress as JSON lines on stdout (one object per line)")
    serve.add_argument(
        "--summary-every", type=positive_seconds, default=DEFAULT_SUMMARY_EVERY,
        metavar="SECONDS", help="seconds between summary lines (default 60)",
    )


def new_metrics() -> tuple[Metrics, dict[str, Any]]:
    """The service's metrics and the mounts that serve them."""
    from runtime.observe.metrics import Metrics

    metrics = Metrics()
    return metrics, {METRICS_PATH: metrics.wsgi_app()}


@contextmanager
def observing(
    args: argparse.Namespace, service: Any, metrics: Metrics
) -> Iterator[Progress | None]:
    """Metrics and progress listening for the block (``service`` not started yet)."""
    from runtime.observe.progress import Progress

    metrics.backlog = service.backlog
    progress = None
    if not args.quiet:
        progress = Progress(sys.stdout, json_lines=args.json, summary_every=args.summary_every,
                            backlog=service.backlog)
        progress.hold()  # the first polls' lines come after the banner
    detach = [BUS.subscribe(listener) for listener in (metrics, progress) if listener]
    try:
        yield progress
    finally:
        if progress is not None:
            progress.stop()
        for unsubscribe in detach:
            unsubscribe()


def banner(args: argparse.Namespace, service: Any, lines: list[str]) -> list[str]:
    """The start-up ``lines`` with where the metrics are, or (``--json``) one JSON object with
    the same facts (the health check, the page and the instances standing by included)."""
    metrics_url = f"{service.url}{METRICS_PATH}"
    if args.json:
        return [json_text({
            "type": "serving",
            "receiver": service.url if service.receiving else None,
            "public_url": (service.public_url or service.url) if service.receiving else None,
            "health": f"{service.url}/healthz" if service.serving_http else None,
            "ui": f"{service.url}/ui/" if "/ui" in getattr(service, "mounts", {}) else None,
            "metrics": metrics_url,
            "triggers": [
                {"trigger": b.trigger_key, "instance": b.instance, "polling": b.polling,
                 "interval": b.interval if b.polling else None,
                 "workflows": [w.name for w in b.workflows]}
                for b in service.bindings.values()
            ],
            "standing_by": list(service.standing_by),
        })]
    return [*lines[:-1], f"metrics at {metrics_url}", lines[-1]]


__all__ = ["METRICS_PATH", "banner", "new_metrics", "observing", "register_options"]
