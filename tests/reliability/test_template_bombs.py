"""Template resource bombs are refused within 5 s and 200 MB, as mapping errors, and
``lsq validate`` reports those it can see (constant expressions, nesting).

The bombs run in a child process that measures each one's time and its peak memory (``VmHWM``;
``resource.getrusage`` would count the RSS of the process it was forked from). Before these
bounds, a few lines of integer arithmetic ran 50 s and reached 3.3 GB, and deeply nested
templates ended in RecursionError.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runtime.errors import MappingError
from runtime.workflows.templating import (
    MAX_INT_BITS,
    MAX_LOOP_ITERATIONS,
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_DEPTH,
    render_value,
    template_problems,
)

from .helpers import assert_contract, run_cli

SECONDS = 5.0
MEGABYTES = 200
ROOT = Path(__file__).parents[2]
SQUARES = "".join(f"{{% set a{i + 1} = a{i} * a{i} %}}" for i in range(24))
BIG = "'x' * 999999"

#: id -> (template, seen by lsq validate). The context: trigger.n = 2**2000, trigger.text and
#: .copy = a million characters, .emoji and .emoji2 = a million emoji (4 MB each), trigger.items =
#: 100,000 short strings.
BOMBS: dict[str, tuple[str, bool]] = {
    "squaring-constants": ("{% set a0 = 2**2000 %}" + SQUARES + "{{ a24 }}", True),
    "squaring-data": ("{% set a0 = trigger.n %}" + SQUARES + "{{ a24 }}", False),
    "power": ("{{ 9 ** 99999 }}", True),
    "power-tower": ("{{ 2 ** (2 ** (2 ** (2 ** 2))) }}", True),
    "power-of-data": ("{{ trigger.n ** 3 }}", False),
    "multiply-data": ("{{ trigger.n * trigger.n * trigger.n }}", False),
    "int-filter": ("{{ ('9' * 4000)|int }}", True),
    "repeat-text": ("{{ 'x' * 10**9 }}", True),
    "repeat-list": ("{{ [trigger] * 10**8 }}", False),
    "repeat-growing": ("{{ ('ab' * 500000) ~ ('ab' * 500000) }}", True),
    "loop-building": (f"{{% for i in 'x' * 9999 %}}{{{{ ({BIG})|length }}}}{{% endfor %}}",
                      False),
    "loop-slicing": ("{% for i in 'x' * 9999 %}{{ trigger.text[1:]|length }}{% endfor %}", False),
    "loop-splitting": ("{% for i in 'x' * 9999 %}{{ trigger.text.split('x')|length }}"
                       "{% endfor %}", False),
    "loop-upper": ("{% for i in 'x' * 9999 %}{{ trigger.text|upper|length }}{% endfor %}", False),
    "nested-loops": ("{% for a in 'x' * 9999 %}{% for b in 'y' * 9999 %}{% endfor %}{% endfor %}",
                     False),
    "loop-output": ("{% for i in 'x' * 9999 %}{{ 'y' * 999 }}{% endfor %}", False),
    "join": ("{{ trigger.items|join('x' * 99) }}", False),
    "replace-chain": ("{{ trigger.text|replace('x', 'xx')|replace('x', 'xx') }}", False),
    "tojson-loop": ("{% for i in 'x' * 9999 %}{{ trigger|tojson|length }}{% endfor %}", False),
    "loop-comparisons": ("{% for i in 'x' * 9999 %}{{ "
                         + " and ".join(["trigger.emoji == trigger.emoji2"] * 15)
                         + " }}{% endfor %}", False),  # stopped by MAX_RENDER_SECONDS
    "long-template": ("{{ " + " ~ ".join(["(trigger.text == trigger.copy)"] * 1500) + " }}",
                      True),
    "parentheses": ("{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}", True),
    "lists": ("{{ " + "[" * 2000 + "1" + "]" * 2000 + " }}", True),
    "minus-signs": ("{{ " + "-" * 2000 + "1 }}", True),
    "nots": ("{{ " + "not " * 2000 + "1 }}", True),
    "filter-chain": ("{{ 1" + "|string" * 2000 + " }}", True),
    "attribute-chain": ("{{ trigger" + ".a" * 2000 + " }}", True),
    "sum-chain": ("{{ 1" + " + 1" * 2000 + " }}", True),
    "nested-ifs": ("{% if 1 %}" * 500 + "x" + "{% endif %}" * 500, True),
    "nested-fors": ("{% for a in [1] %}" * 25 + "x" + "{% endfor %}" * 25, True),
}


def _peak_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` (``ru_maxrss`` would include the RSS of
    the process it was forked from, before ``exec``)."""
    import resource

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child() -> None:
    """In the child: render every bomb of the JSON on stdin; print times and peak memory."""
    import time

    bombs = json.load(sys.stdin)
    context = {"trigger": {"n": 2**2000, "text": "x" * 999_999, "copy": "x" * 999_999,
                           "emoji": "😀" * 999_999, "emoji2": "😀" * 999_999,
                           "items": ["item"] * 100_000}, "steps": {}}
    baseline = _peak_mb()
    report = {}
    for name, template in bombs.items():
        started = time.monotonic()
        try:
            render_value(template, context, location="bomb.input.x")
        except MappingError as refused:
            outcome = str(refused)
        else:
            outcome = "rendered"
        report[name] = {"seconds": time.monotonic() - started, "outcome": outcome}
    print(json.dumps({"bombs": report, "baseline_mb": baseline, "peak_mb": _peak_mb()}))


