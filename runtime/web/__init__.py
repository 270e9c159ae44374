"""The HTTP front of ``lsq serve``: one WSGI application with mount points.

Owns the composition of what the service answers over HTTP: :class:`~runtime.web.front.Front`
dispatches by path prefix to mounted WSGI applications (``/hooks`` -> the webhook receiver,
``/healthz`` -> the health check; other parts mount theirs, e.g. ``/metrics`` or ``/ui``, with
``front.mount(prefix, app)``), :mod:`runtime.web.health` answers the health check, and
:mod:`runtime.web.wsgi` builds the receiver's application for a host that runs it under its
own server (gunicorn, waitress-serve, uWSGI). It may import the engine and the layers below
it (engine, workflows, plugin, api, store) and never talks to LeadSquared or a database itself.
"""
