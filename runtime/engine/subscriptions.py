"""Webhook subscriptions of instant triggers, managed through Webhook.svc (reference §12).

REST-hook style: :meth:`Subscriptions.subscribe` creates one LeadSquared webhook per trigger
instance (``POST Webhook.svc/Create``) pointing at our receiver
(:func:`~runtime.engine.receiver.receiver_url`) with a fresh per-subscription secret sent as
the custom header :data:`~runtime.engine.receiver.SECRET_HEADER`; the secret lives only in
the state store. :meth:`~Subscriptions.unsubscribe` deletes it (``GET Webhook.svc/Delete``).

Ours are recognised in ``Webhook.svc/Retrieve`` by the Description marker
``lsq-connector:<instance id>`` (:data:`MARKER`); Retrieve never shows custom headers, so a
webhook of ours that the state store does not know has a secret nobody knows: it can only be
deleted and replaced.

- subscribe is idempotent: a known, enabled webhook at the same URL is reused; otherwise a
  new one is created first and saved, then the stale ones of the instance are deleted (a
  crash in between leaves an orphan for :meth:`~Subscriptions.reconcile`, never a gap).
- Opportunity event codes are not hard-coded: each candidate code of the trigger module
  (``event_codes(config)``, e.g. live 29 then docs 31) is created and read back; the one whose
  Retrieve ``EventCode`` is the module's ``WEBHOOK_EVENT_NAME`` is kept, others are deleted.
  A code that worked for the same trigger before (in the state store) is tried first.
- reconcile deletes orphans (marked ours, unknown to the state store, pointing at one of our
  receiver URLs) and re-creates state rows whose webhook is gone, was disabled after failures
  (StatusCode 2) or points elsewhere. Webhooks disabled by hand (StatusCode 1) are left alone.

The trigger key and config of each subscription are kept beside it (in the state store, with
the account they belong to: :meth:`~runtime.store.state.StateStore.remember_trigger`) so that
reconcile can re-create it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from runtime.engine.receiver import (
    HOOK_PATH_PREFIX,
    SECRET_HEADER,
    hook_path,
    new_secret,
    receiver_url,
)
from runtime.engine.trigger_instance import trigger_instance
from runtime.errors import ConfigurationError, PermanentApiError
from runtime.plugin.invoke import prepare_inputs
from runtime.plugin.manifest import Manifest, Operation, load_manifest
from runtime.store.state import StateStore, Subscription, is_instance_id, trigger_key_of

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

CREATE_OP = "Webhook.svc/Create"
RETRIEVE_OP = "Webhook.svc/Retrieve"
DELETE_OP = "Webhook.svc/Delete"
MARKER = "lsq-connector"
_MARKED = re.compile(rf"^{MARKER}:(?P<instance>[a-z][a-z0-9_]*-[0-9a-f]{{20}})\b")
# Webhook StatusCode (reference §12.2, LIKELY): 0 enabled, 1 disabled by hand, 2 disabled
# after 10 consecutive failed deliveries.
ENABLED, DISABLED_BY_HAND, DISABLED_BY_FAILURES = 0, 1, 2
STATUS_NAMES = {
    ENABLED: "enabled",
    DISABLED_BY_HAND: "disabled by hand",
    DISABLED_BY_FAILURES: "disabled after failures",
}
RETRIEVE_PAGE_SIZE = 100
CONTENT_TYPE = "application/json"
# LIKELY (live code): a missing webhook's MX type; deleting one that is already gone is fine.
GONE = frozenset({"MXInvalidEntityException"})


@dataclass(frozen=True)
class RemoteWebhook:
    """One webhook as Webhook.svc/Retrieve lists it (never with its headers)."""

    webhook_id: str
    event: str
    url: str
    description: str
    status_code: int
    properties: str | None = None

    @property
    def instance(self) -> str | None:
        """The trigger instance whose marker the Description carries (None: not ours)."""
        match = _MARKED.match(self.description)
        return match["instance"] if match else None

    @property
    def status(self) -> str:
        return STATUS_NAMES.get(self.status_code, f"status {self.status_code}")


@dataclass(frozen=True)
class SubscribeResult:
    """What subscribe did: ``created``, ``replaced`` (stale ones deleted) or ``exists``."""

    action: str
    instance_id: str
    trigger: str
    webhook_id: str
    receiver_url: str
    event_code: str
    removed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "removed": list(self.removed)}


@dataclass(frozen=True)
class UnsubscribeResult:
    """The webhooks deleted and whether the state store had a subscription."""

    instance_id: str
    deleted: tuple[str, ...]
    forgotten: bool

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deleted": list(self.deleted)}


@dataclass
class ReconcileReport:
    """What reconcile found and did."""

    removed: list[dict[str, str]] = field(default_factory=list)   # orphan webhooks deleted
    recreated: list[dict[str, str]] = field(default_factory=list)  # instances re-subscribed
    healthy: list[str] = field(default_factory=list)               # instances left as they are
    left: list[dict[str, str]] = field(default_factory=list)       # needs a person, with reason

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Subscriptions:
    """Subscribe, unsubscribe, list and reconcile one account's instant-trigger webhooks."""

    def __init__(
        self, client: LeadSquaredClient, store: StateStore, manifest: Manifest | None = None
    ) -> None:
        self.client = client
        self.store = store
        self.manifest = manifest or load_manifest()

    # -- identity -----------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """``<org id>@<api host>``: whose webhooks these are (runtime.api.account)."""
        return self.client.account().key

    def instance(self, key: str, config: Mapping[str, Any]) -> str:
        """The trigger instance id of ``key`` + ``config`` (validated, defaults filled in, as
        ``lsq serve`` derives it) on this connection's account."""
        return trigger_instance(self.client, key, config, stores=(self.store,))

    def trigger(self, key: str) -> Operation:
        """The instant trigger ``key`` (ConfigurationError for others)."""
        operation = self.manifest.trigger(key)
        if operation.kind != "instant":
            raise ConfigurationError(
                f"{key} is a {operation.kind} trigger; only instant triggers use webhooks"
            )
        return operation

    # -- LeadSquared side ---------------------------------------------------------------------

    def webhooks(self) -> list[RemoteWebhook]:
        """Every webhook of the account (Webhook.svc/Retrieve, all pages)."""
        found: list[RemoteWebhook] = []
        page = 1
        while True:
            answer = self.client.post(RETRIEVE_OP, {
                "Parameter": {"Type": "Webhook"},
                "Paging": {"PageIndex": page, "PageSize": RETRIEVE_PAGE_SIZE},
            }) or {}
            rows = [r for r in answer.get("Response") or [] if isinstance(r, Mapping)]
            found += [_remote(row) for row in rows]
            total = int(answer.get("RecordCount") or 0)
            if len(rows) < RETRIEVE_PAGE_SIZE or len(found) >= total:
                return found
            page += 1

    def ours(self) -> list[RemoteWebhook]:
        """The account's webhooks whose Description carries our marker."""
        return [hook for hook in self.webhooks() if hook.instance is not None]

    def _delete(self, webhook_id: str) -> bool:
        """Delete one webhook; False if it was already gone."""
        try:
            self.client.get(DELETE_OP, {"webhookId": webhook_id})
        except PermanentApiError as problem:
            if problem.exception_type in GONE:
                return False
            raise
        return True

    # -- subscribe ----------------------------------------------------------------------------

    def subscribe(
        self, key: str, config: Mapping[str, Any], base_url: str
    ) -> SubscribeResult:
        """Make sure ``key`` + ``config`` has exactly one enabled webhook to ``base_url``."""
        operation = self.trigger(key)
        prepared = prepare_inputs(operation, config)
        instance = self.instance(key, prepared)
        url = receiver_url(check_base_url(base_url), instance)
        self.remember(instance, key, prepared)
        return self.ensure(instance, operation.handler_module(), prepared, url)

    def ensure(
        self, instance: str, module: ModuleType, config: Mapping[str, Any], url: str
    ) -> SubscribeResult:
        """Make sure ``instance`` has exactly one enabled webhook of ours to ``url``.

        ``config`` is the trigger's validated config (``module.webhook`` reads it).
        """
        key = trigger_key_of(instance)
        known = self.store.get_subscription(instance)
        # The webhook the state store records is the instance's, whatever its marker says (a
        # migrated instance's webhook still carries its former id).
        remote = [hook for hook in self.ours() if hook.instance == instance
                  or (known is not None and hook.webhook_id == known.webhook_id)]
        current = next(
            (hook for hook in remote if known and hook.webhook_id == known.webhook_id), None
        )
        if known and current and current.url == url and current.status_code == ENABLED:
            removed = self._delete_all(h for h in remote if h is not current)
            return SubscribeResult("exists", instance, key, known.webhook_id, url,
                                   known.event_code, removed)
        if known and current and current.url == url and current.status_code == DISABLED_BY_HAND:
            raise ConfigurationError(
                f"the webhook of {instance} ({current.webhook_id}) was disabled by hand in "
                "LeadSquared",
                hint="enable it again under Settings > API and Webhooks > Webhooks, or run "
                "`lsq hooks unsubscribe` then `lsq hooks subscribe`",
            )
        secret = new_secret()
        webhook_id, code = self._create(module, key, config, instance, url, secret)
        self.store.save_subscription(Subscription(instance, webhook_id, secret, url, code))
        removed = self._delete_all(remote)
        action = "replaced" if remote or known else "created"
        return SubscribeResult(action, instance, key, webhook_id, url, code, removed)

    def _create(
        self, module: ModuleType, key: str, config: Mapping[str, Any], instance: str,
        url: str, secret: str,
    ) -> tuple[str, str]:
        """Create the webhook; with an expected event name, try codes until one reads back."""
        fields = dict(module.webhook(self.client, config))
        expected = getattr(module, "WEBHOOK_EVENT_NAME", None)
        candidates = getattr(module, "event_codes", None)
        codes = self._ordered(
            key, tuple(candidates(config)) if candidates else (str(fields["WebhookEvent"]),)
        )
        body = {
            "Description": f"{MARKER}:{instance} {key} (managed by the LeadSquared connector)",
            "URL": url,
            "Method": "POST",
            "ContentType": CONTENT_TYPE,
            "IsSpecificLandingPage": False,
            "NotifyOnFailure": True,
            "WebhookProperties": None,
            "CustomHeaders": [{"Key": SECRET_HEADER, "Value": secret}],
            **fields,
        }
        tried: list[str] = []
        for code in codes:
            try:
                answer = self.client.post(CREATE_OP, {**body, "WebhookEvent": code}, creates=True)
            except PermanentApiError as problem:
                if expected is None or len(codes) == 1:
                    raise
                tried.append(f"{code}: {problem.message}")
                continue
            webhook_id = str((answer.get("Message") or {}).get("Id") or "")
            if not webhook_id:
                raise ConfigurationError(f"{CREATE_OP} answered without Message.Id")
            if expected is None:
                return webhook_id, code
            stored = next((h for h in self.webhooks() if h.webhook_id == webhook_id), None)
            if stored is not None and stored.event == expected:
                return webhook_id, code
            tried.append(f"{code}: stored as {stored.event if stored else 'nothing'}")
            self._delete(webhook_id)
        raise ConfigurationError(
            f"cannot subscribe {key}: no WebhookEvent code is {expected} on this account "
            f"(tried {'; '.join(tried)})",
            hint="set webhook_event_code in the trigger config to the code LeadSquared uses",
        )

    def _ordered(self, key: str, codes: tuple[str, ...]) -> tuple[str, ...]:
        """``codes`` with one that already worked for ``key`` (state store) first."""
        if len(codes) < 2:
            return codes
        worked = {
            row.event_code for row in self.store.list_subscriptions()
            if row.instance_id.startswith(f"{key}-")
        }
        return tuple(sorted(codes, key=lambda code: code not in worked))

    def _delete_all(self, hooks: Iterable[RemoteWebhook]) -> tuple[str, ...]:
        return tuple(hook.webhook_id for hook in hooks if self._delete(hook.webhook_id))

    # -- unsubscribe --------------------------------------------------------------------------

    def unsubscribe(
        self, key: str | None = None, config: Mapping[str, Any] | None = None, *,
        instance: str | None = None,
    ) -> UnsubscribeResult:
        """Delete the instance's webhook(s) and forget its subscription."""
        if instance is None:
            if key is None:
                raise ConfigurationError("unsubscribe needs a trigger key or an instance id")
            instance = self.instance(key, prepare_inputs(self.trigger(key), config or {}))
        known = self.store.get_subscription(instance)
        targets = [
            hook for hook in self.ours()
            if hook.instance == instance or (known and hook.webhook_id == known.webhook_id)
        ]
        deleted = self._delete_all(targets)
        forgotten = self.store.delete_subscription(instance)
        self._forget(instance)
        return UnsubscribeResult(instance, deleted, forgotten)

    # -- list ---------------------------------------------------------------------------------

    def listing(self) -> list[dict[str, Any]]:
        """This account's subscriptions and marked webhooks, with their status; no secrets."""
        remote = {hook.webhook_id: hook for hook in self.ours()}
        configs = self._configs()
        rows: list[dict[str, Any]] = []
        for sub in self.store.list_subscriptions():
            hook = remote.pop(sub.webhook_id, None)
            if hook is None and configs.get(sub.instance_id, {}).get("account") != self.account:
                continue  # another account's subscription
            rows.append({
                **sub.public(),
                "trigger": _trigger_of(sub.instance_id),
                "event": hook.event if hook else None,
                "status": hook.status if hook else "missing in LeadSquared",
            })
        for hook in remote.values():
            rows.append({
                "instance_id": hook.instance, "webhook_id": hook.webhook_id,
                "receiver_url": hook.url, "event_code": None, "created_at": None,
                "trigger": _trigger_of(hook.instance or ""), "event": hook.event,
                "status": f"{hook.status}, unknown to the state store (orphan)",
            })
        return sorted(rows, key=lambda row: (str(row["instance_id"]), row["webhook_id"]))

    # -- reconcile ----------------------------------------------------------------------------

    def reconcile(
        self, base_urls: Iterable[str] = (), *, any_receiver: bool = False
    ) -> ReconcileReport:
        """Remove orphans of ours and re-create subscriptions whose webhook is gone or broken.

        Orphans are deleted only when they point at one of ``base_urls`` or at a receiver
        URL of this store's subscriptions (another deployment's webhooks on the same account
        are left alone), or at any URL with ``any_receiver``.
        """
        report = ReconcileReport()
        remote = self.ours()
        by_id = {hook.webhook_id: hook for hook in remote}
        configs = self._configs()
        rows = self.store.list_subscriptions()
        mine = [
            row for row in rows
            if row.webhook_id in by_id or configs.get(row.instance_id, {}).get("account")
            == self.account
        ]
        bases = {check_base_url(url) for url in base_urls}
        bases |= {base_of(row) for row in mine if base_of(row)}
        known_ids = {row.webhook_id for row in rows}
        for hook in remote:
            if hook.webhook_id in known_ids:
                continue
            if any_receiver or any(_points_at(hook.url, base) for base in bases):
                if self._delete(hook.webhook_id):
                    report.removed.append(
                        {"webhook_id": hook.webhook_id, "instance_id": str(hook.instance),
                         "receiver_url": hook.url}
                    )
            else:
                report.left.append({
                    "webhook_id": hook.webhook_id, "instance_id": str(hook.instance),
                    "reason": "marked ours but points at another receiver; pass its base URL "
                              "with --receiver-url to remove it",
                })
        for row in mine:
            self._reconcile_row(row, by_id.get(row.webhook_id), configs, report)
        return report

    def _reconcile_row(
        self, row: Subscription, hook: RemoteWebhook | None,
        configs: Mapping[str, Mapping[str, Any]], report: ReconcileReport,
    ) -> None:
        if hook is not None and hook.status_code == ENABLED and hook.url == row.receiver_url:
            report.healthy.append(row.instance_id)
            return
        if hook is not None and hook.status_code == DISABLED_BY_HAND:
            report.left.append({"instance_id": row.instance_id, "webhook_id": row.webhook_id,
                                "reason": "disabled by hand in LeadSquared"})
            return
        why = ("missing in LeadSquared" if hook is None
               else hook.status if hook.status_code != ENABLED else "points at another URL")
        saved = configs.get(row.instance_id)
        if saved is None:
            report.left.append({
                "instance_id": row.instance_id, "webhook_id": row.webhook_id,
                "reason": f"{why}; its trigger config is unknown here, run `lsq hooks "
                          "subscribe` for it",
            })
            return
        result = self.subscribe(saved["trigger_key"], saved["config"], base_of(row))
        report.recreated.append({"instance_id": row.instance_id, "reason": why,
                                 "webhook_id": result.webhook_id})

    # -- the trigger configs ------------------------------------------------------------------

    def remember(self, instance: str, key: str, config: Mapping[str, Any]) -> None:
        """Keep the trigger key and config of ``instance`` (reconcile re-creates from it)."""
        self.store.remember_trigger(instance, key, config, self.account)

    def _forget(self, instance: str) -> None:
        self.store.forget_trigger(instance)

    def _configs(self) -> dict[str, dict[str, Any]]:
        return self.store.trigger_configs()


