"""The ``audiostress`` command line: each command parses options and calls one library function."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from . import __version__


class UserError(click.ClickException):
    """One clear line on stderr and exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"audiostress: error: {self.format_message()}", err=True)


def fail(exc: BaseException) -> UserError:
    return UserError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audiostress")
def main() -> None:
    """Stress-test audio deepfake detectors against corruptions and codecs."""


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--detectors", "detectors", is_flag=True, help="Show the detector card schema and loader specs instead.")
def list_cmd(as_json: bool, detectors: bool) -> None:
    """List every corruption with its parameters, units and severity tables."""
    from .listing import describe_corruptions, describe_detectors, format_corruptions, format_detectors

    if detectors:
        info = describe_detectors()
        click.echo(json.dumps(info, indent=2) if as_json else format_detectors(info))
        return
    info = describe_corruptions()
    click.echo(json.dumps(info, indent=2, default=str) if as_json else format_corruptions(info))


@main.command("corrupt")
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("-c", "--corruption", "name", required=True, help="Corruption name (see `audiostress list`).")
@click.option("-s", "--severity", type=int, default=None, help="Severity 0..5 (0 = clean).")
@click.option("--table", default=None, help="Named severity table (default: the corruption's main table).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="Parameter value; repeatable. `a..b` samples a range, `a|b` a choice.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random draws.")
def corrupt_cmd(src: str, dst: str, name: str, severity: int | None, table: str | None, params: tuple[str, ...], seed: int) -> None:
    """Write SRC corrupted by one corruption to DST (WAV or FLAC) for listening."""
    from .audio import AudioError
    from .corrupt_file import corrupt_file

    try:
        parsed = parse_params(params)
        node, path = corrupt_file(src, dst, name, severity=severity, params=parsed, table=table, seed=seed)
    except (ValueError, TypeError, AudioError, RuntimeError) as exc:
        raise fail(exc) from exc
    click.echo(f"wrote {path} ({node.label()} {json.dumps(node.to_dict().get('params', {}))})")


def parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    """``("snr_db=10", "color=pink")`` -> ``{"snr_db": 10, "color": "pink"}``."""
    from .corruptions import parse_cli_value

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"Expected --param as KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_cli_value(value)
    return out


# -- commands added by later parts: sweep, merge, report, demo ---------------------------


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
