"""A pack's values files edited as text: one dated entry set for a jurisdiction's parameter.

The editor (``engine.drafts``) and the limit tests of a pack (``engine.policy_tests``) set a value
the same way: the jurisdiction's ``values`` document (made if it has none) with the entry added,
an entry of the same date replaced, written back as YAML.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from .load import parse_documents
from .model import RulePack
from .source import parse_yaml


def with_value(files: dict[str, str], pack: RulePack, jurisdiction: str, parameter: str,
               entry: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Pack files with one dated entry set for a jurisdiction (the same date replaced), and the file's path."""
    files = dict(files)
    path, text = _values_file(files, pack, jurisdiction)
    files[path] = _with_entry(text, jurisdiction, parameter, entry, path)
    return path, files


def _values_file(files: dict[str, str], pack: RulePack, code: str) -> tuple[str, str]:
    documents = parse_documents(files) if files else {}  # a jurisdiction with no values file yet
    for path, doc in documents.items():
        if doc["kind"] == "values" and doc["jurisdiction"] == code:
            return path, files[path]
    name = pack.jurisdictions[code].name
    path = f"values/{code}-{name}.yaml"
    return path, f'# {name}参数取值。\nkind: values\njurisdiction: "{code}"\nvalues: {{}}\n'


def _with_entry(text: str, code: str, parameter: str, entry: dict[str, Any], path: str = "values") -> str:
    """The values document with ``entry`` set for ``parameter`` (same date replaced), written back as YAML."""
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    doc = json.loads(json.dumps(parse_yaml(text, path)))  # the strict reader (no aliases), as plain dicts
    values = doc.get("values") or {}
    entries = [e for e in values.get(parameter, []) if str(e.get("from")) != entry["from"]]
    entries.append(entry)
    values[parameter] = sorted(entries, key=lambda e: str(e["from"]))
    lines = [header.rstrip("\n")] if header else []
    lines += ["kind: values", f'jurisdiction: "{code}"', "values:"]
    for name, items in values.items():
        lines.append(f"  {name}:")
        for item in items:
            lines.append("    - " + _flow(item))
    return "\n".join(lines) + "\n"


def _flow(item: dict[str, Any]) -> str:
    parts = []
    for key, value in item.items():
        if isinstance(value, str) and key == "from":
            parts.append(f"{key}: {value}")
        else:
            dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000).strip()
            parts.append(f"{key}: {dumped.removesuffix('...').strip()}")
    return "{" + ", ".join(parts) + "}"
