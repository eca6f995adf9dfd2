"""Summarise `mutmut results --all true`: the score and the mutants that survived."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def main(path: str) -> int:
    """Print killed/survived counts, the score, and each survivor."""
    statuses: Counter[str] = Counter()
    survivors: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        statuses[status] += 1
        if status == "survived":
            survivors.append(name)
    killed = statuses["killed"] + statuses["timeout"]
    tested = killed + statuses["survived"]
    score = 100.0 * killed / tested if tested else 0.0
    print(f"mutants: {dict(sorted(statuses.items()))}")
    print(f"score: {killed}/{tested} killed = {score:.1f}%")
    for name in survivors:
        print(f"survived: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
