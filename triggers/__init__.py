"""Trigger handlers, one module per trigger key (polling sources and instant webhooks).

Polling modules describe how to fetch a page of records; the one polling engine
(runtime/engine/polling.py) owns the cursor. Instant modules describe the webhook event and how a
delivery becomes events; the receiver (runtime/webhooks/) stores deliveries durably.
"""
