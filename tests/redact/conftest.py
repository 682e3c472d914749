from __future__ import annotations

import warnings

import pytest

from guardrails.redact.redactor import Redactor

TARGET = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "SECRET")


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Redactor(TARGET).warm()
