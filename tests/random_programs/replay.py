"""Re-run the failing programs a ``SYMDIFF_RANDOM_COLLECT`` file recorded, through the same checks.

Takes: the path of that JSON-lines file. Prints: each distinct failing program's outcome now
(``ok`` once fixed), then the counts. Run from the repository's root:

    python -m tests.random_programs.replay /tmp/fail.jsonl
"""

import collections
import json
import math
import sys

import numpy as np

from .cases import Case
from .checks import run_case


def replay(path):
    seen, counts = set(), collections.Counter()
    names = {"np": np, "math": math, "float": float, "array": np.array,
             "float32": np.float32, "float64": np.float64}
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    for record in records:
        if "detail" not in record:
            continue  # a family's counts
        key = (record["source"], json.dumps(record["args"]))
        if key in seen:
            continue
        seen.add(key)
        args = record["args"]
        args = eval(args, names) if isinstance(args, str) else tuple(args)  # the harness's own file
        second = tuple(tuple(s) if isinstance(s, list) else s for s in record["second"])
        case = Case(family=record["family"], source=record["source"], args=args,
                    checks=tuple(record["checks"]), exact=record["exact"], second=second)
        outcome = run_case(case)
        counts[outcome.status] += 1
        print(record["family"], outcome.status, args, (outcome.detail or "")[:300].replace("\n", " | "))
    print(dict(counts))


if __name__ == "__main__":
    replay(sys.argv[1])
