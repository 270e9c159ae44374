"""Stage two of manifest validation: small checks, each ``(manifest) -> list[str]``.

Stage one (the meta-schema) has already passed, so every entry has its fields with the
right types. Each check returns ``"location: message"`` problems; :func:`run_checks` runs
them all, in order, and returns every problem together.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from runtime.api.hosts import REGIONAL_HOSTS
from runtime.errors import ManifestError
from runtime.plugin.operation import ROLES

if TYPE_CHECKING:
    from runtime.plugin.operation import Manifest, Operation

#: Naming rules by role (STYLE "Naming"): snake_case; verb-object actions; new_/past-tense triggers.
#: ``api_call`` (the generic call of any API path) is the one action named by what it is.
KEY_RULES = {
    "action": (
        re.compile(r"^((create|upsert|update|find|list|delete|add|remove|send)_[a-z0-9]+(_[a-z0-9]+)*"
                   r"|api_call)$"),
        "an action key is snake_case verb_object, e.g. create_lead, add_lead_to_list, list_users",
    ),
    "trigger": (
        re.compile(r"^(new_[a-z0-9]+(_[a-z0-9]+)*|[a-z0-9]+(_[a-z0-9]+)*_[a-z]+ed(_[a-z0-9]+)*)$"),
        "a trigger key is snake_case new_<object> or <object>_<past tense>, e.g. lead_updated",
    ),
}
INSTANT_SUFFIX = " (Instant)"

#: The functions a handler module must define, by kind (``action``, ``polling``, ``instant``),
#: each with its exact parameters (design.md "Trigger module contract").
HANDLER_FUNCTIONS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "action": (("run", ("client", "inputs")),),
    "polling": (("events", ("client", "config", "item")), ("event_key", ("item",))),
    "instant": (
        ("events", ("client", "config", "item")),
        ("event_key", ("item",)),
        ("webhook", ("client", "config")),
        ("sample", ("client", "config", "limit")),
    ),
}

#: A polling module is also one of the sources runtime.engine.polling's engine runs: a fetch
#: function with its exact parameters, and the constants the engine reads.
POLLING_SOURCES: dict[str, tuple[tuple[str, tuple[str, ...]], tuple[str, ...]]] = {
    "TimeBasedSource": (("fetch_page", ("client", "config", "since", "page")),
                        ("ID_FIELD", "TIME_FIELD")),
    "MembershipSource": (("fetch_members", ("client", "config", "page")), ("ID_FIELD",)),
}


def schemas_are_valid(manifest: Manifest) -> list[str]:
    """Every file under schemas/ is JSON, has its ``$id`` and passes ``check_schema``."""
    return list(manifest.schemas.problems)


def refs_resolve(manifest: Manifest) -> list[str]:
    """Every ``$ref`` in every schema resolves in the registry."""
    return manifest.schemas.ref_problems()


def schema_files_exist(manifest: Manifest) -> list[str]:
    """Each operation has its input/config and output schema files."""
    return [
        f"{op.location}: missing schemas/{path}"
        for op in manifest.operations
        for path in (op.input_schema_path, op.output_schema_path)
        if not (manifest.root / "schemas" / path).is_file()
    ]


def keys_are_unique(manifest: Manifest) -> list[str]:
    """No key or display name is declared twice in a section."""
    problems = []
    for operations in (manifest.actions, manifest.triggers):
        keys = Counter(op.key for op in operations)
        names = Counter(op.display_name for op in operations)
        reported: set[str] = set()
        for op in operations:
            if keys[op.key] > 1 and op.key not in reported:
                problems.append(f"{op.location}: key {op.key!r} is declared {keys[op.key]} times")
            if names[op.display_name] > 1 and op.display_name not in reported:
                problems.append(f"{op.location}.display_name: {op.display_name!r} is declared "
                                f"{names[op.display_name]} times")
            reported |= {op.key, op.display_name}
    return problems


def keys_follow_naming_rules(manifest: Manifest) -> list[str]:
    """Keys follow the naming rules, display names use the key's words, (Instant) iff instant."""
    problems = []
    for op in manifest.operations:
        pattern, rule = KEY_RULES[op.role]
        if not pattern.match(op.key):
            problems.append(f"{op.location}.key: {op.key!r} breaks the naming rule: {rule}")
        instant = op.display_name.endswith(INSTANT_SUFFIX)
        if instant != (op.kind == "instant"):
            problems.append(
                f"{op.location}.display_name: {op.display_name!r} must "
                f"{'' if op.kind == 'instant' else 'not '}end with {INSTANT_SUFFIX.strip()!r} "
                f"for a {op.kind} {op.role}"
            )
        words = op.display_name.removesuffix(INSTANT_SUFFIX).lower().split()
        if sorted(words) != sorted(op.key.split("_")):
            problems.append(
                f"{op.location}.display_name: {op.display_name!r} must use the words of the key "
                f"{op.key!r}"
            )
    return problems


def handlers_match_keys(manifest: Manifest) -> list[str]:
    """The handler module's name equals the key: ``operations.<key>`` / ``triggers.<key>``."""

    problems = []
    for op in manifest.operations:
        expected = f"{ROLES[op.role].package}.{op.key}"
        if op.handler_name != expected:
            problems.append(
                f"{op.location}.handler: {op.handler_name!r} must be {expected!r} "
                "(the module file name equals the key)"
            )
    return problems


def handlers_importable(manifest: Manifest) -> list[str]:
    """Each handler imports and defines its function with the documented parameters."""
    problems = []
    for op in manifest.operations:
        try:
            module = op.handler_module()
        except ManifestError as problem:
            problems.append(f"{op.location}.handler: {problem.message}")
            continue
        for name, parameters in HANDLER_FUNCTIONS.get(op.kind, ()):
            problems += _signature_problems(op, module, name, parameters)
        if op.kind == "polling":
            problems += _polling_source_problems(op, module)
        if op.kind == "instant":
            problems += _instant_event_code_problems(op, module)
    return problems


