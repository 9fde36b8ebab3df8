"""How much of the plug-in code is tied to one editor: lines of .py per folder under plugin/ (blank lines and
comments included, as ``wc -l`` counts them) and the editors' share of the whole. Exits 1 above the target
(issue #13: plugin/krita + plugin/gimp at most 45 % of plugin/common + plugin/krita + plugin/gimp).

    python tools/plugin_share.py
"""

from __future__ import annotations

import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1] / "plugin"
SHARED, EDITORS = "common", ("krita", "gimp")
TARGET = 0.45


def lines(folder: Path) -> int:
    return sum(len(path.read_text(encoding="utf-8").splitlines()) for path in folder.rglob("*.py"))


def main() -> int:
    counts = {name: lines(PLUGIN / name) for name in (SHARED, *EDITORS)}
    editors = sum(counts[name] for name in EDITORS)
    share = editors / sum(counts.values())
    for name, count in counts.items():
        print(f"plugin/{name:<7} {count:5d} lines")
    print(f"editor-specific {editors:5d} of {sum(counts.values())} lines: {share:.1%} (target: at most {TARGET:.0%})")
    return 0 if share <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
