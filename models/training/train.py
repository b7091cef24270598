"""Trains allot's models from the synthetic world's tables and writes the ONNX
files, model cards and models/REPORT.md.

    python models/training/train.py               # data in models/data, artifacts in models/
    python models/training/train.py --check       # re-verify shipped ONNX files against their cards
    python models/training/train.py --data DIR --out DIR [--only fraud,eta,demand]
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # keep models/training free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
MODELS = os.path.dirname(HERE)

import check  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(MODELS, "data"))
    ap.add_argument("--out", default=MODELS)
    ap.add_argument("--check", action="store_true", help="verify the ONNX files against their cards and exit")
    ap.add_argument("--only", help="comma-separated models to train (fraud, eta, demand); the others keep "
                                   "their shipped files and cards, which the report reads")
    a = ap.parse_args()
    if a.check:
        sys.exit(0 if check.run(a.out) else 1)

    import common
    import demand
    import eta
    import fraud
    import report
    import tabular

    t0 = time.time()
    world_path = os.path.join(a.data, "world.json")
    world = json.load(open(world_path)) if os.path.exists(world_path) else {}
    docs = common.parse_schema(os.path.join(HERE, "SCHEMA.md"))
    os.makedirs(a.out, exist_ok=True)
    trainers = (("fraud", fraud), ("eta", eta), ("demand", demand))
    only = set(a.only.split(",")) if a.only else {name for name, _ in trainers}
    unknown = only - {name for name, _ in trainers}
    if unknown:
        raise SystemExit(f"--only: unknown models {sorted(unknown)}")
    cards = {}
    for name, trainer in trainers:
        if name not in only:
            cards[name] = json.load(open(os.path.join(a.out, "cards", f"{name}.json")))
            print(f"{name}: {cards[name]['version']} kept (not in --only)")
            continue
        t = time.time()
        table = tabular.load(a.data, name)
        cards[name] = trainer.train(table, world, docs, a.out)
        print(f"{name}: {cards[name]['version']} in {time.time() - t:.1f}s")
    path = os.path.join(a.out, "REPORT.md")
    before = open(path).read() if os.path.exists(path) else ""
    with open(path, "w") as f:
        # the parts other steps write (ETA calibration, unseen worlds) stay
        # until those steps replace them
        f.write(report.carry_demand_unseen(report.render(cards), before) + report.written_sections(before))
    print(f"wrote {a.out}/REPORT.md; total {time.time() - t0:.1f}s")
    if not check.run(a.out):
        sys.exit(1)


if __name__ == "__main__":
    main()
