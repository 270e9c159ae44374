"""The LeadSquared connector runtime, in layers: each package imports only the ones below it.

A request flows down and back: CLI or service -> plugin (find the operation, validate input)
-> handler (``operations/``, ``triggers/``) -> api (client) -> LeadSquared or the sandbox.

| Package | Owns | May import |
|---|---|---|
| ``cli/`` | the ``lsq`` command line | everything |
| ``workers/`` | ``lsq worker``/``lsq receive``: procrastinate jobs (drain, poll, sweep), subscriptions once per instance, the sweeper (receivers: ``web/``'s WSGI factory); procrastinate reaches its own tables | engine and below |
| ``web/`` | the HTTP front of ``lsq serve``: mount points (``/hooks``, ``/healthz``, others' ``/metrics``, ``/ui``), the health answer, the WSGI factory for other servers | engine and below |
| ``ui/`` | the run-history page (``/ui`` of ``lsq serve``, ``lsq ui``): runs, steps, retries, trigger state | engine and below |
| ``mcp/`` | ``lsq mcp``: the actions as MCP tools, the lead fields as a resource | engine and below, embedded, host |
| ``host/`` | the host API (entry point ``ipaas.connectors``): manifest, operations, connect, invoke, poll, webhooks | engine and below, embedded |
| ``engine/`` | triggers at run time: polling, the webhook receiver and subscriptions, trigger instances, the service (per-item processing, supervision, ownership leases, health, the waitress server) | workflows, plugin, api, store |
| ``workflows/`` | workflow files, their static checks, templates, the runner | plugin, api, store |
| ``plugin/`` | the contract: manifest and its checks, schemas, invoke, generated docs, where the connector's files are | api |
| ``api/`` | talking to LeadSquared: client, connection, hosts, retry, governor, metadata, formats, redaction | - |
| ``store/`` | durable state: the database interface (SQLite files or PostgreSQL), migrations, trigger state, inbox, run history, leases, retention | - |
| ``errors``, ``clock`` | the error tree; UTC time and its stored text (every layer may import them) | - |
| ``observe`` | events on the process bus, Prometheus metrics, ``lsq serve`` progress lines (every layer may import it) | errors, clock |
| ``inputs``, ``text`` | bounded reads of files and stdin; text that is not valid Unicode (every layer may import them) | errors |
| ``embedded`` | the embedded default: the only importer of the sandbox besides ``lsq sandbox``; keeps its records in a folder between commands | api, sandbox |
| ``sandbox/`` | the LeadSquared stand-in | nothing of the connector |

``tests/test_architecture.py`` enforces the table (layers, sandbox importers, no cycles).
"""  # noqa: E501
