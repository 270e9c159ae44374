"""The plugin contract: what a host loads and how an operation is called.

Owns the manifest (``connector.yaml``) and its two validation stages, the JSON Schemas of
every operation, invoking an action (validate, call the handler, validate its output), the
polling-trigger contract, the generated reference docs and where the connector's own files
are (a checkout or an installed wheel). It may import ``runtime.api`` (the client a handler
gets) and the bottom modules; never workflows, the engine or storage.
"""
