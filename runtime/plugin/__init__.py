"""The plugin contract: what a host loads and how an operation is called.

Owns the manifest (``connector.yaml``) and its two validation stages, the JSON Schemas of
every operation, invoking an action (validate, call the handler, validate its output), the
polling-trigger contract and the generated reference docs. It may import ``runtime.api`` (the
client a handler gets) and the bottom modules; never workflows, the engine or storage.
"""
