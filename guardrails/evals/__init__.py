"""Evaluation on labelled data (``perimeter eval ...``); the same code backs ``benchmarks/``."""
