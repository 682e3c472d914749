"""Short-lived, least-privilege cloud credentials derived from the manifest.

For an agent whose manifest entry has ``credentials.aws``, :class:`AwsCredentialBroker` calls STS
``AssumeRole`` (or ``AssumeRoleWithWebIdentity`` for OIDC workload identity) once per run and
scopes the session with an inline **session policy derived from the manifest**: for every tool the
agent may use, the IAM actions the manifest maps to that tool, on the resources it lists (``*``
when none). The effective permissions of a session are the intersection of the role's policies and
the session policy, so the cloud permission set can never exceed the manifest.

Rules the derivation follows (all fail closed):

- a tool that is not in the agent's ``tools`` (or whose ``limit`` is 0 calls) contributes nothing;
- an agent with no mapped action gets an explicit deny-all policy (credentials that can do nothing);
- the policy is written compactly, statements with identical resources are merged, and if it is
  still over AWS's 2,048-character limit for inline session policies a :class:`ConfigError` is
  raised instead of calling STS with a weaker policy;
- ``RoleSessionName`` and ``SourceIdentity`` are built from the agent and run and sanitized to AWS's
  charset (``[\\w+=,.@-]``, 2-64 characters; a hash keeps truncated names distinct), session tags
  (``perimeter:agent``, ``perimeter:run``) are sanitized to the tag charset and length.

Credentials are cached per (agent, run) and dropped by :meth:`AwsCredentialBroker.end_run` (or at
the end of :meth:`AwsCredentialBroker.run`); a cached set is refreshed shortly before it expires.
Secrets are never logged, never in ``repr`` and never put on spans. boto3 is imported lazily.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ConfigError, GuardrailError, MissingDependency
from .manifest import AgentPolicy, AwsCredentials, Manifest

__all__ = [
    "MAX_SESSION_POLICY_CHARS",
    "AwsCredentialBroker",
    "AwsSessionCredentials",
    "aws_credentials_for",
    "role_session_name",
    "session_policy",
    "session_policy_json",
    "session_tags",
    "source_identity",
]

log = logging.getLogger("guardrails.identity")

#: AWS: "The plaintext that you use for both inline and managed session policies can't exceed
#: 2,048 characters." (STS AssumeRole, parameter Policy).
MAX_SESSION_POLICY_CHARS = 2048
_POLICY_VERSION = "2012-10-17"
_NAME_BAD = re.compile(r"[^\w+=,.@-]", re.ASCII)
_TAG_BAD = re.compile(r"[^\w .:/=+@-]", re.ASCII)
DENY_ALL: dict[str, Any] = {
    "Version": _POLICY_VERSION,
    "Statement": [{"Sid": "PerimeterNoMappedActions", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}


# --------------------------------------------------------------------------- names and tags
def _digest(*parts: str) -> str:
    h = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return h[:8]


def _clean(text: str) -> str:
    return _NAME_BAD.sub("-", text)


def role_session_name(agent: str, run_id: str) -> str:
    """``RoleSessionName`` for (agent, run): AWS charset ``[\\w+=,.@-]``, 2-64 characters.

    Readable prefix from the agent and run, plus 8 hex of a hash of both so two runs whose names
    were truncated or sanitized to the same text still get distinct session names."""
    digest = _digest(agent, run_id)
    a = _clean(agent)[:24] or "agent"
    r = _clean(run_id)[:30] or "run"
    return f"{a}.{r}.{digest}"[:64]


def source_identity(agent: str, run_id: str) -> str:
    """``SourceIdentity`` (persists through role chaining and into CloudTrail): the agent's name
    and run, same charset and length rules as the session name."""
    digest = _digest(agent, run_id)
    a = _clean(agent)[:30] or "agent"
    r = _clean(run_id)[:22] or "run"
    return f"{a}@{r}.{digest}"[:64]


def _tag_value(text: str) -> str:
    v = _TAG_BAD.sub("_", text)
    if len(v) > 256:
        v = v[:247] + "." + _digest(text)
    return v


def session_tags(agent: str, run_id: str) -> list[dict[str, str]]:
    """Session tags ``perimeter:agent`` and ``perimeter:run`` (values sanitized, at most 256)."""
    return [
        {"Key": "perimeter:agent", "Value": _tag_value(agent)},
        {"Key": "perimeter:run", "Value": _tag_value(run_id)},
    ]


# --------------------------------------------------------------------------- the session policy
def _resolve(manifest: Manifest | AgentPolicy, agent: str | None) -> AgentPolicy:
    if isinstance(manifest, AgentPolicy):
        return manifest
    if agent is None:
        raise ConfigError("session_policy needs the agent name")
    policy = manifest.agent(agent)
    if policy is None:
        raise ConfigError(f"agent {agent!r} is not in the manifest", key=f"agents.{agent}")
    return policy


def aws_credentials_for(manifest: Manifest | AgentPolicy, agent: str | None = None) -> AwsCredentials:
    """The agent's ``credentials.aws`` block, or a ConfigError naming what is missing."""
    policy = _resolve(manifest, agent)
    aws = policy.credentials.aws if policy.credentials is not None else None
    if aws is None:
        raise ConfigError(f"agent {policy.name!r} has no credentials.aws in the manifest",
                          key=f"agents.{policy.name}.credentials.aws")
    return aws


