"""`--format json-lines`: one JSON object per line, each finding as `--format json`
lists it (then each error, with `"error": true`), for streaming tools."""

from __future__ import annotations

import json

from poolsafe.core.model import ScanResult
from poolsafe.report.json_report import as_dict


def render(result: ScanResult) -> str:
    doc = as_dict(result)
    lines = [json.dumps(f) for f in doc["findings"]]
    lines.extend(json.dumps({**e, "error": True}) for e in doc["errors"])
    return "".join(line + "\n" for line in lines)
