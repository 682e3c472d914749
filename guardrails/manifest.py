"""The role manifest: what each agent may do, as validated, frozen pydantic models.

Loading is strict because a policy file that silently means something else is a security bug:
unknown keys, duplicate keys, wrong types and bad patterns are all errors that name the file,
the line and the dotted key, and suggest the closest valid key for a typo.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .events import EventKind

__all__ = [
    "AgentPolicy",
    "AgentSpec",
    "AnomalySettings",
    "ArgRule",
    "AwsCredentials",
    "Budget",
    "Credentials",
    "Defaults",
    "InjectionSettings",
    "Limit",
    "Manifest",
    "Peers",
    "RedactSettings",
    "TaintSettings",
    "ToolPolicy",
    "parse_window",
]

ActionName = Literal["allow", "redact", "review", "block"]
OnError = Literal["block", "allow"]
KindName = Literal["input", "model_output", "tool_call", "tool_result", "message", "output"]
UntrustedAction = Literal["allow", "review", "block"]

_WINDOW = re.compile(r"^(?:run|([1-9][0-9]{0,6})(s|m|h|d))$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(per: str) -> float | None:
    """``run`` -> None (the whole run); ``10s``/``1m``/``2h``/``1d`` -> seconds."""
    m = _WINDOW.match(per)
    if not m:
        raise ValueError(f"invalid window {per!r}: use 'run' or a number with s, m, h or d (e.g. 1m)")
    if m.group(1) is None:
        return None
    return float(int(m.group(1)) * _UNITS[m.group(2)])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- argument rules
ArgType = Literal["string", "integer", "number", "boolean", "array", "object", "null", "any"]


class ArgRule(_Model):
    """Constraints on one argument value. Constraints on strings (``pattern``, ``one_of``,
    ``max_length``, ``domains``) apply to every string inside a list or object value unless
    ``items`` / ``properties`` say otherwise: nested values are checked, never skipped."""

    type: ArgType | None = None
    pattern: str | None = Field(None, description="regular expression the WHOLE value must match")
    one_of: tuple[str | int | Annotated[float, Field(allow_inf_nan=False)] | bool, ...] | None = None
    min: float | None = Field(None, allow_inf_nan=False)  # NaN would silently disable the bound
    max: float | None = Field(None, allow_inf_nan=False)
    min_length: int | None = Field(None, ge=0)
    max_length: int | None = Field(None, ge=0)
    max_items: int | None = Field(None, ge=0)
    domains: tuple[str, ...] | None = Field(
        None, description="e-mail addresses / URLs must be on one of these domains (or a subdomain)"
    )
    required: bool = False
    items: ArgRule | None = None
    properties: dict[str, ArgRule] | Literal["any"] | None = None
    restore: tuple[str, ...] = Field(
        (), description="entity types whose pseudonyms are restored for this argument"
    )
    untrusted: UntrustedAction | None = Field(
        None, description="what to do when this value came only from untrusted content"
    )
    description: str | None = None

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, v: str | None) -> str | None:
        if v is not None:
            from ._patterns import compile_full

            compile_full(v)  # raises ValueError with the reason
        return v

    @field_validator("domains")
    @classmethod
    def _check_domains(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is None:
            return v
        from ._net import normalize_domain

        out = []
        for d in v:
            nd = normalize_domain(d.lstrip("*").lstrip(".")) if isinstance(d, str) else None
            if nd is None:
                hint = " (write the host name only, e.g. example.com)" if "/" in str(d) or "@" in str(d) else ""
                raise ValueError(f"invalid domain {d!r}{hint}")
            if "." not in nd and nd != "localhost":
                raise ValueError(f"domain {d!r} is a top-level domain: it would allow every site under "
                                 "it; list the registrable domain (e.g. example.com)")
            out.append(nd)
        return tuple(out)

    @model_validator(mode="after")
    def _check_bounds(self) -> ArgRule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError("min_length is greater than max_length")
        # rules that no value can satisfy are mistakes, not policies
        text = [k for k in ("pattern", "domains", "min_length", "max_length") if getattr(self, k) is not None]
        num = [k for k in ("min", "max") if getattr(self, k) is not None]
        if text and num:
            raise ValueError(f"{text[0]} applies to strings and {num[0]} to numbers: no value can "
                             "satisfy both (split them, or use one_of)")
        if text and self.type in ("integer", "number", "boolean", "null"):
            raise ValueError(f"{text[0]} applies to strings, but type is {self.type}")
        if num and self.type in ("string", "boolean", "null"):
            raise ValueError(f"{num[0]} applies to numbers, but type is {self.type}")
        if self.items is not None and self.type not in (None, "array"):
            raise ValueError(f"items describes the elements of an array, but type is {self.type}")
        if self.properties is not None and self.type not in (None, "object"):
            raise ValueError(f"properties describes an object, but type is {self.type}")
        if self.items is not None and self.properties is not None:
            raise ValueError("a value cannot be both an array (items) and an object (properties)")
        if self.one_of is not None and not self.one_of:
            raise ValueError("one_of is empty, so no value would be allowed (remove the tool instead)")
        return self


class Limit(_Model):
    calls: int = Field(..., ge=0)
    per: str = "run"

    @field_validator("per")
    @classmethod
    def _check_per(cls, v: str) -> str:
        parse_window(v)
        return v

    @property
    def window(self) -> float | None:
        return parse_window(self.per)


class Budget(_Model):
    tool_calls: int = Field(..., ge=0)
    per: str = "run"

    _check_per = field_validator("per")(Limit._check_per.__func__)  # type: ignore[attr-defined]

    @property
    def window(self) -> float | None:
        return parse_window(self.per)


class ToolPolicy(_Model):
    description: str | None = None
    args: dict[str, ArgRule] | Literal["any"] = Field(default_factory=dict)
    approval: Literal["required", "never"] = "never"
    limit: Limit | None = None
    untrusted_args: UntrustedAction | dict[str, UntrustedAction] | None = None
    restore: tuple[str, ...] = Field(
        (), description="entity types whose pseudonyms may be restored in this tool's arguments"
    )


class Peers(_Model):
    send: tuple[str, ...] = ()
    receive: tuple[str, ...] = ()


class InjectionSettings(_Model):
    action: ActionName = "block"
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    thresholds: dict[KindName, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict, description="per event kind; overrides threshold"
    )
    on: tuple[KindName, ...] = ("input", "tool_result", "message")
    on_error: OnError | None = None
    enabled: bool = True

    def threshold_for(self, kind: EventKind | str) -> float:
        value: float = self.thresholds.get(str(kind), self.threshold)  # type: ignore[call-overload]
        return value


class RedactSettings(_Model):
    entities: tuple[str, ...] = (
        "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "SECRET",
    )
    operator: Literal["replace", "mask", "hash", "pseudonym"] = "replace"
    on: tuple[KindName, ...] = ("tool_result", "message", "output")
    scope: Literal["run", "tenant"] = "run"
    score_threshold: float = Field(0.5, ge=0.0, le=1.0)
    ner: bool = False
    check_tool_args: bool = Field(True, description="flag secrets in outgoing tool arguments")
    on_error: OnError | None = None
    enabled: bool = True


class TaintSettings(_Model):
    """Defaults for values that reach tool arguments from untrusted content."""

    default: UntrustedAction = "allow"
    flagged: UntrustedAction = Field(
        "block", description="a value taken from a span the injection screen flagged"
    )
    min_length: int = Field(4, ge=1)
    injected: UntrustedAction = Field(
        "review",
        description="a sink value (address, URL, IBAN, phone; any value of a destructive tool) from "
        "a tool output that carried an injection, or seen nowhere in a run that saw one",
    )
    unseen: UntrustedAction = Field(
        "allow", description="a sink value that appeared in no content of the run"
    )
    sinks: tuple[Literal["email", "url", "domain", "iban", "phone", "file", "id", "number"], ...] = (
        "email", "url", "domain", "iban", "phone",
    )
    destructive: tuple[str, ...] = Field(
        ("delete", "remove", "erase", "purge", "destroy", "wipe", "drop", "revoke", "unlink"),
        description="a tool whose name has one of these words is a sink for every argument",
    )
    flag_window: int = Field(400, ge=0, le=10000, description="characters around a flagged span "
                             "that count as part of the injected instructions")
    scopes: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="named per-task tool scopes a run can bind to"
    )
    out_of_scope: UntrustedAction = "block"
    follow: UntrustedAction = Field(
        "review", description="a call whose tool is named by flagged instructions and not by the user"
    )
    max_pieces: int = Field(128, ge=1, le=100000, description="content pieces remembered per run")
    max_text: int = Field(16384, ge=256, description="characters of each piece kept for matching")
    on_error: OnError | None = None
    enabled: bool = True


class AnomalySettings(_Model):
    """Behaviour that no single rule catches: probing (repeated denials) and bursts."""

    max_denials: int | None = Field(
        5, ge=1, description="after this many blocked steps in a run, its further tool calls are blocked"
    )
    denial_action: UntrustedAction = "block"
    burst_calls: int | None = Field(None, ge=1, description="tool calls per burst_per window, per agent")
    burst_per: str = "10s"
    burst_action: UntrustedAction = "review"
    on_error: OnError | None = None
    enabled: bool = True

    @field_validator("burst_per")
    @classmethod
    def _check_per(cls, v: str) -> str:
        if parse_window(v) is None:
            raise ValueError("burst_per must be a time window such as 10s or 1m, not 'run'")
        return v


class AwsCredentials(_Model):
    role_arn: str
    duration: int = Field(900, ge=900, le=43200)
    region: str | None = None
    external_id: str | None = None
    web_identity_token_file: str | None = None
    actions: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    resources: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    source_identity: bool = Field(
        True, description="set SourceIdentity (the role's trust policy must allow sts:SetSourceIdentity)"
    )
    session_tags: bool = Field(
        True, description="tag the session with agent and run (trust policy must allow sts:TagSession)"
    )

    @field_validator("actions")
    @classmethod
    def _actions(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for tool, acts in v.items():
            for a in acts:
                if not re.fullmatch(r"[a-z0-9-]{1,64}:[A-Za-z0-9*?]{1,128}", a):
                    raise ValueError(
                        f"tool {tool!r}: {a!r} is not an IAM action like 's3:GetObject' "
                        "(a bare '*' is not allowed; use 'service:*')"
                    )
        return v

    @field_validator("resources")
    @classmethod
    def _resources(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for tool, arns in v.items():
            for r in arns:
                if r != "*" and not re.fullmatch(r"arn:[^\s\"]{3,2000}", r):
                    raise ValueError(f"tool {tool!r}: {r!r} is not a resource ARN or '*'")
        return v

    @field_validator("role_arn")
    @classmethod
    def _arn(cls, v: str) -> str:
        if not re.fullmatch(r"arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}", v):
            raise ValueError(f"not an IAM role ARN: {v!r}")
        return v


class Credentials(_Model):
    aws: AwsCredentials | None = None


class Defaults(_Model):
    on_error: OnError = "block"
    mode: Literal["enforce", "shadow"] = "enforce"
    injection: InjectionSettings = Field(default_factory=InjectionSettings)
    redact: RedactSettings = Field(default_factory=RedactSettings)
    taint: TaintSettings = Field(default_factory=TaintSettings)
    anomaly: AnomalySettings = Field(default_factory=AnomalySettings)
    run_ttl: int = Field(86400, ge=1, description="seconds of inactivity after which run state expires")


class AgentSpec(_Model):
    """An agent as written in the file; unset fields come from ``defaults``."""

    description: str | None = None
    tools: dict[str, ToolPolicy | None] = Field(default_factory=dict)
    peers: Peers = Field(default_factory=Peers)
    budget: Budget | None = None
    credentials: Credentials | None = None
    on_error: OnError | None = None
    mode: Literal["enforce", "shadow"] | None = None
    injection: dict[str, Any] | None = None
    redact: dict[str, Any] | None = None
    taint: dict[str, Any] | None = None
    anomaly: dict[str, Any] | None = None

    @field_validator("injection", "redact", "taint", "anomaly")
    @classmethod
    def _partial(cls, v: dict[str, Any] | None, info: Any) -> dict[str, Any] | None:
        if v is None:
            return v
        model: type[BaseModel] = _PARTIALS[info.field_name]
        model.model_validate(v)  # validate the partial override on its own (all fields default)
        return v


class AgentPolicy(_Model):
    """An agent's effective policy: its spec merged with the manifest defaults."""

    name: str
    description: str | None = None
    tools: dict[str, ToolPolicy]
    peers: Peers
    budget: Budget | None
    credentials: Credentials | None
    on_error: OnError
    mode: Literal["enforce", "shadow"]
    injection: InjectionSettings
    redact: RedactSettings
    taint: TaintSettings
    anomaly: AnomalySettings
    run_ttl: int

    def on_error_for(self, check: str) -> OnError:
        settings = getattr(self, check, None)
        specific = getattr(settings, "on_error", None)
        return specific or self.on_error


