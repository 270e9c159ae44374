"""The LeadSquared connector runtime, in layers: each package imports only the ones below it.

A request flows down and back: CLI or service -> plugin (find the operation, validate input)
-> handler (``operations/``, ``triggers/``) -> api (client) -> LeadSquared or the sandbox.

The last five rows are the bottom: every package above them (all but the sandbox) may import
them too, besides what its row lists.

| Package | Owns | May import |
|---|---|---|
| ``cli/`` | the ``lsq`` command line (``__main__``: ``python -m runtime``) | everything |
| ``mcp/`` | ``lsq mcp``: the actions as MCP tools, the lead fields as a resource | engine and below, embedded, host |
| ``host/`` | the host API (entry point ``ipaas.connectors``): manifest, operations, connect, invoke, poll, webhooks | engine and below, embedded |
| ``web/`` | the HTTP front of ``lsq serve``: mount points (``/hooks``, ``/healthz``, others' ``/metrics``, ``/ui``), the health answer, the WSGI factory for other servers (``lsq receive``) | engine and below |
| ``workers/`` | ``lsq worker``: procrastinate jobs (drain, poll), the sweeper, the worker process; procrastinate reaches its own tables | engine and below |
| ``ui/`` | the run-history page (``/ui`` of ``lsq serve``, ``lsq ui``): runs, steps, retries, trigger state | engine and below |
| ``engine/`` | triggers at run time: polling, the webhook receiver and subscriptions, trigger instances, the service (per-item processing, supervision, ownership leases, health, the waitress server) | workflows, plugin, api, store |
| ``workflows/`` | workflow files, their static checks, templates, the runner, retries | plugin, api, store |
| ``plugin/`` | the contract: manifest and its checks, schemas, invoke, the polling contract, generated docs, where the connector's files are | api |
| ``operations/``, ``triggers/`` | the handlers (top-level folders beside ``runtime/``) | plugin, api |
| ``api/`` | talking to LeadSquared: client, connection, hosts, retry, governor, metadata, formats, redaction | - |
| ``store/`` | durable state: the database interface (SQLite files or PostgreSQL), migrations, trigger state, inbox, run history, leases, rate budgets, retention | - |
| ``embedded`` | the embedded default: the only importer of the sandbox besides ``lsq sandbox``; keeps its records in a folder between commands | api, sandbox |
| ``sandbox/`` | the LeadSquared stand-in | nothing of the connector |
| ``observe/`` | events on the process bus, Prometheus metrics, ``lsq serve`` progress lines | errors, clock |
| ``inputs`` | bounded reads of files and stdin | errors |
| ``errors`` | the error tree | text |
| ``clock`` | UTC time and its stored text | - |
| ``text`` | text that is not valid Unicode: kept as escapes or refused | - |

``tests/test_architecture.py`` enforces the table (``LAYERS``, ``TOP``), the sandbox's importers,
that only ``store/`` holds SQL or imports a database driver, and that there are no cycles.
"""  # noqa: E501
