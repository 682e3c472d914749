"""Secret recognizers: cloud and SaaS credentials as Presidio ``PatternRecognizer`` objects.

Every recognizer reports entity ``SECRET``; its name is ``secret:<subtype>`` (for example
``secret:aws_access_key``) and the fast path turns that into ``Detection.subtype``. The
formats follow the vendors' documented token shapes (and detect-secrets' plugins where those
define the format): fixed prefixes are matched case-sensitively, so the rules are data here and
the recognizers are built from :data:`SECRET_RULES`.

Two rules are generic: ``credential_assignment`` (a key-like name such as ``api_key``,
``client_secret``, ``db_password`` assigned a long token-like value) and ``password_assignment``
(``password=...`` with a shorter value). Placeholders (``%s``, ``${VAR}``, ``<key>``,
``insert_key_here``, ``xxxx``, values containing EXAMPLE/dummy/changeme...) and low-entropy
values are rejected.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["SECRET_RULES", "SecretRule", "is_placeholder", "secret_recognizers", "shannon_entropy"]


@dataclass(frozen=True, slots=True)
class SecretRule:
    subtype: str
    regex: str
    score: float = 0.9
    check: str = ""  # "", "jwt", "token" (placeholder/entropy check)
    context: tuple[str, ...] = ()
    description: str = ""


_B = r"(?<![A-Za-z0-9_\-])"  # left boundary for tokens
_E = r"(?![A-Za-z0-9_\-])"  # right boundary

# key-like names: ..._key (api/access/secret/private/...), secret, token, password, passwd, pwd,
# pass / pw as a component, credential(s)
_KEYNAME = (
    r"[A-Za-z0-9_.\-]{0,40}?(?:(?:api|access|secret|private|auth|iam|app|master|signing|encryption"
    r"|client|service|account|license|admin)[_\-.]?key|(?<![A-Za-z])key|secret|token|passw(?:or)?d"
    r"|passphrase|pwd|(?<![A-Za-z])pass|(?<![A-Za-z])pw|credentials?)[A-Za-z0-9_]{0,10}"
)
_ASSIGN = r"""["']?\s{0,3}(?::=|=>|==|=|:|\s)\s{0,3}["']?"""
_TOKEN_VALUE = r"[A-Za-z0-9_\-+/=.~]{16,256}"  # noqa: S105 - a pattern, not a password

SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule("aws_access_key", _B + r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA"
               r"|ANVA)[A-Z0-9]{16}" + _E, 0.95, context=("aws", "access", "key")),
    SecretRule("aws_secret_key", r"(?i:aws)[A-Za-z0-9_\-. ]{0,20}?(?i:key|pwd|pw|password|pass|token|secret)"
               r"[A-Za-z0-9_\-. ]{0,20}?" + _ASSIGN + r"[0-9a-zA-Z/+]{40}" + r"(?![0-9a-zA-Z/+])", 0.9),
    SecretRule("github_token", _B + r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36,255}" + _E, 0.95),
    SecretRule("github_token", _B + r"github_pat_[A-Za-z0-9_]{60,255}" + _E, 0.95),
    SecretRule("gitlab_token", _B + r"(?:glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?![A-Za-z0-9_])",
               0.95),
    SecretRule("gitlab_token", _B + r"GR1348941[A-Za-z0-9_\-]{20,50}(?![A-Za-z0-9_])", 0.95),
    SecretRule("gitlab_token", _B + r"glcbt-(?:[0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}(?![A-Za-z0-9_])", 0.95),
    SecretRule("gitlab_token", _B + r"glimt-[A-Za-z0-9_\-]{25}(?![A-Za-z0-9_])", 0.95),
    SecretRule("gitlab_token", _B + r"glptt-[A-Za-z0-9_\-]{40}(?![A-Za-z0-9_])", 0.95),
    SecretRule("gitlab_token", _B + r"glagent-[A-Za-z0-9_\-]{50,1024}(?![A-Za-z0-9_])", 0.95, check="token"),
    SecretRule("gitlab_token", _B + r"gloas-[A-Za-z0-9_\-]{64}(?![A-Za-z0-9_])", 0.95),
    SecretRule("slack_token", _B + r"xox(?:a|b|p|o|s|r|e)-(?:[0-9]+-)+[A-Za-z0-9]+" + _E, 0.95),
    SecretRule("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_]+/[A-Za-z0-9_]+"
               r"/[A-Za-z0-9_]+", 0.95),
    SecretRule("stripe_key", _B + r"(?:r|s)k_live_[0-9a-zA-Z]{24,99}" + _E, 0.95),
    SecretRule("stripe_key", _B + r"whsec_[0-9a-zA-Z]{32,}" + _E, 0.9),
    SecretRule("openai_key", _B + r"sk-[A-Za-z0-9_\-]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}" + _E, 0.95),
    SecretRule("openai_key", _B + r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{80,}" + _E, 0.95),
    SecretRule("anthropic_key", _B + r"sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_\-]{80,}" + _E, 0.95),
    SecretRule("google_api_key", _B + r"AIza[0-9A-Za-z_\-]{35}" + _E, 0.9),
    SecretRule("huggingface_token", _B + r"hf_[A-Za-z]{34}" + _E, 0.9),
    SecretRule("npm_token", _B + r"npm_[A-Za-z0-9]{36}" + _E, 0.95),
    SecretRule("npm_token", r"//[^\s/]+/:_authToken=\s*(?:npm_[A-Za-z0-9]+|[A-Fa-f0-9\-]{36})", 0.95),
    SecretRule("pypi_token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{70,}", 0.95),
    SecretRule("pypi_token", r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_\-]{70,}", 0.95),
    SecretRule("sendgrid_key", _B + r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}" + _E, 0.95),
    SecretRule("mailchimp_key", _B + r"[0-9a-z]{32}-us[0-9]{1,2}" + _E, 0.9),
    SecretRule("mailgun_key", _B + r"key-[0-9a-zA-Z]{32}" + _E, 0.8),
    SecretRule("twilio_key", _B + r"(?:AC|SK)[a-z0-9]{32}" + _E, 0.85),
    SecretRule("telegram_token", r"(?<![A-Za-z0-9_:])[0-9]{8,10}:[0-9A-Za-z_\-]{35}" + _E, 0.9),
    SecretRule("discord_token", r"[MNO][a-zA-Z0-9_\-]{23,25}\.[a-zA-Z0-9_\-]{6}\.[a-zA-Z0-9_\-]{27}", 0.9),
    SecretRule("discord_webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]+/"
               r"[A-Za-z0-9_\-]+", 0.95),
    SecretRule("shopify_token", _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E, 0.95),
    SecretRule("digitalocean_token", _B + r"do[por]_v1_[a-f0-9]{64}" + _E, 0.95),
    SecretRule("square_token", _B + r"sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43}" + _E, 0.95),
    SecretRule("azure_storage_key", r"AccountKey=[a-zA-Z0-9+/=]{88}", 0.95),
    SecretRule("artifactory_token", r"(?:(?<=[\s=:\"'])|^)AKC[a-zA-Z0-9]{10,}(?=[\s\"']|$)", 0.8),
    SecretRule("artifactory_token", r"(?:(?<=[\s=:\"'])|^)AP[0-9ABCDEF][a-zA-Z0-9]{8,}(?=[\s\"']|$)", 0.7),
    SecretRule("softlayer_key", r"https?://api\.softlayer\.com/soap/(?:v3|v3\.1)/[a-z0-9]{64}", 0.9),
    # more provider token formats (distinctive prefixes: a bare match is the secret)
    SecretRule("openai_key", _B + r"sk-[A-Za-z0-9]{48}" + _E, 0.85),
    SecretRule("groq_key", _B + r"gsk_[A-Za-z0-9]{52}" + _E, 0.95),
    SecretRule("xai_key", _B + r"xai-[A-Za-z0-9]{80}" + _E, 0.95),
    SecretRule("replicate_token", _B + r"r8_[A-Za-z0-9]{37}" + _E, 0.9),
    SecretRule("huggingface_token", _B + r"api_org_[A-Za-z]{34}" + _E, 0.9),
    SecretRule("databricks_token", _B + r"dapi[a-f0-9]{32}(?:-[0-9])?" + _E, 0.9),
    SecretRule("vault_token", _B + r"hv[sb]\.[A-Za-z0-9_\-]{90,}" + _E, 0.95),
    SecretRule("terraform_token", _B + r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70}" + _E, 0.95),
    SecretRule("doppler_token", _B + r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}" + _E, 0.95),
    SecretRule("postman_key", _B + r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}" + _E, 0.95),
    SecretRule("grafana_token", _B + r"glc_[A-Za-z0-9+/]{32,400}={0,2}" + _E, 0.9),
    SecretRule("grafana_token", _B + r"glsa_[A-Za-z0-9]{32}_[a-fA-F0-9]{8}" + _E, 0.95),
    SecretRule("newrelic_key", _B + r"NR(?:AK|II|JS)-[A-Za-z0-9]{19,32}" + _E, 0.9),
    SecretRule("sentry_token", _B + r"sntry[su]_[A-Za-z0-9+/=_\-]{40,}" + _E, 0.95),
    SecretRule("linear_key", _B + r"lin_(?:api|oauth)_[A-Za-z0-9]{40}" + _E, 0.95),
    SecretRule("notion_token", _B + r"ntn_[0-9]{11}[A-Za-z0-9]{35}" + _E, 0.95),
    SecretRule("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}" + _E, 1.0),
    SecretRule("pulumi_token", _B + r"pul-[a-f0-9]{40}" + _E, 0.95),
    SecretRule("supabase_token", _B + r"sbp_[a-f0-9]{40}" + _E, 0.95),
    SecretRule("planetscale_token", _B + r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.=]{32,64}" + _E, 0.95),
    SecretRule("google_oauth_secret", _B + r"GOCSPX-[A-Za-z0-9_\-]{28}" + _E, 0.95),
    SecretRule("atlassian_token", _B + r"ATATT3[A-Za-z0-9_\-=]{150,250}" + _E, 0.95),
    SecretRule("slack_token", _B + r"xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+" + _E, 0.95),
    SecretRule("mapbox_token", _B + r"sk\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]{20,}" + _E, 0.9),
    SecretRule("alibaba_key", _B + r"LTAI[A-Za-z0-9]{12,20}" + _E, 0.85),
    SecretRule("azure_sas_key", r"SharedAccessKey=[A-Za-z0-9+/]{42,43}=", 0.95),
    SecretRule("jwt", _B + r"eyJ[A-Za-z0-9_\-=]+\.eyJ[A-Za-z0-9_\-=]+(?:\.[A-Za-z0-9_\-+/=]*)?", 0.9,
               check="jwt"),
    SecretRule("private_key", r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
               r"[A-Za-z0-9+/=\s:,.()\-]{0,20000}?(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
               r"|(?=[^A-Za-z0-9+/=\s:,.()\-])|$)", 1.0),
    SecretRule("url_credentials", r"[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^:/?#\[\]@!$&'()*+,;=\s]+:"
               r"[^:/?#\[\]@!$&'()*+,;=\s]+@[^\s/?#'\"]+", 0.9, check="userinfo"),
    SecretRule("connection_string_password", r"(?i:(?:Server|Data Source|Host|Address|AccountName)=)"
               r"[^;\n]{1,200};[^\n]{0,300}?(?i:Password|Pwd)=[^;\s'\"]{3,}", 0.9),
    SecretRule("authorization_header", r"(?i:authorization)[\"']?\s{0,3}[:=]\s{0,3}[\"']?(?i:bearer|basic|token)"
               r"\s+[A-Za-z0-9\-._~+/]{16,}=*", 0.9, check="token"),
    SecretRule("credential_assignment", r"(?i:" + _KEYNAME + r")" + _ASSIGN + _TOKEN_VALUE
               + r"(?![A-Za-z0-9_\-+/=.~])", 0.75, check="token"),
    SecretRule("password_assignment", r"(?<![A-Za-z])(?i:password|passwd|pwd)[\"']?\s{0,3}(?::=|=|:)\s{0,3}"
               r"[\"']?[^\s\"',;]{6,128}", 0.7, check="token"),
)

_PLACEHOLDER = re.compile(
    r"(?i)(example|sample|dummy|fake|placeholder|changeme|change_me|your[_\-]?|insert|redacted|<[^>]*>|"
    r"\$\{|\{\{|%s|%\(|\bnull\b|\bnone\b|\btrue\b|\bfalse\b|xxxx|\*\*\*\*|\.\.\.)"
)
_VAR_VALUE = re.compile(r"^\$[A-Za-z_]|^[A-Z][A-Z0-9_]+$|^process\.env|^os\.environ")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_VALUE_SPLIT = re.compile(r"""(?::=|=>|==|=|:|\s)\s*["']?""")


def shannon_entropy(s: str) -> float:
    """Bits per character."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def is_placeholder(value: str) -> bool:
    """True for values that are obviously not real secrets (templates, variables, masks)."""
    v = value.strip("\"' ")
    if not v or _PLACEHOLDER.search(v) or _VAR_VALUE.match(v):
        return True
    return len(set(v.lower())) <= 2


def _value_of(match_text: str) -> str:
    """The value part of ``name = "value"`` (the last assignment-separated piece)."""
    parts = _VALUE_SPLIT.split(match_text)
    return parts[-1].strip("\"' ") if parts else match_text


def _b64json(seg: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))
        obj = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict)


def _check(kind: str, text: str, subtype: str) -> bool | None:
    """None: keep the pattern score; False: reject."""
    if kind == "jwt":
        parts = text.split(".")
        return None if len(parts) >= 2 and _b64json(parts[0]) and _b64json(parts[1]) else False
    if kind == "userinfo":
        userinfo = text.split("://", 1)[1].rsplit("@", 1)[0]
        password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
        return False if (not password or is_placeholder(password)) else None
    if kind == "token":
        value = _value_of(text) if subtype in ("credential_assignment", "password_assignment",
                                               "authorization_header") else text
        if is_placeholder(value):
            return False
        if subtype in ("credential_assignment", "password_assignment") and value.startswith(
                ("http://", "https://", "/", "./", "../", "~/")):
            return False  # a URL or a path (PWD=/opt/app, "password: https://.../reset")
        if subtype == "credential_assignment":
            if _UUID.match(value) or shannon_entropy(value) < 2.5:
                return False
            if value.replace(".", "").replace("-", "").replace("_", "").isalpha() and len(value) < 24:
                return False  # a plain identifier, not a token
            if not any(ch.isdigit() for ch in value) and shannon_entropy(value) < 3.5:
                return False
        if subtype == "password_assignment":
            classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value),
                           any(c.isdigit() for c in value),
                           any(not c.isalnum() and c not in "-_." for c in value)))
            if classes < 2 or shannon_entropy(value) < 1.5:
                return False  # "required", "shorter-version": words, not passwords
        return None
    return None


@functools.lru_cache(maxsize=1)
def secret_recognizers() -> tuple[Any, ...]:
    """One Presidio ``PatternRecognizer`` per rule subtype (entity ``SECRET``)."""
    import regex
    from presidio_analyzer import Pattern, PatternRecognizer

    class SecretRecognizer(PatternRecognizer):
        """Presidio pattern recognizer for one kind of secret (case-sensitive)."""

        def __init__(self, subtype: str, rules: list[SecretRule]) -> None:
            self.subtype = subtype
            self._checks = {r.regex: r.check for r in rules}
            ctx = sorted({w for r in rules for w in r.context}) or None
            super().__init__(
                supported_entity="SECRET",
                name=f"secret:{subtype}",
                patterns=[Pattern(f"secret:{subtype}", r.regex, r.score) for r in rules],
                context=ctx or [],
                global_regex_flags=regex.DOTALL | regex.MULTILINE,
            )
            self._kinds = {r.check for r in rules if r.check}

        def validate_result(self, pattern_text: str) -> bool | None:
            for kind in self._kinds:
                verdict = _check(kind, pattern_text, self.subtype)
                if verdict is False:
                    return False
            return None

    by_sub: dict[str, list[SecretRule]] = {}
    for rule in SECRET_RULES:
        by_sub.setdefault(rule.subtype, []).append(rule)
    return tuple(SecretRecognizer(sub, rules) for sub, rules in by_sub.items())