class Manifest(_Model):
    version: Literal[1] = 1
    defaults: Defaults = Field(default_factory=Defaults)
    agents: dict[str, AgentSpec] = Field(default_factory=dict)
    source: str | None = Field(None, exclude=True, description="where it was loaded from")

    # ------------------------------------------------------------------ resolution
    @cached_property
    def _policies(self) -> dict[str, AgentPolicy]:
        out: dict[str, AgentPolicy] = {}
        d = self.defaults
        for name, spec in self.agents.items():
            out[name] = AgentPolicy(
                name=name,
                description=spec.description,
                tools={t: (p if p is not None else ToolPolicy()) for t, p in spec.tools.items()},
                peers=spec.peers,
                budget=spec.budget,
                credentials=spec.credentials,
                on_error=spec.on_error or d.on_error,
                mode=spec.mode or d.mode,
                injection=_merge(d.injection, spec.injection),
                redact=_merge(d.redact, spec.redact),
                taint=_merge(d.taint, spec.taint),
                anomaly=_merge(d.anomaly, spec.anomaly),
                run_ttl=d.run_ttl,
            )
        return out

    def agent(self, name: str) -> AgentPolicy | None:
        """The effective policy of agent ``name`` (exact name), or None if it is not declared."""
        return self._policies.get(name)

    @property
    def agent_names(self) -> tuple[str, ...]:
        return tuple(self.agents)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Manifest:
        return _validate(data, source=source, lines={})

    @classmethod
    def from_yaml(cls, path: str | Path) -> Manifest:
        p = Path(path)
        try:
            with p.open("rb") as fh:  # bounded: /dev/zero or a huge file must not hang validate
                raw = fh.read(MAX_CHARS + 1)
            if len(raw) > MAX_CHARS:
                raise ConfigError(f"{p}: larger than a manifest may be ({MAX_CHARS} bytes); "
                                  "split it or remove generated content", source=str(p))
            text = raw.decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{p}: no such file", source=str(p)) from None
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ConfigError(f"{p}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                              "save the file as UTF-8", source=str(p), line=line) from None
        except IsADirectoryError:
            raise ConfigError(f"{p}: is a directory; give the manifest file", source=str(p)) from None
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read ({exc.strerror})", source=str(p)) from None
        return cls.from_yaml_text(text, source=str(p))

    @classmethod
    def from_yaml_text(cls, text: str, *, source: str = "<string>") -> Manifest:
        data, lines = load_yaml(text, source=source)
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"{source}:1: a manifest is a mapping with 'version' and 'agents', "
                f"not {type(data).__name__}",
                source=source, line=1,
            )
        return _validate(data, source=source, lines=lines)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        schema = cls.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "Perimeter role manifest"
        schema.get("properties", {}).pop("source", None)
        return schema


