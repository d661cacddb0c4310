"""The operations subcommands of ``bedrock-customize``: register them on the CLI's subparsers.

Each command is ``cmd_<name>(args) -> int`` wrapped by :func:`pipeline.operate.errors.guarded`
and set as the parser's ``handler`` (the convention of pipeline/cli.py). Heavy modules (boto3,
matplotlib, the report) are imported inside the commands, so ``bedrock-customize validate`` starts
as fast as before.

Exit codes: 0 done, 1 operational failure (the message says what to do next), 2 invalid input
(bad run spec, unknown run, refused delete, confirmation needed without --yes).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipeline.catalog import CUSTOMIZATION_TYPES
from pipeline.operate import commands_billing, commands_runs, commands_slots, commands_start, output
from pipeline.operate.cli_options import (
    CLI,
    aws_options,
    json_option,
    parser_for,
    positive_int,
)
from pipeline.operate.errors import EXIT_OK, EXIT_OPERATIONAL, guarded


def register(subparsers: Any) -> None:
    """Add every operations subcommand to the CLI's ``add_subparsers()`` object."""
    _add_models(subparsers)
    _add_compare(subparsers)
    _add_deploy_info(subparsers)
    commands_start.register(subparsers)
    commands_runs.register(subparsers)
    commands_billing.register(subparsers)
    commands_slots.register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the operations commands (tests; the real CLI is pipeline.cli)."""
    parser = argparse.ArgumentParser(prog=CLI)
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------


def _add_models(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "models",
        "which base models can be customized, how, where, with which data and prices",
        "The catalog as tables: every base model this pipeline can customize, its customization types with "
        "the "
        "data format each needs, input/output modalities, regions, training record limits, and the prices "
        "known (with the date they were seen). A model that is not listed cannot be customized here.",
        f"  {CLI} models\n  {CLI} models --type DISTILLATION --region us-east-1\n"
        f"  {CLI} models amazon.nova-micro-v1:0:128k       # every fact about one model\n"
        f"  {CLI} models anthropic.claude-3-5-sonnet       # not customizable: exit 2\n"
        f"  {CLI} models --live --region us-west-2         # what the region offers, beside the catalog",
    )
    parser.add_argument(
        "model",
        nargs="?",
        metavar="MODEL",
        help="a model id or part of one: show only matching models (details for an exact id)",
    )
    parser.add_argument("--region", metavar="REGION", help="only models customizable in this region")
    parser.add_argument(
        "--type",
        dest="customization_type",
        choices=CUSTOMIZATION_TYPES,
        metavar="TYPE",
        help=f"only models supporting this customization type: {', '.join(CUSTOMIZATION_TYPES)}",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="ask Bedrock what the region (--region, default: your AWS configuration) offers for "
        "customization (ListFoundationModels per type) and flag every difference with the catalog",
    )
    json_option(parser)
    parser.set_defaults(handler=cmd_models)


@guarded
def cmd_models(args: argparse.Namespace) -> int:
    from pipeline.operate import models_table

    if args.live:
        return _models_live(args)
    models, total = models_table.models_view(args.region, args.customization_type, args.model)
    if args.json:
        output.emit_json([m.to_dict() for m in models])
        return EXIT_OK
    exact = [m for m in models if m.model_id == args.model]
    if exact:
        sys.stdout.write(models_table.render_detail(exact[0]))
        return EXIT_OK
    filters = "".join(
        f" {label} {value}"
        for label, value in (("matching", args.model), ("in", args.region), ("for", args.customization_type))
        if value
    )
    sys.stdout.write(models_table.render(models, total=total, filters=filters))
    return EXIT_OK


def _models_live(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, offering

    clients = aws.clients_for(args.region)
    result = offering.compare(offering.list_offering(clients("bedrock")), region=clients.region)
    query = (args.model or "").lower()
    rows = tuple(
        r
        for r in result.rows
        if query in r.model_id.lower()
        and (args.customization_type is None or args.customization_type in (*r.catalog_types, *r.live_types))
    )
    result = offering.Offering(result.region, result.day, rows)
    if args.json:
        output.emit_json(result.to_dict())
    else:
        sys.stdout.write(result.render())
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------------


def _add_compare(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "compare",
        "send the same prompts to several models and compare quality, latency, tokens and cost",
        "Model selection before customizing: every prompt of --prompts goes through the Converse API to each "
        "model (temperature 0, 512 output tokens), and each answer is scored against the prompt's reference "
        "with "
        "the workflow's own scoring (ROUGE-L quality, token F1). Shows quality, p50/p95 latency, "
        "input/output "
        "tokens and cost per 1,000 requests side by side, with each model's capabilities from the catalog. "
        "Every prompt is a billed request to every model.",
        f"  {CLI} compare amazon.nova-micro-v1:0 amazon.nova-lite-v1:0 --prompts "
        "examples/prompts/eval-prompts.jsonl\n"
        f"  {CLI} compare amazon.nova-micro-v1:0 support-nova-micro-3f9a2c1b7d --prompts eval.jsonl --html "
        "out/\n"
        "  (a run id compares that run's custom model on its provisioned throughput or on-demand deployment)",
    )
    parser.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="foundation model id (amazon.nova-micro-v1:0), inference profile (us.amazon.nova-pro-v1:0), "
        "run id "
        "or provisioned-throughput ARN (a custom model), or custom-model-deployment ARN",
    )
    parser.add_argument(
        "--prompts",
        required=True,
        metavar="FILE",
        help='JSONL of {"prompt", "reference"} (local path or s3:// URI); training-format records work too',
    )
    parser.add_argument(
        "--max-prompts",
        type=positive_int,
        default=50,
        metavar="N",
        help="use the first N prompts (default: 50)",
    )
    parser.add_argument(
        "--html", metavar="DIR", help="also write compare.html, compare.md and compare.png to DIR"
    )
    parser.add_argument(
        "--judge",
        nargs="?",
        const="amazon.nova-pro-v1:0",
        default=None,
        metavar="JUDGE_MODEL",
        help="also have an LLM judge score every model's answers: one Bedrock evaluation job per model "
        "(billed judge tokens; default judge amazon.nova-pro-v1:0)",
    )
    parser.add_argument(
        "--judge-metrics",
        metavar="NAMES",
        help="comma-separated built-in judge metrics (default: Builtin.Correctness,Builtin.Completeness)",
    )
    parser.add_argument(
        "--judge-role", metavar="ARN", help="with --judge: the stack's evaluation-job role (deploy-info)"
    )
    parser.add_argument(
        "--judge-bucket", metavar="BUCKET", help="with --judge: the stack's training bucket (deploy-info)"
    )
    aws_options(parser, env=False)
    parser.set_defaults(handler=cmd_compare)


@guarded
def cmd_compare(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, compare, report

    clients = aws.clients_for(args.region)
    labels = compare.unique(args.models)
    judge_options = None
    if args.judge is not None:
        from pipeline.operate import compare_judge

        judge_options = compare_judge.options(
            args.judge, args.judge_metrics, args.judge_role, args.judge_bucket, clients.region
        )
    prompt_set = compare.read_prompt_file(args.prompts, clients, args.max_prompts)
    targets = [compare.resolve(label, clients) for label in labels]
    count = len(prompt_set.prompts)
    output.note(f"asking {len(targets)} model(s) {count} prompt(s): {len(targets) * count} billed request(s)")
    result = compare.run(targets, prompt_set, clients("bedrock-runtime").converse, progress=output.note)
    judged = None
    if judge_options is not None:
        from pipeline.operate import compare_judge

        judged = compare_judge.run(result, judge_options, clients, progress=output.note)
    written = None
    if args.html:
        written = report.render_comparison(
            "Model comparison: " + " vs ".join(labels),
            result.models,
            result.rows,
            result.notes(),
            args.html,
            source=args.prompts,
        )
    if args.json:
        output.emit_json(
            {**result.to_dict(), "judge": judged, "files": written.to_dict() if written else None}
        )
    else:
        sys.stdout.write(result.render())
        if judged is not None:
            from pipeline.operate import compare_judge

            sys.stdout.write(compare_judge.render(judged))
        if written:
            print(f"\nreport: {written.html}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# deploy-info
# --------------------------------------------------------------------------------------------------


def _add_deploy_info(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "deploy-info",
        "where the deployed pipeline is, and whether you can use it",
        "Find the deployed pipeline of --env in --region (SSM parameter "
        "/bedrock-customization/ENV/deployment, "
        "else the outputs of stack BedrockCustomization-ENV) and check with read-only calls what your "
        "credentials can do with it. Exit 1 when a check fails.",
        f"  {CLI} deploy-info\n  {CLI} deploy-info --env prod --region us-east-1 --json",
    )
    aws_options(parser)
    parser.set_defaults(handler=cmd_deploy_info)


@guarded
def cmd_deploy_info(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, discovery

    clients = aws.clients_for(args.region)
    deployment = discovery.discover(clients, args.env)
    identity, probes = discovery.probe_access(clients, deployment)
    ok = all(p.ok for p in probes)
    if args.json:
        output.emit_json(
            {
                "deployment": deployment.to_dict(),
                "identity": identity,
                "checks": [p.to_dict() for p in probes],
                "usable": ok,
                "writePermissions": dict(discovery.WRITE_PERMISSIONS),
            }
        )
    else:
        print(
            output.key_values(
                [
                    (
                        "Environment",
                        f"{deployment.environment} ({deployment.region}, account {deployment.account})",
                    ),
                    ("Found via", deployment.source),
                    ("Stack", deployment.stack_name),
                    ("Workflow", deployment.state_machine_arn),
                    ("Bucket", f"s3://{deployment.training_bucket}"),
                    ("Key", deployment.key_arn),
                    ("Bedrock role", deployment.bedrock_service_role_arn),
                    ("Topic", deployment.topic_arn),
                    (
                        "Approvals",
                        f"{deployment.approval_url or 'no approval URL (an older deployment)'}"
                        + (
                            f"\nanswered as {deployment.approver_role_arn}"
                            + (" (MFA required)" if deployment.approver_mfa else "")
                            if deployment.approver_role_arn
                            else ""
                        ),
                    ),
                    (
                        "Starts",
                        deployment.start_url or "StartExecution (an older deployment: no starter record)",
                    ),
                    ("You are", (identity or {}).get("arn") or "unknown"),
                ]
            )
        )
        print()
        print(
            output.table(
                ["CHECK", "ACTION", "OK", "DETAIL"],
                [[p.name, p.action, "yes" if p.ok else "NO", p.detail] for p in probes],
            )
        )
        print("\nNot probed (they change things); what the other commands need:")
        for command, needs in discovery.WRITE_PERMISSIONS:
            print(f"  {command}: {needs}")
        print(
            "\n"
            + ("You can use this pipeline." if ok else "Some checks failed: see DETAIL, then ask for access.")
        )
    return EXIT_OK if ok else EXIT_OPERATIONAL
