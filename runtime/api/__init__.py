"""Talking to LeadSquared: the one HTTP client and what it needs.

Owns the client (auth, host, retries, error translation), connections and the host allowlist,
the retry and rate-governor policies, the account's metadata lookups, LeadSquared's value
formats and secret redaction. Handlers reach LeadSquared only through this package. It may
import the bottom modules only (``runtime.errors``, ``clock``, ``observe``, ``text``,
``inputs``): nothing here knows about manifests, workflows, triggers or storage.
"""
