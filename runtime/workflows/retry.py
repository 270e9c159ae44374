"""Retry a failed or interrupted run: from the start, or from a later step.

A retry is a new run linked to the one it retries (``retry_of``, ``retry_from`` in the run
history, origin ``retry``), with the recorded trigger event. From a later step, the steps
before it are not run again: their records are taken over (``reused_from``: the run where
they ran) and their recorded outputs are what later steps see as ``steps.<id>``.

Refused, each with one line naming the fix (:class:`RetryRefused`):

- a run that is not ``failed``, ``completed_with_errors`` or ``interrupted``, or an unknown id;
- a workflow whose name differs from the run's, or whose steps before the chosen one differ
  from the recorded ones (id and action): the records would not fit;
- a step before the chosen one that did not finish (``running``, ``not_run``), that failed
  and stops the run (``on_error: stop``), or whose action's output has secret fields (the
  history keeps them masked, so later steps would see ``***``);
- without ``confirm_ambiguous`` (``needs_confirmation``), a retry that would run again a step
  that may already have written to LeadSquared: one that failed with an ambiguous write, or
  that was running when the run was interrupted; or a run whose earlier retry is still
  ``running`` (it may be writing now, or its process stopped mid-step);
- a run with a retry that succeeded (it is done; retry that one's failures instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import ConfigurationError
from runtime.workflows.runner import Retry, RunRecord, StepRecord

if TYPE_CHECKING:
    from runtime.workflows.runner import WorkflowRunner
    from runtime.workflows.workflow import Workflow

RETRYABLE = ("failed", "completed_with_errors", "interrupted")
AMBIGUOUS = "ambiguous_write"
CONFIRM_HINT = (
    "check whether it did; --confirm-ambiguous (or the page's confirm box) retries anyway"
)


class RetryRefused(ConfigurationError):
    """A retry that cannot start as asked. ``needs_confirmation``: it would run again a step
    that may already have written; it starts with ``confirm_ambiguous``."""

    def __init__(
        self, message: str, *, hint: str | None = None, needs_confirmation: bool = False
    ) -> None:
        super().__init__(message, hint=hint)
        self.needs_confirmation = needs_confirmation


def failed_step(run: Mapping[str, Any]) -> str | None:
    """The id of the run's first step that failed or was cut off (the step to retry from)."""
    for step in run.get("steps", ()):
        if step["status"] in ("failed", "running"):
            return str(step["step_id"])
    return None


def plan_retry(
    run: Mapping[str, Any],
    workflow: Workflow,
    *,
    from_step: str | None = None,
    confirm_ambiguous: bool = False,
    masks_output: Callable[[str], bool] = lambda action: False,
) -> tuple[StepRecord, ...]:
    """Check a retry of ``run`` (a :meth:`HistoryStore.get_run` dict) with ``workflow``
    and return the records it takes over (the steps before ``from_step``).

    ``masks_output(action)``: whether the history keeps that action's output masked.
    Raises :class:`RetryRefused`.
    """
    run_id = run["id"]
    if run["status"] not in RETRYABLE:
        raise RetryRefused(
            f"run {run_id} is {run['status']}; only a failed, completed_with_errors or "
            "interrupted run can be retried")
    if workflow.name != run["workflow"] or workflow.trigger.key != run["trigger_key"]:
        raise RetryRefused(
            f"run {run_id} is of workflow '{run['workflow']}' ({run['trigger_key']}), not "
            f"'{workflow.name}' ({workflow.trigger.key})", hint="give the run's workflow file")
    ids = [step.id for step in workflow.steps]
    start = 0
    if from_step is not None:
        if from_step not in ids:
            shown = from_step if from_step.isprintable() else repr(from_step)[1:-1]
            raise RetryRefused(f"workflow '{workflow.name}' has no step '{shown[:100]}'",
                               hint=f"its steps: {', '.join(ids)}")
        start = ids.index(from_step)
    recorded = list(run.get("steps", ()))
    reused = tuple(_reuse(run_id, recorded, workflow, position, masks_output)
                   for position in range(start))
    if not confirm_ambiguous:
        for step in recorded[start:]:
            _refuse_if_ambiguous(run, step)
    return reused


