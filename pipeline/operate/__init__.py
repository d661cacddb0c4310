"""Operating customization runs from a terminal or CI: the CLI's start/watch/approve/report commands.

Everything here runs on the operator's machine, never in a Lambda function: it may import boto3,
PyYAML and matplotlib. The workflow's own code (run specs, catalog, validation, plan, scoring) is
imported from ``pipeline`` and never copied, so the CLI and the deployed workflow agree on every
rule, name and price.

Modules:

- ``errors``: exit codes and the one place AWS errors become "what to do next" messages
- ``aws``: the injectable boto3 client factory (tests pass moto or Stubber clients)
- ``output``: tables (rich, as wide as the terminal), time formatting, --json, confirmations
  (money reads the same everywhere: ``pipeline.money``)
- ``hints``: every command printed for a person to run, with the --env/--region it ran with
- ``discovery``: where the deployed pipeline is (SSM manifest, else stack outputs)
- ``run_history``, ``run_lookup``, ``runs``, ``run_text``: a run's execution history and job;
  finding and reading runs from AWS (one, or the list); its view (state, vehicle, serving, cost
  so far); the view in words (status, list, next steps)
- ``run_actions``: approve, reject, cancel
- ``watch``, ``commands_watch``: following a run (live panel, lines or JSON lines, retries)
- ``start``: preflight, content-addressed upload, idempotent StartExecution, ``--rerun`` attempts
- ``estimate``, ``models_table``, ``throughput``, ``sweep``, ``compare``
- ``report/``: a run's report, its data (artifacts, tables) apart from its rendering (charts, HTML, Markdown)
- ``livecheck``: GetFoundationModel for `check`/`start` (pipeline.live), or why it was not asked
- ``quota_check``: the account's Bedrock quotas for `check`/`estimate`/`start` (pipeline.quotas)
- ``prices``: the Price List API (pipeline.pricelist), its on-disk cache, the catalog offline
- ``offering``: `models --live`, ListFoundationModels per type beside the catalog
- ``commands``, ``commands_start``, ``commands_runs``, ``commands_watch``, ``commands_billing``: the
  argparse subcommands (``register(subparsers)``, all called from ``commands.register``);
  ``commands_start`` holds ``estimate`` and ``start``, ``commands_runs`` the commands on a run that
  exists, ``commands_billing`` ``throughput`` and ``sweep``
"""

from __future__ import annotations
