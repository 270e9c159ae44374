"""Observing the runtime: events, Prometheus metrics and terminal progress.

A base package every layer may import (it imports only ``runtime.errors`` and
``runtime.clock``): the client, governor, runner and service emit small events on the
process bus (:mod:`.events`); :class:`~.metrics.Metrics` (one registry per service, served at
``GET /metrics``) and :class:`~.progress.Progress` (the lines ``lsq serve`` prints) listen.
What lives in the store (inbox depth) is read at scrape time through a function the engine
injects, since this package imports no store.
"""