def _merge(base: Any, override: dict[str, Any] | None) -> Any:
    if not override:
        return base
    data = base.model_dump()
    data.update(override)
    return type(base).model_validate(data)


# ---------------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """Safe loader that records the line of every key, rejects duplicate keys and resolves
    booleans the YAML 1.2 way: only true/false, so a key such as ``on:`` stays the string "on"
    (YAML 1.1 would turn on/off/yes/no into booleans)."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# Numbers the YAML 1.2 way too: YAML 1.1 reads `min: 010` as 8 (octal), `1:30` as 90 (base 60) and
# `1_000` as 1000; here those stay text (and pydantic reads "010" as 10, or reports the value).
_Loader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
               r"|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    own = {id(k) for k, _ in node.value}
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    merged_from: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key is empty or null ('~'/'null'); quote it if you mean the text",
                key_node.start_mark,
            )
        if not isinstance(key, (str, int, float, bool)):
            raise yaml.constructor.ConstructorError(
                None, None, f"a mapping key must be a plain value, not a {type(key).__name__}",
                key_node.start_mark,
            )
        if key in out:
            if key in merged_from:
                problem = (f"key {key!r} is merged in with '<<' (from line {merged_from[key]}) and set "
                           "again here; overriding merged keys is not allowed in a policy file: "
                           "write the mapping out in full")
            else:
                problem = (f"duplicate key {key!r} (first at line {_first_line(node, key)}); "
                           "YAML would silently keep only the last one")
            raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
        if id(key_node) not in own:
            merged_from[key] = int(key_node.start_mark.line) + 1
        out[key] = loader.construct_object(value_node, deep=True)
    return out


