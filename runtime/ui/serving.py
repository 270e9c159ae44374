"""Where the page runs: mounted in ``lsq serve`` (with Retry) or alone under ``lsq ui`` (read-only).

- :func:`exposure`: whether the page may be served on a host: on loopback always; beyond it
  only with a token (``LSQ_UI_TOKEN``), else refused with one line naming the fix.
- :func:`retry_action`: the Retry of ``lsq serve``: the served workflow of the run's name, the
  service's runner (its clients and history), :func:`runtime.workflows.retry.retry_run`. The
  retry runs in the request's thread; the 303 answer follows when it has finished.
- :func:`serve_read_only`: ``lsq ui`` under waitress (bounded threads and connections).
  Read-only: it has no workflow files or connection, so it offers no Retry; the run page shows
  the ``lsq runs retry`` command instead.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from runtime.api.hosts import is_loopback
from runtime.errors import ConfigurationError
from runtime.ui.app import RetryAction
from runtime.ui.security import TOKEN_ENV, check_token
from runtime.workflows.retry import RetryRefused, retry_run

if TYPE_CHECKING:
    from runtime.workflows.runner import WorkflowRunner
    from runtime.workflows.workflow import Workflow

UI_THREADS = 4
UI_CONNECTION_LIMIT = 50
UI_CHANNEL_TIMEOUT = 30


def exposure(host: str, token: str | None) -> str | None:
    """The token the page requires on ``host`` (None: open to this machine), or raises
    ConfigurationError when ``host`` is beyond loopback and no token is set."""
    try:
        checked = check_token(token)
    except ValueError as problem:
        raise ConfigurationError(str(problem)) from None
    if checked is None and not is_loopback(host) and host != "":
        raise ConfigurationError(
            f"the run-history page would be open to the network on {host} without a token",
            hint=f"set {TOKEN_ENV} (16+ characters), or bind 127.0.0.1")
    return checked


def retry_action(runner: WorkflowRunner, workflows: Sequence[Workflow]) -> RetryAction:
    """Retry a run with the served workflow of its name (refused for a workflow not served)."""
    by_name = {workflow.name: workflow for workflow in workflows}

    def retry(run_id: int, from_step: str | None, confirm: bool) -> int:
        history = runner.history
        run = None if history is None else history.get_run(run_id)
        if run is None:
            raise RetryRefused(f"no run with id {run_id}")
        workflow = by_name.get(run["workflow"])
        if workflow is None:
            raise RetryRefused(f"workflow '{run['workflow']}' is not served here",
                               hint=f"lsq runs retry {run_id} --workflow FILE")
        record = retry_run(runner, workflow, run_id, from_step=from_step,
                           confirm_ambiguous=confirm)
        assert record.run_id is not None  # the runner has a history
        return record.run_id

    return retry


def serve_read_only(
    app: Callable[..., Any], host: str, port: int, *, ready: Callable[[str], None] | None = None
) -> None:
    """Serve ``app`` under waitress until Ctrl-C or SIGTERM (both end it cleanly: the
    caller sees KeyboardInterrupt); ``ready(url)`` once it listens."""
    from waitress.server import create_server

    server = create_server(
        app, host=host, port=port, threads=UI_THREADS, connection_limit=UI_CONNECTION_LIMIT,
        channel_timeout=UI_CHANNEL_TIMEOUT, ident="lsq", clear_untrusted_proxy_headers=True,
    )
    listening = getattr(server, "effective_listen", None) or [
        (server.effective_host, server.effective_port)]
    bound_host, bound_port = listening[0][:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    if ready is not None:
        ready(f"http://{shown}:{bound_port}")
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    finally:
        server.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


__all__ = ["exposure", "retry_action", "serve_read_only"]