def _usable_tools(policy: AgentPolicy) -> list[str]:
    out = []
    for name, tp in policy.tools.items():
        if tp.limit is not None and tp.limit.calls == 0:
            continue  # a tool that may never be called grants nothing
        out.append(name)
    return sorted(out)


def session_policy(manifest: Manifest | AgentPolicy, agent: str | None = None) -> dict[str, Any]:
    """The inline session policy for ``agent``: only the IAM actions mapped to tools the agent may
    use, on the resources listed for that tool (``*`` when none). Deny-all when nothing maps.

    Raises ConfigError when the agent has no ``credentials.aws`` or the policy cannot be expressed
    within AWS's size limit (the caller must not fall back to a broader policy)."""
    policy = _resolve(manifest, agent)
    aws = aws_credentials_for(policy)
    # resources tuple -> set of actions; statements with the same resources are merged
    grouped: dict[tuple[str, ...], set[str]] = {}
    for tool in _usable_tools(policy):
        actions = aws.actions.get(tool)
        if not actions:
            continue
        resources = tuple(sorted(set(aws.resources.get(tool) or ("*",))))
        if "*" in resources:
            resources = ("*",)
        grouped.setdefault(resources, set()).update(actions)
    if not grouped:
        deny: dict[str, Any] = json.loads(json.dumps(DENY_ALL))
        return deny
    statements: list[dict[str, Any]] = []
    for resources, action_set in sorted(grouped.items()):
        acts = sorted(action_set)
        statements.append({
            "Effect": "Allow",
            "Action": acts[0] if len(acts) == 1 else acts,
            "Resource": resources[0] if len(resources) == 1 else list(resources),
        })
    doc = {"Version": _POLICY_VERSION, "Statement": statements}
    size = len(_compact(doc))
    if size > MAX_SESSION_POLICY_CHARS:
        raise ConfigError(
            f"the session policy derived for agent {policy.name!r} is {size} characters, over AWS's "
            f"{MAX_SESSION_POLICY_CHARS}-character limit for inline session policies; use action "
            "wildcards (e.g. 's3:Get*') or fewer resources",
            key=f"agents.{policy.name}.credentials.aws",
        )
    return doc


def _compact(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=False)


def session_policy_json(manifest: Manifest | AgentPolicy, agent: str | None = None) -> str:
    """:func:`session_policy` as the compact JSON string sent as the STS ``Policy`` parameter."""
    return _compact(session_policy(manifest, agent))


# --------------------------------------------------------------------------- credentials
@dataclass(frozen=True)
class AwsSessionCredentials:
    """Temporary credentials of one (agent, run). Secrets are kept out of ``repr``."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    agent: str
    run_id: str
    role_arn: str
    session_name: str
    region: str | None = None
    policy: str = field(default="", repr=False)

    def expires_in(self, now: float | None = None) -> float:
        t = time.time() if now is None else now
        return self.expiration.timestamp() - t

    def boto3_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.Session(**kwargs)`` / ``boto3.client(...)``."""
        out = {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }
        if self.region:
            out["region_name"] = self.region
        return out


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise MissingDependency("boto3", "bedrock") from None
    return boto3


