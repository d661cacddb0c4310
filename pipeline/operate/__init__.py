"""Operating customization runs from a terminal or CI: the CLI's start/watch/approve/report commands.

Everything here runs on the operator's machine, never in a Lambda function: it may import boto3,
PyYAML and matplotlib. The workflow's own code (run specs, catalog, validation, plan, scoring) is
imported from ``pipeline`` and never copied, so the CLI and the deployed workflow agree on every
rule, name and price.

Modules:

- ``errors``: exit codes and the one place AWS errors become "what to do next" messages
- ``aws``: the injectable boto3 client factory (tests pass moto or Stubber clients)
- ``output``: tables (rich, as wide as the terminal), money and time formatting, --json, confirmations
- ``hints``: every command printed for a person to run, with the --env/--region it ran with
- ``discovery``: where the deployed pipeline is (SSM manifest, else stack outputs)
- ``run_history``, ``runs``, ``run_text``: a run's execution history and job; its view (state,
  vehicle, serving, cost so far); the view in words (status, list, next steps)
- ``run_actions``: approve, reject, cancel
- ``watch``, ``commands_watch``: following a run (live panel, lines or JSON lines, retries)
- ``start``: preflight, content-addressed upload, idempotent StartExecution, ``--rerun`` attempts
- ``estimate``, ``models_table``, ``throughput``, ``sweep``, ``compare``, ``report``
- ``livecheck``: GetFoundationModel for `check`/`start` (pipeline.live), or why it was not asked
- ``quota_check``: the account's Bedrock quotas for `check`/`estimate`/`start` (pipeline.quotas)
- ``prices``: the Price List API (pipeline.pricelist), its on-disk cache, the catalog offline
- ``offering``: `models --live`, ListFoundationModels per type beside the catalog
- ``commands``: the argparse subcommands (``register(subparsers)``)
"""

from __future__ import annotations
