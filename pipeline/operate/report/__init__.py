"""The run report people read instead of JSON: one self-contained HTML page, Markdown and PNG charts.

Input is a run's artifacts as the workflow writes them under ``runs/<runId>/`` (record.json,
loss-curves.json, evaluation.json), read from S3 or from a local directory with the same files.
The report follows the run: the loss gate, what the custom model was evaluated on (an on-demand
deployment or an evaluation throughput) and the quality gate's verdict (passed, failed, or not
judged when too many calls failed), the approval, how the model is served (its deployment, or its
provisioned throughput), the smoke check, and what was released.
Charts are drawn once with matplotlib (no pyplot, no global state) and written twice: inline SVG in
the HTML, so the page needs nothing else, and PNG files next to it for the Markdown. An unknown
number is shown as "unknown" and drawn as no bar, never as zero.

matplotlib is a CLI dependency only: no Lambda handler imports this module.

The package: :mod:`.artifacts` (loading a run's files), :mod:`.cells` and :mod:`.tables` (what the
artifacts say, as rows of text), :mod:`.charts` (matplotlib, SVG and PNG) and :mod:`.render` (the
HTML and Markdown pages).
"""

from pipeline.operate.report.artifacts import (
    ARTIFACTS,
    CURVES,
    ENDED,
    EVALUATION,
    JUDGE,
    PREFLIGHT,
    RECORD,
    RunArtifacts,
    load_dir,
    load_s3,
)
from pipeline.operate.report.charts import (
    COMPARISON_PNG,
    LOSS_PNG,
    PALETTE,
    REWARD_PNG,
    Chart,
    comparison_chart,
    loss_chart,
    reward_chart,
)
from pipeline.operate.report.render import Written, render_comparison, render_run
from pipeline.operate.report.tables import (
    Table,
    comparison_table,
    cost_table,
    datasets_table,
    decisions_table,
    judge_table,
    judge_worst_table,
    loss_table,
    prompts_table,
    record_table,
    serving_table,
)

__all__ = [
    "ARTIFACTS",
    "COMPARISON_PNG",
    "CURVES",
    "ENDED",
    "EVALUATION",
    "JUDGE",
    "LOSS_PNG",
    "PALETTE",
    "PREFLIGHT",
    "RECORD",
    "REWARD_PNG",
    "Chart",
    "RunArtifacts",
    "Table",
    "Written",
    "comparison_chart",
    "comparison_table",
    "cost_table",
    "datasets_table",
    "decisions_table",
    "judge_table",
    "judge_worst_table",
    "load_dir",
    "load_s3",
    "loss_chart",
    "loss_table",
    "prompts_table",
    "record_table",
    "render_comparison",
    "render_run",
    "reward_chart",
    "serving_table",
]