class AwsCredentialBroker:
    """Issues per-run AWS credentials scoped by the manifest.

    ``sts_client`` (optional) is used for ``AssumeRole``; otherwise one is created from
    ``base_session`` (a boto3 Session, default: the default credential chain) in the agent's
    ``region``. ``AssumeRoleWithWebIdentity`` is used when the agent sets
    ``web_identity_token_file``; that call is unsigned (no static keys needed) and the token is
    re-read on every call because orchestrators rotate it.
    """

    def __init__(
        self,
        manifest: Manifest,
        *,
        sts_client: Any = None,
        base_session: Any = None,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 120.0,
    ) -> None:
        self.manifest = manifest
        self._sts = sts_client
        self._base_session = base_session
        self._clock = clock
        self._margin = refresh_margin
        self._cache: dict[tuple[str, str], AwsSessionCredentials] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public
    def credentials(self, agent: str, run_id: str) -> AwsSessionCredentials:
        """Credentials for (agent, run), cached for the run; refreshed shortly before expiry."""
        if not run_id:
            raise GuardrailError("a run id is required: credentials are scoped to one run")
        key = (agent, run_id)
        now = self._clock()
        with self._lock:
            # expired credentials of runs nobody ended are dropped, never reused
            for k in [k for k, c in self._cache.items() if c.expires_in(now) <= 0]:
                del self._cache[k]
            cached = self._cache.get(key)
            if cached is not None and cached.expires_in(now) > self._margin:
                return cached
        creds = self._assume(agent, run_id)
        with self._lock:
            self._cache[key] = creds
        return creds

    def session(self, agent: str, run_id: str) -> Any:
        """A ``boto3.Session`` holding the run's credentials."""
        return _boto3().Session(**self.credentials(agent, run_id).boto3_kwargs())

    def end_run(self, run_id: str) -> int:
        """Forget every cached credential of ``run_id``; returns how many were dropped."""
        with self._lock:
            keys = [k for k in self._cache if k[1] == run_id]
            for k in keys:
                del self._cache[k]
        return len(keys)

    @contextmanager
    def run(self, agent: str, run_id: str) -> Iterator[Any]:
        """``with broker.run("support", run_id) as session:`` a boto3 Session for the run,
        forgotten when the block exits."""
        try:
            yield self.session(agent, run_id)
        finally:
            self.end_run(run_id)

    def cached_runs(self) -> tuple[tuple[str, str], ...]:
        with self._lock:
            return tuple(self._cache)

    # ------------------------------------------------------------------ internals
    def _client(self, aws: AwsCredentials, *, unsigned: bool) -> Any:
        if self._sts is not None:
            return self._sts
        boto3 = _boto3()
        session = self._base_session or boto3.session.Session()
        kwargs: dict[str, Any] = {}
        if aws.region:
            kwargs["region_name"] = aws.region
        if unsigned:
            from botocore import UNSIGNED
            from botocore.config import Config

            kwargs["config"] = Config(signature_version=UNSIGNED)
        return session.client("sts", **kwargs)

    def _assume(self, agent: str, run_id: str) -> AwsSessionCredentials:
        policy = self.manifest.agent(agent)
        if policy is None:
            raise ConfigError(f"agent {agent!r} is not in the manifest", key=f"agents.{agent}")
        aws = aws_credentials_for(policy)
        doc = session_policy_json(policy)  # raises before any STS call if it cannot be expressed
        name = role_session_name(agent, run_id)
        params: dict[str, Any] = {
            "RoleArn": aws.role_arn,
            "RoleSessionName": name,
            "DurationSeconds": max(900, int(aws.duration)),
            "Policy": doc,
        }
        if aws.web_identity_token_file:
            op = "AssumeRoleWithWebIdentity"
            try:
                token = Path(aws.web_identity_token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise GuardrailError(
                    f"cannot read the web identity token file for agent {agent!r} ({exc.strerror})"
                ) from None
            if not token:
                raise GuardrailError(f"the web identity token file for agent {agent!r} is empty")
            params["WebIdentityToken"] = token
            client = self._client(aws, unsigned=True)
            call = client.assume_role_with_web_identity
        else:
            op = "AssumeRole"
            if aws.external_id:
                params["ExternalId"] = aws.external_id
            if aws.source_identity:
                params["SourceIdentity"] = source_identity(agent, run_id)
            if aws.session_tags:
                params["Tags"] = session_tags(agent, run_id)
            client = self._client(aws, unsigned=False)
            call = client.assume_role
        try:
            resp = call(**params)
        except Exception as exc:  # noqa: BLE001 - botocore errors; never echo parameters
            code = _error_code(exc)
            raise GuardrailError(
                f"{op} for agent {agent!r} failed ({code}); no credentials issued"
            ) from None
        c = resp.get("Credentials") or {}
        try:
            exp = c["Expiration"]
            if not isinstance(exp, datetime):
                exp = datetime.fromisoformat(str(exp).replace("Z", "+00:00"))
            if exp.tzinfo is None:
                exp = exp.replace(tzinfo=timezone.utc)
            creds = AwsSessionCredentials(
                access_key_id=str(c["AccessKeyId"]),
                secret_access_key=str(c["SecretAccessKey"]),
                session_token=str(c["SessionToken"]),
                expiration=exp,
                agent=agent,
                run_id=run_id,
                role_arn=aws.role_arn,
                session_name=name,
                region=aws.region,
                policy=doc,
            )
        except (KeyError, TypeError, ValueError):
            raise GuardrailError(f"{op} for agent {agent!r} returned no usable credentials") from None
        log.info("issued %s credentials for agent %s (session %s, expires %s)",
                 op, agent, name, creds.expiration.isoformat())
        return creds


def _error_code(exc: BaseException) -> str:
    resp = getattr(exc, "response", None)
    if isinstance(resp, Mapping):
        err = resp.get("Error")
        if isinstance(err, Mapping) and err.get("Code"):
            return str(err["Code"])
    return type(exc).__name__