def test_bombs_are_refused_within_5_s_and_200_mb() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from tests.reliability.test_template_bombs import _child; "
                               "_child()"],
        input=json.dumps({name: template for name, (template, _) in BOMBS.items()}),
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["peak_mb"] < MEGABYTES, report
    for name, result in report["bombs"].items():
        assert result["outcome"].startswith("bomb.input.x: not allowed: "), (name, result)
        assert result["seconds"] < SECONDS, (name, result)


@pytest.mark.parametrize("name", [name for name, (_, static) in BOMBS.items() if static])
def test_lsq_validate_sees_the_constant_and_nested_bombs(name: str) -> None:
    template, _ = BOMBS[name]
    problems = template_problems(template, location="flow.yaml:bomb.input.x")
    assert len(problems) == 1 and "not allowed: " in problems[0], problems


@pytest.mark.parametrize("name", [name for name, (_, static) in BOMBS.items() if not static])
def test_data_dependent_bombs_pass_validation_and_fail_at_run_time(name: str) -> None:
    template, _ = BOMBS[name]
    assert template_problems(template, location="x") == []


def test_lsq_validate_reports_each_bomb_at_its_step(cli_env: Path) -> None:
    static = [name for name, (_, seen) in BOMBS.items() if seen]
    steps = [{"id": name.replace("-", "_"), "action": "find_lead", "on_error": "continue",
              "input": {"phone": BOMBS[name][0]}} for name in static]
    flow = cli_env / "bombs.yaml"
    flow.write_text(yaml.safe_dump({"name": "bombs", "trigger": {"key": "new_lead"},
                                    "steps": steps}), encoding="utf-8")
    result = run_cli(["validate", "--json", str(flow)])
    assert_contract(result)
    assert result.code == 1
    problems = json.loads(result.out)["workflows"][0]["problems"]
    for step in steps:
        assert any(f":{step['id']}.input.phone: not allowed: " in p for p in problems), step


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ " + "(" * MAX_TEMPLATE_DEPTH + "1" + ")" * MAX_TEMPLATE_DEPTH + " }}", 1),
    ("{% if 1 %}" * (MAX_TEMPLATE_DEPTH - 2) + "x" + "{% endif %}" * (MAX_TEMPLATE_DEPTH - 2),
     "x"),
    (f"{{{{ 2 ** {MAX_INT_BITS - 1} }}}}", 2 ** (MAX_INT_BITS - 1)),
    (f"{{{{ 2 ** {MAX_INT_BITS // 2 - 1} * 2 ** {MAX_INT_BITS // 2 - 1} }}}}",
     2 ** (MAX_INT_BITS - 2)),
    (f"{{{{ 'x' * {MAX_OUTPUT_CHARS} }}}}", "x" * MAX_OUTPUT_CHARS),
    (f"{{% for i in 'x' * {MAX_LOOP_ITERATIONS} %}}.{{% endfor %}}", "." * MAX_LOOP_ITERATIONS),
    ("{{ trigger.Tags|join(', ')|upper }}", "A, B"),
], ids=["brackets-at-the-limit", "blocks-near-the-limit", "power-at-the-limit",
        "product-at-the-limit", "output-at-the-limit", "loops-at-the-limit", "everyday"])
def test_templates_within_the_bounds_render(template: str, expected: object) -> None:
    assert template_problems(template, location="x") == []
    context = {"trigger": {"Tags": ["a", "b"]}, "steps": {}}
    assert render_value(template, context, location="x") == expected
