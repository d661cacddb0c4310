"""A CloudWatch dashboard of the pipeline: its runs, what they cost in hours, and how models scored."""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.pipeline_function import service_name
from lambdas.common import metric_names

# Runs are few and long (training takes hours to days): one point a day reads better than gaps.
PERIOD: Final = Duration.days(1)
WIDTH: Final = 8
HEIGHT: Final = 6


class PipelineDashboard(Construct):
    """Runs (the handlers' metrics and the state machine's executions), the failed-run alarm,
    training and throughput hours, and the evaluation scores, for one deployed environment.

    The handlers' metrics (``lambdas.common.metric_names``) carry the dimension ``service`` = the
    stack name, which every :class:`PipelineFunction` gets as ``POWERTOOLS_SERVICE_NAME``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        failed_alarm: cloudwatch.IAlarm,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = service = service_name(self)
        stack = Stack.of(self)
        executions = [
            state_machine.metric_started(period=PERIOD, label="started"),
            state_machine.metric_succeeded(period=PERIOD, label="succeeded"),
            state_machine.metric_failed(period=PERIOD, label="failed"),
            state_machine.metric_aborted(period=PERIOD, label="aborted (stopped)"),
            state_machine.metric_timed_out(period=PERIOD, label="timed out"),
        ]
        by_error = cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{metric_names.NAMESPACE},{metric_names.ERROR},{metric_names.SERVICE}}} "
                f'MetricName="{metric_names.RUNS_FAILED_BY_ERROR}" '
                f"{metric_names.SERVICE}=\"{service}\"', 'Sum', {int(PERIOD.to_seconds())})"
            ),
            using_metrics={},
            label="",
            period=PERIOD,
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            # Dashboard names are unique per account, across regions.
            dashboard_name=f"{stack.stack_name}-{stack.region}",
            default_interval=Duration.days(30),
            widgets=[
                [
                    cloudwatch.TextWidget(
                        markdown=(
                            f"## Bedrock customization: {service}\n"
                            "Runs counted by the pipeline's functions (namespace "
                            f"`{metric_names.NAMESPACE}`): started = passed preflight; succeeded and "
                            "failed = reached the run record. A run stopped or timed out shows only in "
                            "the executions and the alarm. Hours: training = job created to ended; "
                            "committed = model units x term; released = model units x hours of each "
                            "no-commitment throughput the pipeline deleted."
                        ),
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                    cloudwatch.AlarmWidget(
                        alarm=failed_alarm,
                        title="Runs failed, timed out or stopped (alarm)",
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                    cloudwatch.GraphWidget(
                        title="Executions of the state machine",
                        left=executions,
                        statistic="Sum",
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Runs",
                        left=[
                            self.metric(metric_names.RUNS_STARTED, "started"),
                            self.metric(metric_names.RUNS_REJECTED, "rejected at preflight"),
                            self.metric(metric_names.RUNS_SUCCEEDED, "succeeded"),
                            self.metric(metric_names.RUNS_FAILED, "failed"),
                        ],
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                    cloudwatch.GraphWidget(
                        title="Failed runs by error", left=[by_error], width=WIDTH, height=HEIGHT
                    ),
                    cloudwatch.GraphWidget(
                        title="Training hours",
                        left=[self.metric(metric_names.TRAINING_HOURS, "training hours")],
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Provisioned Throughput",
                        left=[
                            self.metric(metric_names.THROUGHPUT_COMMITTED_MU_HOURS, "committed MU-hours"),
                            self.metric(metric_names.THROUGHPUT_RELEASED_MU_HOURS, "released MU-hours"),
                        ],
                        right=[
                            self.metric(metric_names.THROUGHPUT_MODEL_UNITS_BOUGHT, "model units bought"),
                            # Owned by an ended run, not deletable yet: the retrying release's work.
                            self.metric(metric_names.STILL_BILLING, "still billing after its run", "Maximum"),
                        ],
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                    cloudwatch.GraphWidget(
                        title="Evaluation quality (judged evaluations)",
                        left=[
                            self.metric(metric_names.CUSTOM_MODEL_QUALITY, "custom", "Average"),
                            self.metric(metric_names.BASE_MODEL_QUALITY, "base", "Average"),
                        ],
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                    cloudwatch.GraphWidget(
                        title="Evaluations",
                        left=[
                            self.metric(metric_names.EVALUATIONS_JUDGED, "judged"),
                            self.metric(metric_names.EVALUATIONS_PASSED, "passed the bar"),
                            self.metric(metric_names.EVALUATIONS_JUDGED, "evaluated", "SampleCount"),
                        ],
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                ],
            ],
        )

    def metric(self, name: str, label: str, statistic: str = "Sum") -> cloudwatch.Metric:
        """One of the handlers' metrics of this environment."""
        return cloudwatch.Metric(
            namespace=metric_names.NAMESPACE,
            metric_name=name,
            dimensions_map={metric_names.SERVICE: self.service},
            statistic=statistic,
            period=PERIOD,
            label=label,
        )
