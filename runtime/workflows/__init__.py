"""Workflows: files that chain a trigger to actions, checked before they run.

Owns workflow files and their static checks, the sandboxed templates that map one step's data
into the next, and the runner that executes a workflow once for an event and records it in
the run history, and retrying a recorded run. It may import the plugin, api and store layers
and the bottom modules; never the engine or the packages above it.
"""