# -- helpers -------------------------------------------------------------------------------------


def check_base_url(base_url: str) -> str:
    """A receiver base URL (http/https, a host, no query or fragment), without trailing ``/``."""
    parts = urlsplit(str(base_url or "").strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"not a receiver base URL: {base_url!r}",
            hint="use the public http(s) URL where `lsq serve` or `lsq receive` answers, e.g. "
                 "https://hooks.example.com; the connector adds /hooks/<instance>",
        )
    return parts.geturl().rstrip("/")


def base_of(subscription: Subscription) -> str:
    """The receiver base URL a subscription was made with ('' if its URL is not ours)."""
    suffix = hook_path(subscription.instance_id)
    url = subscription.receiver_url
    return url[: -len(suffix)] if url.endswith(suffix) else ""


def ensure_subscription(
    client: LeadSquaredClient, store: StateStore, instance: str, module: ModuleType,
    config: Mapping[str, Any], url: str, *, manifest: Manifest | None = None,
) -> SubscribeResult:
    """Subscribe ``instance`` (already derived by the caller) to the receiver ``url``.

    The entry point of ``lsq serve``: reuses a live subscription, else creates one.
    """
    subscriptions = Subscriptions(client, store, manifest)
    subscriptions.remember(instance, trigger_key_of(instance), config)
    return subscriptions.ensure(instance, module, config, url)


def instant_event_keys(manifest: Manifest) -> dict[str, Any]:
    """``{trigger key: event_key function}`` of every instant trigger, for the receiver."""
    return {
        op.key: op.handler_module().event_key
        for op in manifest.triggers if op.kind == "instant"
    }


def _points_at(url: str, base: str) -> bool:
    return url.startswith(base.rstrip("/") + HOOK_PATH_PREFIX)


def _trigger_of(instance: str) -> str | None:
    return trigger_key_of(instance) if is_instance_id(instance) else None


def _remote(row: Mapping[str, Any]) -> RemoteWebhook:
    try:
        status = int(row.get("StatusCode") or 0)
    except (TypeError, ValueError):
        status = -1
    return RemoteWebhook(
        webhook_id=str(row.get("WebhookId") or ""),
        event=str(row.get("EventCode") or ""),
        url=str(row.get("URL") or ""),
        description=str(row.get("Description") or ""),
        status_code=status,
        properties=row.get("WebhookProperties"),
    )