def _first_line(node: yaml.MappingNode, key: Any) -> int:
    for k, _ in node.value:
        if getattr(k, "value", None) == str(key):
            return int(k.start_mark.line) + 1
    return 0


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else None
            sub = (*path, key)
            out[sub] = k.start_mark.line + 1
            _lines(v, sub, out)
            out[sub] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, (*path, i), out)


MAX_NODES = 200_000  # values in a manifest after alias expansion
MAX_CHARS = 8 << 20  # characters of manifest text (PyYAML parses about 1 MB/s)


def _check_size(root: yaml.Node, source: str) -> None:
    """Reject alias bombs ("billion laughs") and recursive aliases before anything walks the
    expanded tree: count expanded values with memoization over the shared node graph."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(f"{source}:{node.start_mark.line + 1}: recursive YAML alias",
                              source=source, line=node.start_mark.line + 1)
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > MAX_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                total += size(v)
                if total > MAX_NODES:
                    break
        active.discard(key)
        if total > MAX_NODES:
            raise ConfigError(
                f"{source}:{node.start_mark.line + 1}: manifest expands to more than {MAX_NODES} "
                "values (YAML alias bomb?)", source=source, line=node.start_mark.line + 1)
        sizes[key] = total
        return total

    size(root)


def load_yaml(text: str, *, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse YAML safely; return the data and a map from key path to line number."""
    if "\x00" in text:
        raise ConfigError(f"{source}: contains a NUL byte; not a text manifest", source=source)
    if len(text) > MAX_CHARS:
        raise ConfigError(f"{source}: {len(text)} characters, more than a manifest may have ({MAX_CHARS}); "
                          "split it or remove generated content", source=source)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            _check_size(node, source)
            lines: dict[tuple[Any, ...], int] = {}
            _lines(node, (), lines)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        where = f"{source}:{line}" if line else source
        problem = exc.problem or str(exc)
        problem += _yaml_hint(problem, text, line)
        raise ConfigError(f"{where}: invalid YAML: {problem}", source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}", source=source) from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply", source=source) from None
    return data, lines


