"""Writes a deliberately weak fraud model for the server's quality-gate test:
tests/fixtures/models/fraud-weak/{fraud.onnx, fraud.lgb.txt, cards/fraud.json}.

It is trained by the same pipeline as the shipped model (same features,
card, parity samples, held-out rows), but with three shallow trees that see
a fifth of the features each, so its AUC on the card's holdout is clearly
below the shipped model's while every other gate passes.

    .venv-train/bin/python models/training/weak_fixture.py [--data models/data]
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))

import common  # noqa: E402
import fraud  # noqa: E402
import tabular  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "models", "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "models", "fraud-weak"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    world_path = os.path.join(a.data, "world.json")
    world = json.load(open(world_path)) if os.path.exists(world_path) else {}
    docs = common.parse_schema(os.path.join(HERE, "SCHEMA.md"))
    fraud.MAX_TREES = 3
    fraud.PARAMS = {**fraud.PARAMS, "num_leaves": 3, "feature_fraction": 0.2, "learning_rate": 0.3}
    card = fraud.train(tabular.load(a.data, "fraud"), world, docs, a.out)
    print(f"weak fraud model: holdout AUC {card['holdout']['metrics']['auc']} in {a.out}")


if __name__ == "__main__":
    main()
