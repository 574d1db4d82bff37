"""``python -m devstack.complexity``: no function outside tests above cyclomatic complexity 15.

Measured with radon (McCabe's count plus each boolean operator), the measure the project's
reviews quote; ``make lint`` runs it. A function over the bound is split, not excused.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Function

ROOT = Path(__file__).resolve().parent.parent
MAX_COMPLEXITY = 15
CHECKED = ("libs", "gateway", "mainapp", "microservices", "devstack", "bench")
SKIPPED_PARTS = frozenset({"tests", "migrations", "node_modules", ".venv", ".run"})


def sources() -> Iterator[Path]:
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if not SKIPPED_PARTS.intersection(path.relative_to(ROOT).parts):
                yield path


def too_complex(path: Path) -> Iterator[str]:
    for block in cc_visit(path.read_text(encoding="utf-8")):
        # Functions and methods each come as a Function block (classes list theirs again).
        if isinstance(block, Function) and block.complexity > MAX_COMPLEXITY:
            where = f"{path.relative_to(ROOT)}:{block.lineno}"
            yield f"{where} {block.fullname} has complexity {block.complexity}"


def main() -> int:
    problems = [problem for path in sources() for problem in too_complex(path)]
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} function(s) above complexity {MAX_COMPLEXITY}: split them")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
