"""Contract tests: a cheap import, a stable public surface, the package layout."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import guardrails

HEAVY = ("spacy", "presidio_analyzer", "langchain", "langchain_core", "langgraph", "boto3", "botocore",
         "opentelemetry.sdk", "strands", "torch", "transformers", "hyperscan")


def _loaded_after(code: str) -> list[str]:
    probe = code + f"\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                       cwd=str(Path(__file__).resolve().parents[1]))
    assert r.returncode == 0, r.stderr
    return list(json.loads(r.stdout.strip().splitlines()[-1]))


def test_import_loads_nothing_heavy() -> None:
    assert _loaded_after("import guardrails\nfrom guardrails import Guard, Manifest, Event, Verdict") == []


def test_bare_import_does_not_load_pydantic_or_yaml() -> None:
    # the manifest models (pydantic) and the YAML loader load on first use of Guard/Manifest
    light = "import guardrails\nfrom guardrails import Event, Verdict, Action, Blocked\n"
    probe = light + "import sys, json\nprint(json.dumps([m for m in ('pydantic', 'yaml') if m in sys.modules]))\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_lazy_names_resolve_to_their_modules() -> None:
    from guardrails.guard import Guard
    from guardrails.manifest import Manifest

    assert guardrails.Guard is Guard
    assert guardrails.Manifest is Manifest
    assert set(guardrails.__all__) <= set(dir(guardrails))
    try:
        getattr(guardrails, "NoSuchName")
    except AttributeError as e:
        assert "NoSuchName" in str(e)
    else:
        raise AssertionError("unknown attribute did not raise")


def test_building_a_guard_and_checking_loads_no_framework() -> None:
    loaded = _loaded_after(
        "from guardrails import Guard, Event\n"
        "g = Guard.from_yaml('examples/perimeter.yaml')\n"
        "g.check(Event.tool_call(agent='support', tool='get_order', args={'order_id': 'AB12345678'}))\n"
    )
    # engines (Presidio's recognizers, the prefilter) may be built lazily on first use;
    # frameworks, cloud SDKs and the OTel SDK never are
    assert not {"langchain", "langchain_core", "langgraph", "boto3", "botocore", "opentelemetry.sdk",
                "strands", "torch", "transformers"} & set(loaded)


def test_public_api() -> None:
    expected = {"Guard", "Manifest", "Event", "Verdict", "Action", "Blocked", "Finding", "EventKind",
                "ToolCall", "ConfigError", "MissingDependency", "GuardrailError"}
    assert expected <= set(guardrails.__all__)
    for name in guardrails.__all__:
        assert hasattr(guardrails, name), name
    import inspect

    public = {n for n in dir(guardrails) if not n.startswith("_")
              and not inspect.ismodule(getattr(guardrails, n))}
    assert public - set(guardrails.__all__) <= {"annotations"}


def test_every_module_has_all() -> None:
    for mod in ("guardrails.events", "guardrails.verdict", "guardrails.errors", "guardrails.manifest",
                "guardrails.guard", "guardrails.state", "guardrails.screens.policy", "guardrails.cli"):
        m = importlib.import_module(mod)
        assert isinstance(getattr(m, "__all__", None), list), mod


def test_integrations_namespace_maps_to_integrations_dir() -> None:
    import guardrails.integrations as gi

    assert gi.__file__ is not None and gi.__file__.replace("\\", "/").endswith("integrations/__init__.py")


def test_errors_tree() -> None:
    from guardrails.errors import Blocked, ConfigError, GuardrailError, InputError, MissingDependency
    from guardrails.verdict import Verdict

    for cls in (ConfigError, MissingDependency, InputError, Blocked):
        assert issubclass(cls, GuardrailError)
    e = MissingDependency("langchain", "langchain")
    assert "agent-perimeter[langchain]" in str(e)
    assert Blocked(Verdict()).verdict == Verdict()


def test_readme_manifests_are_valid() -> None:
    import re

    from guardrails import Manifest

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith("version: 1")]
    assert len(blocks) >= 2
    for b in blocks:
        Manifest.from_yaml_text(b, source="README.md")


def test_readme_python_example_gives_the_documented_verdict() -> None:
    from guardrails import Action, Event, Guard

    root = Path(__file__).resolve().parents[1]
    guard = Guard.from_yaml(root / "examples" / "perimeter.yaml")
    verdict = guard.check(Event.tool_call(agent="support", run_id="r1", tool="send_email",
                                          args={"to": "bob@example.com", "body": "hi"}))
    assert verdict.action == Action.REVIEW  # approval: required, as the README says