def _yaml_hint(problem: str, text: str, line: int | None) -> str:
    """A likely cause for PyYAML's terser messages."""
    if "'\\t'" in problem or "\t" in problem:
        return " (indent with spaces: YAML does not allow tabs for indentation)"
    if "mapping values are not allowed" in problem:
        src = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        if len(src.split(":", 1)[0]) > 1024:
            return " (a key longer than 1024 characters)"
        return " (a value containing ': ' must be quoted, or the line is indented wrongly)"
    if "could not determine a constructor" in problem:
        return " (YAML tags such as !!python/... are not allowed in a manifest)"
    if "found undefined alias" in problem:
        return " (an alias *name must refer to an anchor &name defined above it)"
    return ""


# ---------------------------------------------------------------------------- validation
def _validate(data: Mapping[str, Any], *, source: str, lines: dict[tuple[Any, ...], int]) -> Manifest:
    if "source" in data:  # set by the loader, not by the file
        line = lines.get(("source",))
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: source: unknown key 'source'; valid keys: agents, defaults, version",
                          source=source, line=line, key="source")
    try:
        m = Manifest.model_validate({**data, "source": source})
    except ValidationError as exc:
        msgs: list[str] = []
        first_line: int | None = None
        first_key: str | None = None
        errors = exc.errors(include_url=False)
        cleaned = [_clean_loc(e["loc"]) for e in errors]
        keep = []
        for i, err in enumerate(errors):
            if "[key]" in err["loc"]:  # a key of the wrong type, e.g. `123:` or `true:` as a tool name
                cleaned[i] = (*_clean_loc(err["loc"][: err["loc"].index("[key]") - 1]),)
                inp = err.get("input")
                err = {**err, "type": "key_type", "msg": (
                    f"the name {_yaml_text(inp)} is read as a {_yaml_type(inp)}, but names must be text: "
                    f"quote it ('{_yaml_text(inp)}')")}
                keep.append((err, cleaned[i]))
                continue
            # a union such as `dict | Literal['any']` reports one error per branch; when the dict
            # branch explains the problem, drop the "should be 'any'" noise
            branch = any(isinstance(p, str) and p.startswith("literal[") for p in err["loc"])
            if branch and any(j != i and cleaned[j][: len(cleaned[i])] == cleaned[i]
                              and len(cleaned[j]) > len(cleaned[i]) for j in range(len(errors))):
                continue
            last = err["loc"][-1] if err["loc"] else None
            if last in ("int", "float", "bool") and str(err.get("type", "")).startswith(str(last)):
                cleaned[i] = cleaned[i][:-1]  # a branch of `str | int | float | bool`
            keep.append((err, cleaned[i]))
        # one message per location: the branches of a union (`dict | 'any'`, `str | int | ...`)
        # each report an error for the same value; say once what would be accepted
        grouped: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
        for kept, loc in keep:
            grouped.setdefault(loc, []).append(kept)
        for loc, errs in grouped.items():
            line = _line_for(loc, lines)
            key = _dotted(loc)
            msg = _describe_union(errs) if len(errs) > 1 else _describe(errs[0], loc, data)
            where = f"{source}:{line}" if line else source
            msgs.append(f"{where}: {key or '<top>'}: {msg}")
            if first_line is None:
                first_line, first_key = line, key
        head = msgs[0] if len(msgs) == 1 else f"{len(msgs)} problems:\n  " + "\n  ".join(msgs)
        raise ConfigError(head, source=source, line=first_line, key=first_key,
                          errors=tuple(msgs)) from None
    problems = list(_semantic_problems(m))
    if problems:
        msgs = []
        for loc, msg in problems:
            line = _line_for(loc, lines)
            msgs.append(f"{source}:{line}: {_dotted(loc)}: {msg}" if line else f"{source}: {_dotted(loc)}: {msg}")
        loc0 = problems[0][0]
        head = msgs[0] if len(msgs) == 1 else f"{len(msgs)} problems:\n  " + "\n  ".join(msgs)
        raise ConfigError(head, source=source, line=_line_for(loc0, lines), key=_dotted(loc0),
                          errors=tuple(msgs))
    return m


