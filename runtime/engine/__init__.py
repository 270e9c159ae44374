"""The trigger engine: turning LeadSquared changes into workflow runs.

Owns the polling engine, trigger instances, the webhook receiver and subscriptions, running a
trigger on demand, the events a workflow run starts from, and the long-running service. It
may import workflows, plugin, api and store; never the CLI.
"""
