"""The trigger engine: turning LeadSquared changes into workflow runs.

Owns the polling engine, trigger instances, the webhook receiver and subscriptions, running a
trigger on demand, the events a workflow run starts from, processing one inbox item, and the
long-running service (supervision, ownership leases, health, the waitress server, its worker
processes). It may import workflows, plugin, api, store and the bottom modules; never web,
workers, ui, host, MCP or the CLI, which are built on it.
"""