def _semantic_problems(m: Manifest) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Checks that span several keys: names that would be ambiguous, peers that do not exist."""
    from ._text import invisible_or_confusable, skeleton

    def collisions(names: Iterator[str] | tuple[str, ...] | list[str]) -> dict[str, str]:
        """name -> the earlier name it can be confused with (same case/width/look-alike key)."""
        seen: dict[str, str] = {}
        out: dict[str, str] = {}
        for n in names:
            k = skeleton(n)
            if k in seen:
                out[n] = seen[k]
            else:
                seen[k] = n
        return out

    for name, other in collisions(list(m.agents)).items():
        yield ("agents", name), (f"agent name can be confused with agent {other!r} (differs only by "
                                 "case, separators or look-alike characters); rename one")
    for name, spec in m.agents.items():
        for tool, other in collisions(list(spec.tools)).items():
            yield ("agents", name, "tools", tool), (
                f"tool name can be confused with tool {other!r} (differs only by case, separators or "
                "look-alike characters); rename one")
        for tool, tp in spec.tools.items():
            if tp is not None and isinstance(tp.args, dict):
                for arg, other in collisions(list(tp.args)).items():
                    yield ("agents", name, "tools", tool, "args", arg), (
                        f"argument name can be confused with argument {other!r}; rename one")
        if not name or invisible_or_confusable(name):
            yield ("agents", name), "agent name has invisible, full-width or look-alike characters"
        for tool, tp in spec.tools.items():
            if not tool or invisible_or_confusable(tool):
                yield ("agents", name, "tools", tool), \
                    "tool name has invisible, full-width or look-alike characters"
            if tp is not None and isinstance(tp.args, dict):
                for arg in tp.args:
                    if not arg or invisible_or_confusable(arg):
                        yield ("agents", name, "tools", tool, "args", arg), \
                            "argument name has invisible, full-width or look-alike characters"
        for field in ("send", "receive"):
            for i, peer in enumerate(getattr(spec.peers, field)):
                if peer not in m.agents:
                    close = difflib.get_close_matches(peer, list(m.agents), n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else \
                        f"; agents: {', '.join(sorted(m.agents)) or '(none)'}"
                    yield ("agents", name, "peers", field, i), \
                        f"peer {peer!r} is not an agent in this manifest{hint}"


_UNION_TAGS = {"literal['any']", "str", "function-after", "function-plain", "function-before",
               "constrained-str", "tuple", "dict"}


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union-branch tags (e.g. 'ToolPolicy', "literal['any']") from a location."""
    out = []
    for part in loc:
        if isinstance(part, str) and (
            part in _UNION_TAGS or part in _MODEL_NAMES or "[" in part or part.startswith("function-")
        ):
            continue
        out.append(part)
    return tuple(out)


