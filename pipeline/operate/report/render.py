"""The run report's pages: one self-contained HTML page and a Markdown file per run (``report``) and
per ``compare``, with the charts inline as SVG and as PNG files next to the Markdown. The page loads
nothing from anywhere (its Content-Security-Policy says so).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pipeline import money, scoring
from pipeline.operate import output
from pipeline.operate.report.artifacts import RECORD, RunArtifacts
from pipeline.operate.report.cells import number_cell
from pipeline.operate.report.charts import (
    COMPARISON_PNG,
    LOSS_PNG,
    REWARD_PNG,
    Chart,
    comparison_chart,
    loss_chart,
    reward_chart,
)
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

_CSS: Final = """
:root { color-scheme: light; --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --pass:#047857; --fail:#b91c1c;
  --warn:#b45309; --bg:#f9fafb; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--ink); margin: 0;
  background: var(--bg); line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
.sub { color: var(--muted); font-size: 13px; margin-bottom: 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.card { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 18px; font-weight: 600; margin-top: 4px; overflow-wrap: anywhere; }
.card .note { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 13px; font-weight: 600;
  color: white; background: var(--muted); vertical-align: middle; white-space: nowrap; }
#decisions-table td:first-child { white-space: nowrap; }
.badge.passed, .badge.SUCCEEDED, .badge.approved { background: var(--pass); }
.badge.failed, .badge.FAILED, .badge.rejected, .badge.TIMED_OUT, .badge.ABORTED,
.badge.not-judged { background: var(--fail); }
table { border-collapse: collapse; width: 100%; background: white; font-size: 13px;
  border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num.text { white-space: normal; }
.table-wrap { max-width: 100%; overflow-x: auto; }
figure { margin: 0 0 14px; background: white; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 6px; }
details { margin-top: 10px; } summary { cursor: pointer; color: #1d4ed8; }
pre { background: white; border: 1px solid var(--line); padding: 12px; overflow: auto; font-size: 12px; }
.muted { color: var(--muted); font-size: 12px; }
#prompts-table td:first-child, #loss-table td:first-child,
#comparison-table td:first-child, #serving-table td:first-child { white-space: nowrap; }
"""


# The longest cell of a numeric column kept on one line ("$1,234,567.89", "12,345 ms", "16 / 16").
_NUMBER_WIDTH: Final = 16


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = []
    for row in table.rows:
        cells = []
        for i, cell in enumerate(row):
            # A number stays on one line; text in a column of numbers (a model id, how it is
            # billed) wraps, or the table would be wider than the page (the comparison was).
            css = (
                (' class="num"' if len(cell) <= _NUMBER_WIDTH else ' class="num text"')
                if i in table.numeric
                else ""
            )
            text = html.escape(cell).replace("\n", "<br>")
            if table.element_id == "decisions-table" and i == 1:
                text = f'<span class="badge {html.escape(cell.replace(" ", "-"))}">{text}</span>'
            cells.append(f"<td{css}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table id="{table.element_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _html_chart(chart: Chart | None, missing: str) -> str:
    if chart is None:
        return f'<p class="muted">{html.escape(missing)}</p>'
    return (
        f'<figure id="{chart.element_id}" class="chart">{chart.svg}'
        f"<figcaption>{html.escape(chart.caption)} PNG: {html.escape(chart.png_name)}</figcaption></figure>"
    )


def _card(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div>'
        + (f'<div class="note">{html.escape(note)}</div>' if note else "")
        + "</div>"
    )


def _md_table(table: Table) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", "<br>")

    lines = [
        "| " + " | ".join(cell(h) for h in table.headers) + " |",
        "|" + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.headers))) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        # Self-contained by construction: the page may load nothing from anywhere.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


@dataclass
class Written:
    html: Path
    markdown: Path
    pngs: list[Path]

    def to_dict(self) -> dict[str, Any]:
        return {"html": str(self.html), "markdown": str(self.markdown), "png": [str(p) for p in self.pngs]}


def _write(out_dir: Path, stem: str, page: str, markdown: str, charts: Sequence[Chart | None]) -> Written:
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{stem}.html"
    md_path = out_dir / f"{stem}.md"
    html_path.write_text(page, encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    pngs = []
    for chart in charts:
        if chart is not None:
            path = out_dir / chart.png_name
            path.write_bytes(chart.png)
            pngs.append(path)
    return Written(html_path, md_path, pngs)


def _vehicle_kind(record: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> str | None:
    kind = ((record.get("resources") or {}).get("evaluationVehicle") or {}).get("kind")
    return str(kind or (evaluation or {}).get("vehicle") or "") or None


def _vehicle_note(record: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> str:
    """Where the custom model answered, and the rule that turns failed calls into "not judged"."""
    kind = _vehicle_kind(record, evaluation)
    if kind not in ("deployment", "throughput"):
        return ""
    where = (
        "an on-demand deployment"
        if kind == "deployment"
        else "a provisioned throughput bought to evaluate on"
    )
    share = (evaluation or {}).get("maxFailedShare")
    limit = f"{share:.0%}" if isinstance(share, int | float) else "10%"
    return (
        f"The custom model answered on {where}; the base model on demand. Every mean is over the "
        "prompts both models answered (a failed call counts for neither model, and is counted apart). "
        f"When more than {limit} of either model's calls fail, the quality gate says not judged "
        "instead of comparing."
    )


def _evaluated_card(record: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> str:
    kind = _vehicle_kind(record, evaluation)
    estimate = record.get("estimate") or {}
    label = {
        "deployment": "on-demand deployment",
        "throughput": "evaluation throughput",
        "none": "nothing",
    }.get(kind or "", kind or "-")
    note = (
        f"evaluation estimate {money.usd(estimate.get('evaluationUsd'))}"
        if kind in ("deployment", "throughput")
        else ""
    )
    return _card("Evaluated on", label, note)


def _serving_card(record: Mapping[str, Any]) -> str:
    estimate = record.get("estimate") or {}
    mode = (record.get("resources") or {}).get("servingMode") or estimate.get("servingMode")
    if mode == "on-demand":
        return _card("Serving", "on demand", "billed per token, no hourly charge")
    if mode == "none":
        return _card("Serving", "not served")
    return _card(
        "Serving throughput per hour", money.usd(estimate.get("throughputHourlyUsd")), "billed until deleted"
    )


def render_run(artifacts: RunArtifacts, out_dir: str | Path, *, now: dt.datetime | None = None) -> Written:
    """Write report.html, report.md and the PNG charts of one run into ``out_dir``."""
    record = artifacts.record or {}
    spec = artifacts.spec
    custom, base = artifacts.comparison
    # In a serving slot with a champion: the challenger, the champion it must beat, and the base.
    labelled = (("custom", custom), ("champion", artifacts.champion), ("base", base))
    models = [(label, agg) for label, agg in labelled if isinstance(agg, Mapping)]
    loss = loss_chart(artifacts.curves) if artifacts.curves else None
    reward = reward_chart(artifacts.curves) if artifacts.curves else None
    comparison = comparison_chart(models)
    generated = output.utc(now or dt.datetime.now(dt.UTC))
    status = artifacts.status

    decisions = decisions_table(artifacts)
    losses = loss_table(artifacts.curves, record)
    compared = comparison_table(models) if models else None
    cost = cost_table(record)
    served = serving_table(record)
    facts = record_table(artifacts)
    datasets = datasets_table(record)
    rows = (artifacts.evaluation or {}).get("rows") or []
    answered_by = [("custom", "Custom model"), ("base", "Base model")]
    if any(isinstance(row, Mapping) and "champion" in row for row in rows):
        answered_by.insert(1, ("champion", "Champion"))
    prompts = prompts_table(rows, answered_by)
    final = (artifacts.curves or {}).get("final") or {}
    metrics = record.get("metrics") or {}
    estimate = record.get("estimate") or {}
    cards = [
        _card("Status", status, str((record.get("failure") or {}).get("Error") or "")),
        _card("Base model", str(spec.get("baseModel") or "-"), str(spec.get("customizationType") or "")),
        _card("Training loss", number_cell(final.get("trainingLoss", metrics.get("trainingLoss")))),
        _card("Validation loss", number_cell(final.get("validationLoss", metrics.get("validationLoss")))),
        _card(
            "Quality custom / base",
            f"{number_cell((custom or {}).get('quality'))} / {number_cell((base or {}).get('quality'))}",
            "ROUGE-L against the reference answers",
        ),
        _card(
            "Per 1,000 requests custom / base",
            f"{money.usd((custom or {}).get('costPer1000RequestsUsd'))} / "
            f"{money.usd((base or {}).get('costPer1000RequestsUsd'))}",
        ),
        _card("Training (estimate)", money.usd(estimate.get("trainingUsd"))),
        _evaluated_card(record, artifacts.evaluation),
        _serving_card(record),
    ]
    missing_loss = "No loss curves: the job has not finished, or it wrote no metrics files."
    missing_cmp = "No base-vs-custom comparison: the run did not reach the evaluation."
    vehicle_note = _vehicle_note(record, artifacts.evaluation)
    body = [
        f"<h1>Run {html.escape(artifacts.run_id)} "
        f'<span class="badge {html.escape(status)}">{html.escape(status)}</span></h1>',
        f'<div class="sub">Bedrock model customization report, generated {html.escape(generated)} from '
        f"{html.escape(artifacts.source)}</div>",
        f'<section id="summary"><div class="cards">{"".join(cards)}</div></section>',
        '<section id="decisions"><h2>Gates and decisions</h2>' + _html_table(decisions) + "</section>",
        '<section id="loss"><h2>Loss curves</h2>'
        + _html_chart(loss, missing_loss)
        + (_html_chart(reward, "") if reward else "")
        + _html_table(losses)
        + "</section>",
        '<section id="comparison"><h2>Base model vs custom model</h2>'
        + (f'<p class="muted">{html.escape(vehicle_note)}</p>' if vehicle_note else "")
        + _html_chart(comparison, missing_cmp)
        + (_html_table(compared) if compared else "")
        + (
            f'<p class="muted">{html.escape(scoring.QUALITY_DESCRIPTION)}. '
            f"Percentiles: {scoring.PERCENTILE_METHOD}. "
            f"{html.escape(scoring.PT_COST_ASSUMPTION)}.</p>"
        )
        + "</section>",
    ]
    judged = judge_table(artifacts.judge)
    worst = judge_worst_table(artifacts.judge)
    judge_summary = str((artifacts.judge or {}).get("summary") or "")
    if judged:
        body.append(
            '<section id="judge"><h2>Judged by an LLM</h2>'
            + f'<p class="muted">{html.escape(judge_summary)}</p>'
            + _html_table(judged)
            + ("<h3>Where the custom model scored lowest</h3>" + _html_table(worst) if worst else "")
            + '<p class="muted">Scores from a Bedrock evaluation job per model (built-in metrics 0 to 1, '
            "mean over the prompts every compared model answered; in a serving slot with a champion, the "
            "champion's answers through the slot are judged too); the judge's explanations come from its "
            "result files.</p>" + "</section>"
        )
    if prompts:
        count = len(prompts.rows)
        body.append(
            f'<section id="prompts"><h2>Answers per prompt</h2><details{" open" if count <= 20 else ""}>'
            f"<summary>{count} prompts</summary>{_html_table(prompts)}</details></section>"
        )
    if served:
        body.append(
            '<section id="serving"><h2>Evaluation vehicle and serving</h2>'
            + _html_table(served)
            + "</section>"
        )
    if cost:
        body.append('<section id="cost"><h2>Cost estimate</h2>' + _html_table(cost) + "</section>")
    body.append('<section id="record"><h2>Run record</h2>' + _html_table(facts))
    if datasets:
        body.append("<h3>Datasets (as trained on)</h3>" + _html_table(datasets))
    raw = {name: doc for name, doc in ((RECORD, artifacts.record),) if doc}
    if raw:
        body.append(
            "<details><summary>record.json</summary><pre>"
            + html.escape(json.dumps(artifacts.record, indent=2, ensure_ascii=False))
            + "</pre></details>"
        )
    body.append("</section>")
    page = _page(f"Run {artifacts.run_id}", "\n".join(body))

    md = [
        f"# Run {artifacts.run_id}: {status}",
        "",
        f"Bedrock model customization report, generated {generated} from {artifacts.source}.",
        "",
        "## Gates and decisions",
        "",
        _md_table(decisions),
        "",
        "## Loss curves",
        "",
        f"![Training and validation loss per step]({LOSS_PNG})" if loss else missing_loss,
        "",
        *([f"![Reward per step]({REWARD_PNG})", ""] if reward else []),
        _md_table(losses),
        "",
        "## Base model vs custom model",
        "",
        *([vehicle_note, ""] if vehicle_note else []),
        f"![Base vs custom]({COMPARISON_PNG})" if comparison else missing_cmp,
        "",
    ]
    if compared:
        md += [
            _md_table(compared),
            "",
            f"{scoring.QUALITY_DESCRIPTION}. {scoring.PT_COST_ASSUMPTION}.",
            "",
        ]
    if judged:
        md += ["## Judged by an LLM", "", judge_summary, "", _md_table(judged), ""]
        if worst:
            md += ["### Where the custom model scored lowest", "", _md_table(worst), ""]
    if prompts:
        md += ["## Answers per prompt", "", _md_table(prompts), ""]
    if served:
        md += ["## Evaluation vehicle and serving", "", _md_table(served), ""]
    if cost:
        md += ["## Cost estimate", "", _md_table(cost), ""]
    md += ["## Run record", "", _md_table(facts), ""]
    if datasets:
        md += ["### Datasets", "", _md_table(datasets), ""]
    return _write(Path(out_dir), "report", page, "\n".join(md), [loss, reward, comparison])


def render_comparison(
    title: str,
    models: Sequence[tuple[str, Mapping[str, Any]]],
    prompt_rows: Sequence[Mapping[str, Any]],
    notes: Mapping[str, Sequence[str]],
    out_dir: str | Path,
    *,
    source: str,
    now: dt.datetime | None = None,
) -> Written:
    """Write compare.html, compare.md and compare.png for ``bedrock-customize compare``."""
    chart = comparison_chart(models, png_name="compare.png")
    table = comparison_table(models)
    prompts = prompts_table(prompt_rows, [(label, label) for label, _ in models])
    note_rows = [[label, "\n".join(items)] for label, items in notes.items()]
    notes_table = Table("notes-table", ["Model", "Capabilities and notes (catalog)"], note_rows)
    generated = output.utc(now or dt.datetime.now(dt.UTC))
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<div class="sub">Generated {html.escape(generated)} from prompts {html.escape(source)}</div>',
        '<section id="comparison"><h2>Side by side</h2>'
        + _html_chart(chart, "no results")
        + _html_table(table)
        + "</section>",
        '<section id="notes"><h2>Capabilities</h2>' + _html_table(notes_table) + "</section>",
    ]
    if prompts:
        body.append(
            f'<section id="prompts"><h2>Answers per prompt</h2><details><summary>{len(prompts.rows)} prompts'
            f"</summary>{_html_table(prompts)}</details></section>"
        )
    md = [
        f"# {title}",
        "",
        f"Generated {generated} from prompts {source}.",
        "",
        "![Comparison](compare.png)",
        "",
        _md_table(table),
        "",
        "## Capabilities",
        "",
        _md_table(notes_table),
        "",
    ]
    if prompts:
        md += ["## Answers per prompt", "", _md_table(prompts), ""]
    return _write(Path(out_dir), "compare", _page(title, "\n".join(body)), "\n".join(md), [chart])
