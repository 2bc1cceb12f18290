"""What `audiostress list` shows: corruptions, cascades and the detector card schema."""

from __future__ import annotations

from typing import Any

from .corruptions import CASCADES, available, get


def describe_corruptions() -> list[dict[str, Any]]:
    """One description per registered corruption and cascade (the clean identity excluded)."""
    out = []
    for name in available():
        if name == "clean":
            continue
        out.append(CASCADES[name].describe() if name in CASCADES else get(name).describe())
    return out


def _fmt_level(level: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in level.items())


def format_corruptions(info: list[dict[str, Any]]) -> str:
    """Plain-text listing grouped by family."""
    lines: list[str] = []
    families: dict[str, list[dict[str, Any]]] = {}
    for item in info:
        families.setdefault(item["family"], []).append(item)
    for family, items in families.items():
        lines.append(f"== {family} ==")
        for item in items:
            lines.append(f"{item['name']}: {item['description']}")
            if "stages" in item:
                lines.append(f"    stages: {' -> '.join(item['stages'])}")
                for s, level in enumerate(item["levels"], start=1):
                    lines.append(f"    severity {s}: " + "; ".join(f"{k}: {_fmt_level(v)}" for k, v in level.items()))
                continue
            for p in item["params"]:
                unit = f" [{p['unit']}]" if p["unit"] else ""
                lines.append(f"    --param {p['name']}{unit}  default {p['default']!r}, allowed {p['allowed']}")
            tables = ([item["levels"]] if item["levels"] else []) + list(item["tables"].values())
            for table in tables:
                lines.append(f"    table {table['name']} ({table['source']}):")
                for s, level in enumerate(table["levels"], start=1):
                    lines.append(f"      {s}: {_fmt_level(level)}")
        lines.append("")
    lines.append(f"{len(info)} corruptions. Severity 0 of every corruption is the clean identity.")
    return "\n".join(lines)


def describe_detectors() -> dict[str, Any]:
    """The detector loader specs and the YAML card schema."""
    from .detectors.card import card_schema

    return card_schema()


def format_detectors(info: dict[str, Any]) -> str:
    lines = ["Detector specs:"]
    for spec, text in info.get("specs", {}).items():
        lines.append(f"  {spec:<28} {text}")
    lines.append("")
    lines.append("Detector card (YAML) keys:")
    for key, text in info.get("keys", {}).items():
        lines.append(f"  {key:<28} {text}")
    if info.get("example"):
        lines.append("")
        lines.append("Example card:")
        lines.extend("  " + line for line in info["example"].splitlines())
    return "\n".join(lines)