def _reuse(
    run_id: int, recorded: list[Mapping[str, Any]], workflow: Workflow, position: int,
    masks_output: Callable[[str], bool],
) -> StepRecord:
    step = workflow.steps[position]
    if position >= len(recorded) or (recorded[position]["step_id"], recorded[position]["action"]
                                      ) != (step.id, step.action):
        raise RetryRefused(
            f"the workflow changed since run {run_id}: its step {position + 1} is now "
            f"'{step.id}' ({step.action})", hint="retry from the start, or from that step")
    old = recorded[position]
    if old["status"] in ("running", "not_run"):
        raise RetryRefused(f"step '{step.id}' did not finish in run {run_id}",
                           hint=f"retry from '{step.id}' or an earlier step")
    if old["status"] == "failed" and step.on_error != "continue":
        raise RetryRefused(f"step '{step.id}' failed in run {run_id} and stops the run",
                           hint=f"retry from '{step.id}' or an earlier step")
    if old["status"] == "succeeded" and masks_output(step.action):
        raise RetryRefused(
            f"step '{step.id}' ({step.action}) has secret output fields, which the history "
            "keeps masked, so later steps cannot reuse them",
            hint=f"retry from '{step.id}' or an earlier step")
    return StepRecord(
        step_id=step.id, action=step.action, status=old["status"],
        started_at=old.get("started_at"), finished_at=old.get("finished_at"),
        duration_ms=old.get("duration_ms"), input=old.get("input"), output=old.get("output"),
        error=old.get("error"), reused_from=old.get("reused_from") or run_id,
    )


def _refuse_if_ambiguous(run: Mapping[str, Any], step: Mapping[str, Any]) -> None:
    error = step.get("error") or {}
    if step["status"] == "failed" and error.get("category") == AMBIGUOUS:
        raise RetryRefused(
            f"step '{step['step_id']}' of run {run['id']} failed with an ambiguous write: its "
            "record may exist in LeadSquared", hint=CONFIRM_HINT, needs_confirmation=True)
    if step["status"] == "running" and run["status"] == "interrupted":
        raise RetryRefused(
            f"step '{step['step_id']}' was running when run {run['id']} was interrupted: it "
            "may have written to LeadSquared", hint=CONFIRM_HINT, needs_confirmation=True)


def retry_run(
    runner: WorkflowRunner,
    workflow: Workflow,
    run_id: int,
    *,
    from_step: str | None = None,
    confirm_ambiguous: bool = False,
) -> RunRecord:
    """Retry run ``run_id`` of ``runner``'s history with ``workflow``; the new run's record.

    Raises :class:`RetryRefused` (nothing recorded, nothing run) when the retry may not start.
    """
    history = runner.history
    if history is None:
        raise ConfigurationError("a retry needs the run history")
    run = history.get_run(run_id)
    if run is None:
        raise RetryRefused(f"no run with id {run_id}", hint="see `lsq runs list`")
    done = [other["id"] for other in run.get("retries", ()) if other["status"] == "succeeded"]
    if done:  # said first; start_retry checks again, atomically
        raise _already_retried(run_id, done[0])
    reused = plan_retry(run, workflow, from_step=from_step, confirm_ambiguous=confirm_ambiguous,
                        masks_output=runner.masks_output)
    started = history.start_retry(run_id, retry_from=from_step,
                                  after_unfinished=confirm_ambiguous)
    if started.run_id is None:
        if started.blocked_status == "succeeded":
            raise _already_retried(run_id, started.blocked_by)
        raise RetryRefused(
            f"run {run_id} has a retry still running (run {started.blocked_by}): it may be "
            "writing now, or its process stopped mid-step", hint=CONFIRM_HINT,
            needs_confirmation=True)
    record = runner.run(
        workflow, run["event"] or {}, origin="retry", instance_id=run["instance_id"],
        retry=Retry(started.run_id, run_id, from_step, reused),
    )
    assert record is not None  # a retry has no event key: never skipped
    return record


def _already_retried(run_id: int, retry: int | None) -> RetryRefused:
    return RetryRefused(f"run {run_id} was already retried: run {retry} succeeded")


__all__ = ["RETRYABLE", "RetryRefused", "failed_step", "plan_retry", "retry_run"]
