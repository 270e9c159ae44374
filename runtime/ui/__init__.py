"""The run-history page: what ran, what failed and why, and a Retry button.

Owns the page's WSGI app (:mod:`runtime.ui.app`, mounted at ``/ui`` by ``lsq serve`` and served
read-only by ``lsq ui``), its templates (server-rendered Jinja2, autoescaped, inline CSS, no
JavaScript, no external assets), its guard (:mod:`runtime.ui.security`: a token when bound
beyond loopback, CSRF on every POST, bounded parameters) and its query parsing
(:mod:`runtime.ui.params`). It reads the run history and trigger state through the store and
retries runs through :mod:`runtime.workflows.retry`; a top package like ``runtime.web``, it may
import the engine and every layer below it, never the CLI, MCP or host packages.
"""