def samples_match_schemas(manifest: Manifest) -> list[str]:
    """sample_input fits the input/config schema; sample_output fits the output schema."""
    problems = []
    for op in manifest.operations:
        for sample, path in (("sample_input", op.input_schema_path),
                             ("sample_output", op.output_schema_path)):
            if manifest.schemas.has(path):
                errors = manifest.schemas.errors(path, getattr(op, sample))
                problems += _located(f"{op.location}.{sample}", errors)
    return problems


def triggers_have_dedupe_key(manifest: Manifest) -> list[str]:
    """Each trigger's dedupe_key names required properties of its output (event) schema."""
    problems = []
    for op in manifest.triggers:
        if not manifest.schemas.has(op.output_schema_path):
            continue  # reported by schema_files_exist / schemas_are_valid
        try:
            schema = op.resolved_output_schema()
        except ManifestError:
            continue  # reported by refs_resolve
        properties, required = _top_level(schema)
        for name in op.dedupe_key:
            if name not in properties or name not in required:
                problems.append(
                    f"{op.location}.dedupe_key: {name!r} must be a required property of "
                    f"schemas/{op.output_schema_path}"
                )
    return problems


def connection_hosts_match_allowlist(manifest: Manifest) -> list[str]:
    """The api_host field offers exactly the regional hosts the client allows (api.hosts)."""
    choices = manifest.connection["fields"]["api_host"].get("choices")
    if choices is None or sorted(choices) == sorted(REGIONAL_HOSTS):
        return []
    missing = sorted(set(REGIONAL_HOSTS) - set(choices))
    extra = sorted(set(choices) - set(REGIONAL_HOSTS))
    detail = "; ".join(
        part for part in (missing and f"missing {', '.join(missing)}",
                          extra and f"not allowed {', '.join(extra)}") if part
    )
    where = "connection.fields.api_host.choices"
    return [f"{where}: differ from runtime.api.hosts.REGIONAL_HOSTS: {detail}"]


CHECKS: tuple[Callable[[Manifest], list[str]], ...] = (
    schemas_are_valid,
    refs_resolve,
    schema_files_exist,
    keys_are_unique,
    keys_follow_naming_rules,
    handlers_match_keys,
    handlers_importable,
    samples_match_schemas,
    triggers_have_dedupe_key,
    connection_hosts_match_allowlist,
)


def run_checks(manifest: Manifest) -> list[str]:
    """Every check's problems, in check order."""
    return [problem for check in CHECKS for problem in check(manifest)]


def _signature_problems(
    op: Operation, module: Any, name: str, parameters: tuple[str, ...]
) -> list[str]:
    function = getattr(module, name, None)
    wanted = f"{name}({', '.join(parameters)})"
    if not callable(function):
        return [f"{op.location}.handler: {op.handler_name} must define {wanted}"]
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return [f"{op.location}.handler: {op.handler_name}.{name} has no inspectable signature"]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    found = list(signature.parameters.values())
    if [p.name for p in found] == list(parameters) and all(
        p.kind in positional and p.default is inspect.Parameter.empty for p in found
    ):
        return []
    return [f"{op.location}.handler: {op.handler_name}.{name}{signature} must be {wanted}"]


def _instant_event_code_problems(op: Operation, module: Any) -> list[str]:
    """Candidate webhook codes (``event_codes(config)``) come with the event name that
    verifies them (``WEBHOOK_EVENT_NAME``), and the other way round (runtime.webhooks)."""
    has_codes = hasattr(module, "event_codes")
    name = getattr(module, "WEBHOOK_EVENT_NAME", None)
    if not has_codes and name is None:
        return []
    where = f"{op.location}.handler: {op.handler_name}"
    if not has_codes:
        return [f"{where} defines WEBHOOK_EVENT_NAME but not event_codes(config)"]
    problems = _signature_problems(op, module, "event_codes", ("config",))
    if not isinstance(name, str) or not name:
        problems.append(f"{where} defines event_codes(config) but no WEBHOOK_EVENT_NAME "
                        "(the Webhook.svc/Retrieve EventCode name that verifies a code)")
    return problems


def _polling_source_problems(op: Operation, module: Any) -> list[str]:
    """The module is a TimeBasedSource or a MembershipSource (see :data:`POLLING_SOURCES`)."""
    for (name, parameters), constants in POLLING_SOURCES.values():
        if callable(getattr(module, name, None)):
            problems = _signature_problems(op, module, name, parameters)
            problems += [
                f"{op.location}.handler: {op.handler_name} must define {constant} "
                "(a non-empty string naming a record field)"
                for constant in constants
                if not isinstance(getattr(module, constant, None), str)
                or not getattr(module, constant)
            ]
            return problems
    wanted = " or ".join(
        f"{name}({', '.join(parameters)})" for (name, parameters), _ in POLLING_SOURCES.values()
    )
    return [f"{op.location}.handler: {op.handler_name} must define {wanted} (a polling source)"]


def _located(prefix: str, errors: Iterable[str]) -> list[str]:
    """``"$.a.b: m"`` -> ``"<prefix>.a.b: m"`` (``"$: m"`` -> ``"<prefix>: m"``)."""
    return [prefix + error[1:] for error in errors]


def _top_level(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Property names and required names of an object schema, including its allOf parts."""
    parts = [schema, *schema.get("allOf", [])]
    properties = {name for part in parts for name in part.get("properties", {})}
    required = {name for part in parts for name in part.get("required", [])}
    return properties, required
