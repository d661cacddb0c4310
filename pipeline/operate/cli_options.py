"""What every operations subcommand of ``bedrock-customize`` shares: its parser, the AWS options
(--env, --region), --json, --offline, --yes, and the typed argument parsers.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from typing import Any, Final

CLI: Final = "bedrock-customize"
DEFAULT_ENV: Final = "dev"
DEFAULT_INTERVAL: Final = 30.0

EXIT_CODES: Final = """\
exit codes:
  0  done
  1  operational failure (AWS refused or unreachable): the message says what to do next
  2  invalid input (bad run spec, unknown run, refused delete, --yes needed without a terminal)
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that fits the terminal: argparse wraps the options; this wraps the description and
    the epilog's prose and list items too (with a hanging indent), keeping their layout. A line
    that is a command to copy (an example) is left whole: breaking it would break the command."""

    _ITEM = re.compile(r"(\s*)(\S{1,4}\s{2,}|- )")

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        for line in text.splitlines():
            if len(indent) + len(line) <= width or line.lstrip().startswith(CLI):
                lines.append(indent + line)
                continue
            item = self._ITEM.match(line)
            lead = item.group(0) if item else line[: len(line) - len(line.lstrip())]
            lines += textwrap.wrap(
                line[len(lead) :],
                width=max(20, width - len(indent)),
                initial_indent=indent + lead,
                subsequent_indent=indent + " " * len(lead),
                break_on_hyphens=False,
            )
        return "\n".join(lines)


def parser_for(
    subparsers: Any,
    name: str,
    help_text: str,
    description: str,
    examples: str,
    *,
    exit_codes: str = EXIT_CODES,
) -> argparse.ArgumentParser:
    """A subcommand's parser: its description, then one list of its exit codes and its examples."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help_text,
        # Raw formatting keeps the epilog's layout, so the description is wrapped here.
        description=description,
        epilog=f"{exit_codes}\nexamples:\n{examples}",
        formatter_class=HelpFormatter,
    )
    return parser


def aws_options(
    parser: argparse.ArgumentParser, *, env: bool = True, env_default: str | None = DEFAULT_ENV
) -> None:
    """--env (the deployment environment), --region and --json.

    ``env_default=None``: --env narrows what the command shows instead of choosing where it acts.
    """
    if env:
        where = f"(default: {env_default})" if env_default else "(default: every environment in the region)"
        parser.add_argument(
            "--env",
            default=env_default,
            metavar="ENV",
            help=f"deployment environment of the pipeline, as in cdk.json {where}; found via the "
            "SSM parameter /bedrock-customization/ENV/deployment or the stack BedrockCustomization-ENV",
        )
    parser.add_argument(
        "--region",
        metavar="REGION",
        help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION or your profile's region); "
        "credentials come "
        "from the usual chain (AWS_PROFILE, SSO, environment)",
    )
    json_option(parser)


def json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (for scripts and CI)"
    )


def offline_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--offline",
        action="store_true",
        help=f"ask AWS for no live facts ({what}); also BEDROCK_CUSTOMIZE_OFFLINE=1. Without "
        "usable AWS credentials the command is offline anyway and says so",
    )


def yes_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help=f"{what} without asking (required without a terminal, e.g. in CI)",
    )


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def deployment_context(args: argparse.Namespace) -> tuple[Any, Any]:
    """AWS clients for --region and the deployed pipeline of --env (discovery)."""
    from pipeline.operate import aws, discovery

    clients = aws.clients_for(args.region)
    return clients, discovery.discover(clients, args.env)