def _dotted(loc: tuple[Any, ...]) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            s = str(p)
            parts.append(("." if parts else "") + (s if re.fullmatch(r"[\w-]+", s) else json.dumps(s)))
    return "".join(parts)


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), -1, -1):
        line = lines.get(tuple(loc[:n]))
        if line is not None:
            return line
    return None


def _describe(err: Mapping[str, Any], loc: tuple[Any, ...], data: Mapping[str, Any]) -> str:
    etype = err.get("type", "")
    if etype == "extra_forbidden" and loc:
        valid = _valid_keys(loc[:-1])
        bad = str(loc[-1])
        hint = ""
        if valid:
            close = difflib.get_close_matches(bad, valid, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(sorted(valid))}"
        return f"unknown key {bad!r}{hint}"
    if etype == "missing":
        return "required key is missing"
    if etype == "key_type":
        return str(err["msg"])
    if etype in ("model_type", "dict_type"):
        inp = err.get("input")
        hint = ""
        if loc and isinstance(loc[-1], str) and loc[-1] in _valid_keys(loc):
            hint = (f"; '{loc[-1]}' is a setting, not a name here: is it indented one level too "
                    "little (it belongs under a name)?")
        elif isinstance(inp, (list, tuple)):
            fields = _valid_keys(loc)
            hint = (f"; its keys are: {', '.join(fields)}" if fields else
                    "; write one 'name: {...}' entry per item instead of a '- item' list")
        return f"expected a mapping (key: value), got {_yaml_type(inp)} {_short(inp)}{hint}"
    if etype in ("tuple_type", "list_type"):
        inp = err.get("input")
        return f"expected a list, got {_yaml_type(inp)} {_short(inp)}; write [{_yaml_text(inp)}]" \
            if isinstance(inp, (str, int, float)) else f"expected a list, got {_yaml_type(inp)}"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    inp = err.get("input")
    if etype.startswith("literal_error") or etype in ("enum",):
        return f"{msg} (got {_short(inp)})"
    return msg


