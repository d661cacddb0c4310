"""Print a short summary of a synthesized cloud assembly: stacks, resources, where the templates are.

Usage: ``python -m infra.summary [cdk.out]``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def summarize(outdir: Path) -> str:
    manifest = json.loads((outdir / "manifest.json").read_text())
    lines = [f"Cloud assembly: {outdir.resolve()}"]
    for name, artifact in sorted(manifest.get("artifacts", {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_path = outdir / artifact["properties"]["templateFile"]
        template: dict[str, Any] = json.loads(template_path.read_text())
        resources = template.get("Resources", {})
        kinds = Counter(r["Type"] for r in resources.values())
        lines.append(f"  {name} ({artifact.get('environment', '')}): {len(resources)} resources")
        lines.append(f"    template: {template_path}")
        top = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        lines.append(f"    {top}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print(summarize(Path(args[0] if args else "cdk.out")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
