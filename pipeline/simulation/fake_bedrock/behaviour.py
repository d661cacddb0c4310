"""What the simulated Bedrock does in a scenario: how jobs, purchases, deployments and judge jobs end,
and how well and how fast each kind of model answers. Scenarios configure these (as data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobBehaviour:
    """How customization jobs end. Losses are (first step, final) of a smooth decreasing curve."""

    duration_seconds: int = 3 * 3600
    outcome: str = "Completed"  # Completed | Failed | Stopped
    failure_message: str = "Training failed: an internal error occurred (simulated)"
    training_loss: tuple[float, float] = (2.4, 0.9)
    validation_loss: tuple[float, float] = (2.6, 1.1)
    steps: int = 40
    # Reinforcement fine-tuning: the share of sampled answers that are right, first step to last (the
    # grader's mean reward follows it); at most ``steps`` steps, one grader call per step.
    reward: tuple[float, float] = (0.3, 0.85)


@dataclass(frozen=True)
class ThroughputBehaviour:
    creating_seconds: int = 15 * 60
    outcome: str = "InService"  # InService | Failed | Creating (stays Creating)
    failure_message: str = "Insufficient capacity for the requested model units (simulated)"
    delete_while_creating: bool = True
    # How long an in-place model change (UpdateProvisionedModelThroughput) takes: UNCONFIRMED.
    update_seconds: int = 15 * 60


@dataclass(frozen=True)
class DeploymentBehaviour:
    """How custom model deployments (on-demand serving) end up."""

    creating_seconds: int = 8 * 60  # a third party saw Active after ~8 min [bedrock.md §12]
    outcome: str = "Active"  # Active | Failed | Creating (stays Creating)
    failure_message: str = "The custom model deployment could not be created: an internal error occurred"
    # How long an in-place model change (UpdateCustomModelDeployment) takes: UNCONFIRMED.
    update_seconds: int = 10 * 60


@dataclass(frozen=True)
class ModelBehaviour:
    """Answer quality (ROUGE-L against the reference, 0-1) and latency of each kind of model.

    ``base_error``: an error code (one Converse models, e.g. AccessDeniedException) that every
    Converse call on the on-demand base model fails with; None: the base model answers.
    """

    custom_quality: float = 0.85  # a model this simulation trained (a declared champion has its own)
    base_quality: float = 0.45
    # A distillation teacher answering for the references (evaluation.references=teacher): how close
    # its answers come to the ground truth the simulation knows.
    teacher_quality: float = 0.95
    custom_latency_ms: int = 300
    base_latency_ms: int = 450
    ms_per_output_token: float = 8.0
    base_error: str | None = None
    # Every Nth Converse call on the base model fails with ModelErrorException (the model could not
    # answer that prompt; evaluated as a failed call, never retried); None: none fail.
    base_error_every: int | None = None
    # What GetFoundationModel says of the base model: ACTIVE, LEGACY, or GONE (not found).
    live_lifecycle: str = "ACTIVE"


@dataclass(frozen=True)
class JudgeBehaviour:
    """How LLM-judge evaluation jobs end and what the judge scores (0..1, mean over prompts and
    metrics) for the custom model's answers, the base model's and a serving slot's champion's."""

    seconds: int = 25 * 60
    outcome: str = "Completed"  # Completed | Failed
    custom_score: float = 0.85
    base_score: float = 0.6
    champion_score: float = 0.7
    failure_message: str = "The evaluator model could not be invoked: access denied (simulated)"


@dataclass(frozen=True)
class BedrockBehaviour:
    job: JobBehaviour = JobBehaviour()
    throughput: ThroughputBehaviour = ThroughputBehaviour()
    deployment: DeploymentBehaviour = DeploymentBehaviour()
    models: ModelBehaviour = ModelBehaviour()
    judge: JudgeBehaviour = JudgeBehaviour()