_EXPECTED = {
    "dict_type": "a mapping (key: value)", "model_type": "a mapping (key: value)",
    "string_type": "text", "int_type": "an integer", "float_type": "a number",
    "bool_type": "true or false", "tuple_type": "a list", "list_type": "a list",
    "int_parsing": "an integer", "float_parsing": "a number", "bool_parsing": "true or false",
}


def _yaml_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, Mapping):
        return "mapping"
    return type(v).__name__


def _yaml_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "null" if v is None else str(v)


def _expected(err: Mapping[str, Any]) -> str:
    etype = str(err.get("type", ""))
    if etype.startswith("literal_error"):
        msg = str(err.get("msg", ""))
        return msg[len("Input should be "):] if msg.startswith("Input should be ") else msg
    return _EXPECTED.get(etype, str(err.get("msg", "a valid value")))


def _describe_union(errs: list[Mapping[str, Any]]) -> str:
    alts: list[str] = []
    for e in errs:
        x = _expected(e)
        if x not in alts:
            alts.append(x)
    inp = errs[0].get("input")
    got = _short(inp) if isinstance(inp, str) else "null" if inp is None else f"{_yaml_type(inp)} {_short(inp)}"
    return f"expected {' or '.join(alts)}, got {got}"


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


_MODEL_NAMES = {
    "Manifest", "Defaults", "AgentSpec", "ToolPolicy", "ArgRule", "Limit", "Budget", "Peers",
    "InjectionSettings", "RedactSettings", "TaintSettings", "AnomalySettings", "Credentials", "AwsCredentials",
}


def _model_in(tp: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``X | None`` or ``X | Literal['any']``."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType, Annotated):
        for a in typing.get_args(tp):
            m = _model_in(a)
            if m is not None:
                return m
    return None


def _dict_value(tp: Any) -> Any:
    """For ``dict[str, V]`` (possibly in a union) return V, else None."""
    origin = typing.get_origin(tp)
    if origin is dict:
        return typing.get_args(tp)[1]
    if origin in (Union, types.UnionType):
        for a in typing.get_args(tp):
            v = _dict_value(a)
            if v is not None:
                return v
    return None


_PARTIALS: dict[str, type[BaseModel]] = {
    "injection": InjectionSettings, "redact": RedactSettings, "taint": TaintSettings,
    "anomaly": AnomalySettings,
}


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model that sits at ``loc`` in a manifest (for typo suggestions)."""
    cur: Any = Manifest
    expect_key = False
    dict_val: Any = None
    for part in loc:
        if expect_key:
            cur, expect_key = dict_val, False
            continue
        model = _model_in(cur)
        if model is None:
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        if model is AgentSpec and part in _PARTIALS:
            cur = _PARTIALS[str(part)]
            continue
        ann = field.annotation
        dv = _dict_value(ann)
        if dv is not None and _model_in(ann) is None:
            expect_key, dict_val = True, dv
            cur = None
            continue
        cur = ann
    if expect_key:
        return []
    model = _model_in(cur)
    if model is None:
        return []
    return [n for n in model.model_fields if n != "source"]
