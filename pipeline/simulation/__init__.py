"""The workflow, run offline: the synthesized state machine on a laptop, every path, no AWS account.

``bedrock-customize simulate RUN_SPEC [--scenario NAME]`` (or ``python -m pipeline.simulation``)
executes the state machine definition taken from the synthesized template in moto's Step
Functions interpreter, with the project's real Lambda handlers running in-process, Bedrock served
by a simulated Bedrock behind its real API shapes, S3/SNS/IAM/KMS/Lambda/Step Functions from
moto, and every wait compressed on a simulated clock. It prints a timeline, the notifications,
what was created and bought, the money invariants and the billed state transitions; the last
line is the execution's final status (SUCCEEDED or FAILED).

Modules:

- ``runner``: one simulation end to end
- ``ground_truth``: what the simulated models answer from (the datasets' references, a made-up
  truth for prompts a distillation teacher answers); ``earlier_runs``: what earlier runs left (a
  reused run id's resources, the run a promotion promotes); ``serving_slot``: a slot that exists
  before the run, and the slot invariants; ``service_quotas``: the simulated account's quotas
- ``actors``: the approver, an operator who stops a run, EventBridge's execution-status event
- ``result``, ``invariants``, ``text``: what a simulation found, the money invariants, the summary
- ``template``: the synthesized template's resources created in moto, tokens resolved
- ``interpreter``: what moto's ASL interpreter needs to run the definition as AWS would (time
  compression, the Bedrock ``.sync`` integration, aws-sdk case mapping, error-name fidelity)
- ``lambdas``: the workflow's functions registered in moto and executed in-process
- ``fake_bedrock/``: the simulated Bedrock, one module per service area (jobs, models,
  throughput, deployments, evaluation jobs, runtime) over shared plumbing, and its ledger
- ``wire``: REST-JSON requests and responses from botocore's service models
- ``faults``: configurable fault injection (which call, how often, which error)
- ``clock``: the simulated clock, deadlines and compressed waits
- ``scenarios`` + ``scenarios.json``: the named scenarios, as data
- ``cli``: the ``simulate`` command
- ``sandbox``, ``sandbox_cli``, ``realtime``: ``bedrock-customize sandbox``, the same world served on
  127.0.0.1 as a local AWS endpoint for the real CLI, with real waits compressed by ``--speed``;
  ``sandbox_stack`` (the stack deployed as environment ``sandbox``), ``sandbox_routes`` (its HTTP
  routes), ``sandbox_events`` (EventBridge events, notifications, logs)

Nothing here is imported by a Lambda handler: it needs moto, which the functions never ship.
"""

from __future__ import annotations

from typing import Final

DEFAULT_SCENARIO: Final = "happy"
DEFAULT_TEMPLATE: Final = "cdk.out/BedrockCustomization-dev.template.json"
DEFAULT_OUT: Final = "build/simulation"
