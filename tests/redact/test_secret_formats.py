"""Provider token formats: each is found with its subtype in prose, config lines and JSON, and the
look-alikes (wrong length, wrong alphabet, the prefix inside a longer word) are not. Tokens are
generated here from each format's alphabet (fixed seed), never copied from anywhere."""

from __future__ import annotations

import json
import random
import string
import warnings

import pytest

from guardrails.redact.fastpath import FastAnalyzer
from guardrails.redact.presidio_bridge import analyzer_engine
from guardrails.redact.secrets import secret_recognizers

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def _r(alphabet: str, n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


# (subtype, token) for every format; the seed makes each token distinct and stable
FORMATS: list[tuple[str, str]] = [
    ("openai_key", "sk-" + _r(ALNUM, 48, 1)),
    ("groq_key", "gsk_" + _r(ALNUM, 52, 2)),
    ("xai_key", "xai-" + _r(ALNUM, 80, 3)),
    ("replicate_token", "r8_" + _r(ALNUM, 37, 4)),
    ("huggingface_token", "api_org_" + _r(string.ascii_letters, 34, 5)),
    ("databricks_token", "dapi" + _r(HEX, 32, 6)),
    ("vault_token", "hvs." + _r(ALNUM + "_-", 95, 7)),
    ("terraform_token", _r(ALNUM, 14, 8) + ".atlasv1." + _r(ALNUM, 67, 9)),
    ("doppler_token", "dp.pt." + _r(ALNUM, 43, 10)),
    ("postman_key", "PMAK-" + _r(HEX, 24, 11) + "-" + _r(HEX, 34, 12)),
    ("grafana_token", "glc_" + _r(ALNUM, 60, 13)),
    ("grafana_token", "glsa_" + _r(ALNUM, 32, 14) + "_" + _r(HEX, 8, 15)),
    ("newrelic_key", "NRAK-" + _r(string.ascii_uppercase + string.digits, 27, 16)),
    ("sentry_token", "sntrys_" + _r(ALNUM, 60, 17)),
    ("linear_key", "lin_api_" + _r(ALNUM, 40, 18)),
    ("notion_token", "ntn_" + _r(string.digits, 11, 19) + _r(ALNUM, 35, 20)),
    ("age_secret_key", "AGE-SECRET-KEY-1" + _r(BECH32, 58, 21)),
    ("pulumi_token", "pul-" + _r(HEX, 40, 22)),
    ("supabase_token", "sbp_" + _r(HEX, 40, 23)),
    ("planetscale_token", "pscale_tkn_" + _r(ALNUM, 43, 24)),
    ("google_oauth_secret", "GOCSPX-" + _r(ALNUM + "_-", 28, 25)),
    ("atlassian_token", "ATATT3" + _r(ALNUM + "_-", 186, 26)),
    ("slack_token", "xapp-1-A" + _r(string.ascii_uppercase + string.digits, 10, 27) + "-"
     + _r(string.digits, 13, 28) + "-" + _r(HEX, 64, 29)),
    ("mapbox_token", "sk.eyJ" + _r(ALNUM, 40, 30) + "." + _r(ALNUM, 22, 31)),
    ("alibaba_key", "LTAI" + _r(ALNUM, 20, 32)),
    ("azure_sas_key", "SharedAccessKey=" + _r(ALNUM + "+/", 43, 33) + "="),
]

SETTINGS = [
    "{tok}",
    "my key is {tok} please keep it safe",
    "export SERVICE_TOKEN={tok}",
    '{{"token": "{tok}", "user": "ops"}}',
    "Authorization header was `{tok}`.",
]


@pytest.mark.parametrize("subtype,token", FORMATS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(FORMATS)])
@pytest.mark.parametrize("setting", SETTINGS)
def test_format_is_found_with_its_subtype(redactor, subtype, token, setting):
    text = setting.format(tok=token)
    found = [d for d in redactor.analyze(text) if d.entity == "SECRET"]
    assert any(d.subtype == subtype for d in found), (text, [(d.subtype, d.start, d.end) for d in found])
    # the value never survives redaction
    assert token not in redactor.redact(text).text


def _look_alikes() -> list[str]:
    out = []
    for _subtype, token in FORMATS:
        if token.startswith("SharedAccessKey="):
            continue
        out.append(token[: len(token) // 2])  # too short
    return [
        *out,
        "task-" + _r(ALNUM, 48, 40),  # the sk- prefix inside a word
        "risk-" + _r(string.ascii_lowercase, 20, 41),
        "gsk_short", "xai-grok-2-vision", "r8_model_version", "dapi" + _r(HEX, 20, 42),
        "hvs.example", "dp.pt.demo", "PMAK-" + _r(HEX, 10, 43), "glc_abc", "NRAK-demo",
        "lin_api_", "ntn_12345", "AGE-SECRET-KEY-1" + "b" * 58,  # b is not in the bech32 alphabet
        "pul-" + _r(HEX, 12, 44), "sbp_" + _r(HEX, 12, 45), "GOCSPX-short", "ATATT3short",
        "the sk.eyJ prefix alone", "LTAI", "SharedAccessKey=<your key>",
        "the openai sk- prefix and the gsk_ prefix are documented",
    ]


@pytest.mark.parametrize("text", _look_alikes())
def test_look_alikes_are_not_new_format_secrets(redactor, text):
    new = {s for s, _ in FORMATS} - {"openai_key", "slack_token", "huggingface_token"}
    found = [d for d in redactor.analyze(text) if d.entity == "SECRET" and d.subtype in new]
    assert not found, (text, [(d.subtype, d.start, d.end) for d in found])


def test_fast_path_equals_presidio_on_the_new_formats():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recs = list(secret_recognizers())
        fast, engine = FastAnalyzer(recs), analyzer_engine(recs)
    texts = [s.format(tok=t) for _, t in FORMATS for s in SETTINGS] + _look_alikes()
    texts.append(json.dumps({k: t for k, t in FORMATS}))
    for t in texts:
        a = sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in engine.analyze(t, language="en"))
        b = sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in fast.analyze_results(t))
        assert a == b, t[:80]
