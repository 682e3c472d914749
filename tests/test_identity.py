"""Per-run AWS credentials: STS through moto, the session policy checked as a document.

moto does not enforce session policies, so the guarantee "a run never gets more than the manifest"
is tested on the policy document itself (including a hypothesis property over random manifests),
and the STS calls are checked for the exact parameters they carry.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails import ConfigError, GuardrailError, Manifest
from guardrails.identity import (
    MAX_SESSION_POLICY_CHARS,
    AwsCredentialBroker,
    role_session_name,
    session_policy,
    session_policy_json,
    session_tags,
    source_identity,
)

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

ROLE = "arn:aws:iam::123456789012:role/support-agent"
NAME_RE = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
TAG_RE = re.compile(r"[\w .:/=+@-]{0,256}", re.ASCII)


def _manifest(**aws: Any) -> Manifest:
    return Manifest.from_dict({
        "version": 1,
        "agents": {
            "support": {
                "tools": {"get_order": {}, "search_kb": {}, "send_email": {},
                          "never": {"limit": {"calls": 0}}},
                "credentials": {"aws": {
                    "role_arn": ROLE,
                    "duration": 900,
                    "region": "us-east-1",
                    "actions": {
                        "get_order": ["dynamodb:GetItem", "dynamodb:Query"],
                        "search_kb": ["bedrock:Retrieve"],
                        "never": ["s3:DeleteObject"],
                        "not_a_tool": ["iam:CreateUser"],
                    },
                    "resources": {
                        "get_order": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"],
                    },
                    **aws,
                }},
            },
            "nocreds": {"tools": {"x": {}}},
            "nomap": {"tools": {"x": {}}, "credentials": {"aws": {"role_arn": ROLE}}},
        },
    })


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)


def _pairs(doc: dict[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for s in doc["Statement"]:
        assert s["Effect"] == "Allow"
        assert set(s) == {"Effect", "Action", "Resource"}  # no NotAction / NotResource / Condition
        acts = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        res = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        out |= {(a, r) for a in acts for r in res}
    return out


# --------------------------------------------------------------------------- the policy document
def test_policy_maps_only_usable_tools_with_resources() -> None:
    doc = session_policy(_manifest(), "support")
    assert doc["Version"] == "2012-10-17"
    assert _pairs(doc) == {
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"),
        ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"),
        ("bedrock:Retrieve", "*"),
    }
    text = json.dumps(doc)
    assert "iam:CreateUser" not in text  # mapped to a tool the agent does not have
    assert "s3:DeleteObject" not in text  # a tool limited to 0 calls grants nothing


def test_no_mapped_action_means_deny_all() -> None:
    doc = session_policy(_manifest(), "nomap")
    assert doc["Statement"] == [
        {"Sid": "PerimeterNoMappedActions", "Effect": "Deny", "Action": "*", "Resource": "*"}
    ]


def test_unknown_agent_or_no_credentials_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not in the manifest"):
        session_policy(_manifest(), "ghost")
    with pytest.raises(ConfigError, match=r"no credentials\.aws"):
        session_policy(_manifest(), "nocreds")


def test_policy_too_large_fails_closed() -> None:
    actions = {f"tool{i}": [f"dynamodb:Action{i}x{j}" for j in range(10)] for i in range(20)}
    m = Manifest.from_dict({"version": 1, "agents": {"a": {
        "tools": {t: {} for t in actions},
        "credentials": {"aws": {"role_arn": ROLE, "actions": actions}},
    }}})
    with pytest.raises(ConfigError, match="2048-character limit"):
        session_policy(m, "a")


def test_statements_with_same_resources_are_merged_to_fit() -> None:
    # 60 tools each with one action on '*': merged into one statement
    actions = {f"t{i}": [f"s3:Get{i}"] for i in range(60)}
    m = Manifest.from_dict({"version": 1, "agents": {"a": {
        "tools": {t: {} for t in actions},
        "credentials": {"aws": {"role_arn": ROLE, "actions": actions}},
    }}})
    doc = session_policy(m, "a")
    assert len(doc["Statement"]) == 1
    assert len(session_policy_json(m, "a")) <= MAX_SESSION_POLICY_CHARS


@pytest.mark.parametrize("bad", ["*", "s3", "s3:Get Object", "S3 :Get", "s3:Get\"", ""])
def test_manifest_rejects_malformed_iam_actions(bad: str) -> None:
    with pytest.raises(ConfigError):
        Manifest.from_dict({"version": 1, "agents": {"a": {"tools": {"t": {}}, "credentials": {
            "aws": {"role_arn": ROLE, "actions": {"t": [bad]}}}}}})


def test_manifest_rejects_bad_resources_and_short_duration() -> None:
    with pytest.raises(ConfigError):
        Manifest.from_dict({"version": 1, "agents": {"a": {"tools": {"t": {}}, "credentials": {
            "aws": {"role_arn": ROLE, "resources": {"t": ["not an arn"]}}}}}})
    with pytest.raises(ConfigError):
        Manifest.from_dict({"version": 1, "agents": {"a": {"credentials": {
            "aws": {"role_arn": ROLE, "duration": 899}}}}})


# --------------------------------------------------------------------------- property: subset
_service = st.sampled_from(["s3", "dynamodb", "sqs", "bedrock", "lambda"])
_action = st.builds(lambda s, a: f"{s}:{a}", _service,
                    st.from_regex(r"[A-Z][a-zA-Z]{0,10}\*?", fullmatch=True))
_arn = st.builds(lambda s, n: f"arn:aws:{s}:::{n}", _service,
                 st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True))
_tool = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)


@st.composite
def _manifests(draw: Any) -> tuple[dict[str, Any], str]:
    tools = draw(st.lists(_tool, min_size=0, max_size=6, unique=True))
    mapped = draw(st.lists(_tool, min_size=0, max_size=6, unique=True)) + tools[: draw(
        st.integers(0, len(tools)))]
    actions = {t: draw(st.lists(_action, min_size=1, max_size=4)) for t in set(mapped)}
    resources = {t: draw(st.lists(st.one_of(_arn, st.just("*")), min_size=1, max_size=3))
                 for t in set(mapped) if draw(st.booleans())}
    limited = {t for t in tools if draw(st.integers(0, 4)) == 0}
    data = {"version": 1, "agents": {"a": {
        "tools": {t: ({"limit": {"calls": 0}} if t in limited else {}) for t in tools},
        "credentials": {"aws": {"role_arn": ROLE, "actions": actions, "resources": resources}},
    }}}
    return data, "a"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_manifests())
def test_property_session_policy_is_subset_of_manifest(case: tuple[dict[str, Any], str]) -> None:
    data, agent = case
    m = Manifest.from_dict(data)
    spec = data["agents"][agent]
    aws = spec["credentials"]["aws"]
    allowed: set[tuple[str, str]] = set()
    for tool, tp in spec["tools"].items():
        if tp.get("limit", {}).get("calls") == 0:
            continue
        for a in aws["actions"].get(tool, []):
            for r in aws["resources"].get(tool) or ["*"]:
                allowed.add((a, r))
    try:
        doc = session_policy(m, agent)
    except ConfigError as exc:
        assert "limit" in str(exc)  # the only reason to refuse: too large to express
        return
    assert len(session_policy_json(m, agent)) <= MAX_SESSION_POLICY_CHARS
    if doc["Statement"][0]["Effect"] == "Deny":
        assert not allowed
        return
    granted = _pairs(doc)
    # every granted (action, resource) is allowed by the manifest; a '*' resource is granted
    # only where the manifest listed '*' (or no resources) for a tool with that action
    for a, r in granted:
        if r == "*":
            assert (a, "*") in allowed, (a, r)
        else:
            assert (a, r) in allowed or (a, "*") in allowed, (a, r)
    # and nothing the manifest allows is lost (the policy is not accidentally empty)
    assert {a for a, _ in allowed} == {a for a, _ in granted}


# --------------------------------------------------------------------------- names and tags
@given(st.text(max_size=300), st.text(max_size=300))
def test_property_names_and_tags_fit_aws_rules(agent: str, run: str) -> None:
    assert NAME_RE.fullmatch(role_session_name(agent, run))
    sid = source_identity(agent, run)
    assert NAME_RE.fullmatch(sid) and not sid.lower().startswith("aws:")
    for tag in session_tags(agent, run):
        assert TAG_RE.fullmatch(tag["Value"])
        assert len(tag["Key"]) <= 128


def test_truncated_names_stay_distinct() -> None:
    long = "r" * 200
    assert role_session_name("support", long + "1") != role_session_name("support", long + "2")
    assert role_session_name("a/b", "x") != role_session_name("a_b", "x")


# --------------------------------------------------------------------------- STS through moto
def _capture(client: Any, op: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **kwargs: Any) -> None:
        seen.append(dict(params))

    client.meta.events.register(f"before-parameter-build.sts.{op}", hook)
    return seen


def test_assume_role_per_run_with_policy_tags_and_source_identity(
        aws_env: None, caplog: pytest.LogCaptureFixture) -> None:
    with moto.mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        calls = _capture(sts, "AssumeRole")
        broker = AwsCredentialBroker(_manifest(), sts_client=sts)
        caplog.set_level(logging.DEBUG, logger="guardrails.identity")
        c1 = broker.credentials("support", "run-1")
        c1_again = broker.credentials("support", "run-1")
        c2 = broker.credentials("support", "run/2 with spaces")
        assert c1 is c1_again  # cached per run
        assert c1.access_key_id != c2.access_key_id
        assert len(calls) == 2
        p = calls[0]
        assert p["RoleArn"] == ROLE
        assert p["DurationSeconds"] == 900
        assert json.loads(p["Policy"]) == session_policy(_manifest(), "support")
        assert p["RoleSessionName"] == role_session_name("support", "run-1")
        assert p["SourceIdentity"] == source_identity("support", "run-1")
        assert {t["Key"]: t["Value"] for t in p["Tags"]} == {
            "perimeter:agent": "support", "perimeter:run": "run-1"}
        assert NAME_RE.fullmatch(calls[1]["RoleSessionName"])
        # secrets never in repr or logs
        assert c1.secret_access_key not in repr(c1) and c1.session_token not in repr(c1)
        for rec in caplog.records:
            msg = rec.getMessage()
            assert c1.secret_access_key not in msg and c1.session_token not in msg
        # usable with boto3
        s = broker.session("support", "run-1")
        assert s.get_credentials().access_key == c1.access_key_id
        # the run ends: credentials are forgotten, a new run id gets new ones
        assert broker.end_run("run-1") == 1
        assert ("support", "run-1") not in broker.cached_runs()
        c3 = broker.credentials("support", "run-1")
        assert c3.access_key_id != c1.access_key_id
        assert len(calls) == 3


def test_run_context_manager_forgets_credentials(aws_env: None) -> None:
    with moto.mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        broker = AwsCredentialBroker(_manifest(), sts_client=sts)
        with broker.run("support", "r9") as session:
            assert session.get_credentials() is not None
            assert broker.cached_runs() == (("support", "r9"),)
        assert broker.cached_runs() == ()


def test_refresh_before_expiry(aws_env: None) -> None:
    with moto.mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        calls = _capture(sts, "AssumeRole")
        clock = [0.0]
        broker = AwsCredentialBroker(_manifest(), sts_client=sts, clock=lambda: clock[0])
        c1 = broker.credentials("support", "r")
        clock[0] = c1.expiration.timestamp() - 60  # inside the refresh margin
        c2 = broker.credentials("support", "r")
        assert len(calls) == 2 and c2.access_key_id != c1.access_key_id


def test_external_id_and_opt_outs(aws_env: None) -> None:
    with moto.mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        calls = _capture(sts, "AssumeRole")
        m = _manifest(external_id="ext-123", source_identity=False, session_tags=False)
        AwsCredentialBroker(m, sts_client=sts).credentials("support", "r")
        assert calls[0]["ExternalId"] == "ext-123"
        assert "SourceIdentity" not in calls[0] and "Tags" not in calls[0]


def test_web_identity(aws_env: None, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2ln\n")
    with moto.mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        calls = _capture(sts, "AssumeRoleWithWebIdentity")
        m = _manifest(web_identity_token_file=str(token))
        creds = AwsCredentialBroker(m, sts_client=sts).credentials("support", "r1")
        assert creds.access_key_id
        p = calls[0]
        assert p["WebIdentityToken"] == token.read_text().strip()
        assert json.loads(p["Policy"]) == session_policy(m, "support")
        assert "Tags" not in p and "SourceIdentity" not in p  # not parameters of this API


def test_web_identity_unsigned_client_from_base_session(aws_env: None, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("header.payload.signature")
    with moto.mock_aws():
        broker = AwsCredentialBroker(_manifest(web_identity_token_file=str(token)),
                                     base_session=boto3.Session(region_name="us-east-1"))
        assert broker.credentials("support", "r1").access_key_id


def test_missing_token_file_fails_closed(aws_env: None, tmp_path: Path) -> None:
    with moto.mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        broker = AwsCredentialBroker(_manifest(web_identity_token_file=str(tmp_path / "nope")),
                                     sts_client=sts)
        with pytest.raises(GuardrailError, match="token file"):
            broker.credentials("support", "r1")
        (tmp_path / "empty").write_text("  ")
        broker = AwsCredentialBroker(_manifest(web_identity_token_file=str(tmp_path / "empty")),
                                     sts_client=sts)
        with pytest.raises(GuardrailError, match="empty"):
            broker.credentials("support", "r1")


def test_sts_error_is_a_clear_error_without_parameters() -> None:
    class FailingSts:
        def assume_role(self, **kw: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": kw["Policy"]}},
                              "AssumeRole")

    broker = AwsCredentialBroker(_manifest(), sts_client=FailingSts())
    with pytest.raises(GuardrailError) as ei:
        broker.credentials("support", "r1")
    assert "AccessDenied" in str(ei.value)
    assert "dynamodb" not in str(ei.value)  # the policy / parameters are not echoed
    assert broker.cached_runs() == ()


def test_no_sts_call_when_policy_cannot_be_expressed() -> None:
    class Sts:
        called = False

        def assume_role(self, **kw: Any) -> Any:
            Sts.called = True
            raise AssertionError("must not be called")

    actions = {f"tool{i}": [f"dynamodb:Action{i}x{j}" for j in range(10)] for i in range(20)}
    m = Manifest.from_dict({"version": 1, "agents": {"a": {
        "tools": {t: {} for t in actions},
        "credentials": {"aws": {"role_arn": ROLE, "actions": actions}},
    }}})
    with pytest.raises(ConfigError):
        AwsCredentialBroker(m, sts_client=Sts()).credentials("a", "r")
    assert not Sts.called


def test_run_id_required() -> None:
    with pytest.raises(GuardrailError, match="run id"):
        AwsCredentialBroker(_manifest(), sts_client=object()).credentials("support", "")


# --------------------------------------------------------------------------- CLI
def _write(tmp_path: Path) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(
        "version: 1\n"
        "agents:\n"
        "  support:\n"
        "    tools: {get_order: {}, search_kb: {}}\n"
        "    credentials:\n"
        "      aws:\n"
        f"        role_arn: {ROLE}\n"
        "        actions: {get_order: [dynamodb:GetItem], other: [s3:GetObject]}\n"
        "        resources: {get_order: ['arn:aws:dynamodb:us-east-1:123456789012:table/orders']}\n"
        "  plain:\n"
        "    tools: {x: {}}\n"
    )
    return p


def test_cli_policy_aws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guardrails.cli import main

    path = _write(tmp_path)
    assert main(["policy", "aws", str(path), "--agent", "support"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc == session_policy(Manifest.from_yaml(path), "support")
    assert "ignored" in out.err and "other" in out.err
    assert main(["policy", "aws", str(path), "--agent", "plain"]) == 1
    assert "no credentials.aws" in capsys.readouterr().err
    assert main(["policy", "aws", str(path), "--agent", "support", "--compact"]) == 0
    assert capsys.readouterr().out.strip() == session_policy_json(Manifest.from_yaml(path), "support")


def test_cli_policy_aws_subprocess(tmp_path: Path) -> None:
    path = _write(tmp_path)
    r = subprocess.run([sys.executable, "-m", "guardrails.cli", "policy", "aws", str(path),
                        "--agent", "support"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Statement"][0]["Action"] == "dynamodb:GetItem"


def test_expired_credentials_of_unended_runs_are_dropped(aws_env: None) -> None:
    with moto.mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        clock = [0.0]
        broker = AwsCredentialBroker(_manifest(), sts_client=sts, clock=lambda: clock[0])
        c = broker.credentials("support", "old-run")
        clock[0] = c.expiration.timestamp() + 1
        broker.credentials("support", "new-run")
        assert broker.cached_runs() == (("support", "new-run"),)


def test_importing_adapters_and_identity_loads_no_sdk() -> None:
    code = ("import sys, guardrails.identity, guardrails.integrations.bedrock, "
            "guardrails.integrations.strands\n"
            "bad = [m for m in ('boto3', 'botocore', 'strands') if m in sys.modules]\n"
            "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
