"""Bad input is one line that names the place once and the right line of a YAML file.

Each case writes its files into a fresh folder (the current directory), runs one command and
compares everything it printed on stderr, literally.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]
HOST_FIX = "set api_host to your account's API host, e.g. api-in21.leadsquared.com"
QUOTE_FIX = "quote values that contain ':' or '#'"
KEYS = 'access_key: "a"\nsecret_key: "b"\n'


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    files: dict[str, str]
    line: str
    env: dict[str, str] = field(default_factory=dict)


CASES = (
    Case("api-host-scheme", ("auth", "test", "--connection", "c.yaml"),
         {"c.yaml": KEYS + 'api_host: "ftp://x"\n'},
         f"error: connection file c.yaml: api_host 'ftp://x' must use https ({HOST_FIX})"),
    Case("api-host-unknown", ("auth", "test", "--connection", "c.yaml"),
         {"c.yaml": KEYS + "api_host: api-xx.example.com\n"},
         "error: connection file c.yaml: api_host 'api-xx.example.com' is not a LeadSquared API "
         "host; known hosts: api.leadsquared.com, api-us11.leadsquared.com, "
         "api-in21.leadsquared.com, api-in22.leadsquared.com, api-ir31.leadsquared.com, "
         f"api-ca12.leadsquared.com, api-id51.leadsquared.com ({HOST_FIX})"),
    Case("api-host-env", ("auth", "test"), {},
         "error: environment: LSQ_API_HOST 'http://8.8.8.8' uses plain http; LeadSquared "
         "requires https (set LSQ_API_HOST to your account's API host, e.g. "
         "api-in21.leadsquared.com)",
         env={"LSQ_ACCESS_KEY": "a", "LSQ_SECRET_KEY": "b", "LSQ_API_HOST": "http://8.8.8.8"}),
    Case("connection-open-quote", ("auth", "test", "--connection", "c.yaml"),
         {"c.yaml": 'access_key: "a"\n\nsecret_key: "b\napi_host: x\n'},
         "error: connection file c.yaml is not valid YAML at line 3: a quoted value is not closed"
         f" ({QUOTE_FIX})"),
    Case("connection-open-bracket", ("auth", "test", "--connection", "c.yaml"),
         {"c.yaml": 'access_key: [1\nsecret_key: "b"\n'},
         f"error: connection file c.yaml is not valid YAML at line 1: a '[' is not closed "
         f"({QUOTE_FIX})"),
    Case("connection-colon", ("auth", "test", "--connection", "c.yaml"),
         {"c.yaml": "access_key: a\nsecret_key: b: c\n"},
         "error: connection file c.yaml is not valid YAML at line 2: mapping values are not "
         f"allowed here ({QUOTE_FIX})"),
    Case("workflow-missing", ("run", "missing.yaml"), {},
         "error: missing.yaml: cannot be read: No such file or directory"),
    Case("workflow-open-quote", ("run", "wf.yaml"),
         {"wf.yaml": 'name: x\ntrigger:\n  key: new_lead\nsteps:\n  - id: "a\n'
                     "    action: find_lead\n"},
         "error: invalid workflow file: wf.yaml:line 5: invalid YAML: a quoted value is not "
         "closed"),
    Case("workflow-open-brace", ("run", "wf.yaml"),
         {"wf.yaml": "name: x\ntrigger: {key: new_lead\nsteps: []\n"},
         "error: invalid workflow file: wf.yaml:line 2: invalid YAML: a '{' is not closed"),
    Case("workflow-quote-runs-on", ("run", "wf.yaml"),
         {"wf.yaml": 'name: "x\ntrigger:\n  key: new_lead\nsteps: "y"\nz: 1\n'},
         "error: invalid workflow file: wf.yaml:line 4: invalid YAML: did not find expected key "
         "(the quoted value from line 1 runs on; is its closing quote missing?)"),
    Case("workflow-empty-file-once", ("run", "wf.yaml"), {"wf.yaml": "\n"},
         "error: invalid workflow file: wf.yaml: a workflow must be a YAML mapping, not null"),
    Case("event-problem-once", ("run", str(ROOT / "examples" / "welcome_email.yaml"), "--event",
                                "ev.json"),
         {"ev.json": "[1]"},
         "error: --event ev.json is not a 'new_lead' event: $: [1] is not of type 'object' (an "
         "event has the shape of schemas/triggers/new_lead.output.json)"),
    Case("seed-open-bracket", ("sandbox", "--seed", "seed.yaml", "--port", "0"),
         {"seed.yaml": "tenants:\n  a: [1\n"},
         "error: seed seed.yaml is not valid YAML at line 2: a '[' is not closed"),
)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_one_line_naming_the_place_once(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert main(list(case.argv)) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", case.line + "\n")


def test_a_manifest_yaml_mistake_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in ("schemas", "operations", "triggers"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    lines = (ROOT / "connector.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(9, "oops: [1, 2\n")
    (tmp_path / "connector.yaml").write_text("".join(lines), encoding="utf-8")
    assert main(["validate", "--root", str(tmp_path), "--offline"]) == 1
    out, err = capsys.readouterr()
    assert out == "connector.yaml:10: a '[' is not closed\n"
    assert err == "connector.yaml: invalid — 1 problem\n"


@pytest.mark.parametrize(("text", "line", "what"), [
    ('a: "x\nb: 1\nc: 2\n', 1, "a quoted value is not closed"),
    ("a: [1, 2\nb: 1\n", 1, "a '[' is not closed"),
    ("a: {x: 1\nb: 1\n", 1, "a '{' is not closed"),
    ("name: x\nsteps: [\n", 2, "a '[' is not closed"),
    ("a: [1, [2, 3]\nb: 1\n", 1, "a '[' is not closed"),
    ("a: [1, b: c: d]\nz: 1\n", 1, "expected ',' or ']', but got ':'"),
    ("a:\n  x: 1\n y: 2\n", 3, "expected <block end>, but found '<block mapping start>'"),
    ("a: 1\nb\nc: 2\n", 2, "a key has no ':' after it"),
    ("a: 1\nb: x: y\n", 2, "mapping values are not allowed here"),
    ("a: *x\n", 1, "found undefined alias 'x'"),
], ids=["quote", "bracket", "brace", "bracket-at-end", "nested", "closed-bracket", "indent",
        "no-colon", "colon", "alias"])
def test_the_line_of_a_yaml_mistake(text: str, line: int, what: str) -> None:
    import yaml

    from runtime.inputs import yaml_problem

    with pytest.raises(yaml.YAMLError) as raised:
        yaml.safe_load(text)
    assert yaml_problem(raised.value, text) == (line, what)
