"""Action handlers, one module per action key: ``def run(client, inputs) -> dict``.

Each handler builds the LeadSquared request, calls the one client and shapes the output;
the runtime validates the input before and the output after (runtime/plugin/invoke.py).
"""
