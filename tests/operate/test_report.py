"""`report`: the run report from the bundled example run, checked in a real headless Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import struct
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from pipeline.operate import report
from tests.operate.helpers import BUCKET, EXAMPLES, REGION, STATE_MACHINE_ARN, deploy, run_cli

EXAMPLE = EXAMPLES / "report-run"
RUN_ID = json.loads((EXAMPLE / "record.json").read_text(encoding="utf-8"))["runId"]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_report_run", EXAMPLE / "make_report_run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Dom(HTMLParser):
    """Which elements sit inside which element with an id (enough to check charts and tables)."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.inside: dict[str, list[str]] = {}
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for _, element_id in self.stack:
            if element_id:
                self.inside.setdefault(element_id, []).append(tag)
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs).get("id")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for _, element_id in self.stack:
            if element_id:
                self.inside.setdefault(element_id, []).append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element_id in self.stack:
            if element_id:
                self.text.setdefault(element_id, []).append(data)

    def count(self, element_id: str, tag: str) -> int:
        return self.inside.get(element_id, []).count(tag)

    def words(self, element_id: str) -> str:
        return " ".join(" ".join(self.text.get(element_id, [])).split())


def parse(text: str) -> Dom:
    dom = Dom()
    dom.feed(text)
    return dom


def assert_report_dom(dom: Dom) -> None:
    """The charts are drawn (SVG paths and labels) and the tables hold the run's numbers."""
    for chart in ("loss-chart", "comparison-chart"):
        assert dom.count(chart, "svg") == 1, chart
        assert dom.count(chart, "path") > 20, chart
    loss_words = dom.words("loss-chart")
    assert "Training and validation loss per step" in loss_words
    assert "training" in loss_words and "validation" in loss_words and "step" in loss_words
    comparison_words = dom.words("comparison-chart")
    assert "Quality (ROUGE-L, higher is better)" in comparison_words
    assert "USD per 1,000 requests" in comparison_words
    # Evaluated on an on-demand deployment: both models priced per token, both costs drawn.
    assert "unknown" not in comparison_words.replace("No bar = unknown, not zero.", "")
    assert "The custom model answered on an on-demand deployment" in dom.words("comparison")
    assert dom.count("loss-table", "tr") == 1 + 2 + 2  # header, two epochs, final, bar
    assert "epoch 1" in dom.words("loss-table") and "epoch 2" in dom.words("loss-table")
    # header and 12 metrics, failed calls and the paired prompts the means are over among them
    assert dom.count("comparison-table", "tr") == 13
    assert "Failed calls" in dom.words("comparison-table")
    assert "Means over (prompts)" in dom.words("comparison-table")
    assert "0.751" in dom.words("comparison-table") and "0.105" in dom.words("comparison-table")
    # header, preflight, loss gate, quality gate, approval to serve, smoke check
    assert dom.count("decisions-table", "tr") == 6
    decisions = dom.words("decisions-table")
    assert "Quality gate passed Custom model meets the bar" in decisions
    assert "Approval to serve approved by" in decisions
    assert "Smoke check passed Smoke check passed on" in decisions
    assert dom.count("prompts-table", "tr") == 17
    assert dom.count("datasets-table", "tr") == 4
    serving = dom.words("serving-table")
    assert "Evaluated on on-demand deployment (billed per token, nothing bought)" in serving
    assert "Cleanup: deleted on-demand deployment" in serving
    assert "provisioned throughput arn:aws:bedrock:us-east-1:123456789012:provisioned-model/" in serving
    assert RUN_ID in dom.words("record-table")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> report.Written:
    return report.render_run(report.load_dir(EXAMPLE), tmp_path_factory.mktemp("report"))


def test_renders_html_markdown_and_png_from_the_example_run(rendered: report.Written) -> None:
    page = rendered.html.read_text(encoding="utf-8")
    assert_report_dom(parse(page))
    # Self-contained: nothing is loaded from anywhere, and the page says so to the browser.
    references = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert references and all(ref.startswith("#") for ref in references)  # only the SVGs' own symbols
    assert "url(http" not in page and "@import" not in page
    assert "default-src 'none'" in page
    markdown = rendered.markdown.read_text(encoding="utf-8")
    assert "![Training and validation loss per step](loss-curves.png)" in markdown
    assert "![Base vs custom](comparison.png)" in markdown
    assert "| Quality (ROUGE-L) | 0.751 | 0.105 | +0.646 |" in markdown
    assert "| Training | $0.0095 | $0.0095 (4,733 tokens x 2 epochs x $0.001/1K tokens" in markdown
    assert "| Serving throughput per hour | unknown | no price known |" in markdown
    assert "| Evaluation | $0.0029 |" in markdown  # on demand: an upper bound from token prices
    assert "## Evaluation vehicle and serving" in markdown
    for png in rendered.pngs:
        header = png.read_bytes()[:24]
        assert header.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", header[16:24])
        assert width > 800 and height > 300
    assert sorted(p.name for p in rendered.pngs) == ["comparison.png", "loss-curves.png"]


def test_unknown_numbers_are_never_drawn_or_shown_as_zero(rendered: report.Written) -> None:
    dom = parse(rendered.html.read_text(encoding="utf-8"))
    summary = dom.words("summary")
    assert "Training (estimate) $0.0095" in summary  # the catalog's dated Nova Micro price
    assert "Serving throughput per hour unknown" in summary  # no throughput price for Nova Micro
    assert "Evaluated on on-demand deployment" in summary
    assert "$0.00 " not in summary


def _chromium_or_skip() -> str:
    found = generator().find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI for the report test: apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")
    return str(found)


def test_the_report_renders_in_headless_chromium(rendered: report.Written, tmp_path: Path) -> None:
    _chromium_or_skip()
    make = generator()

    dom_text = make.chromium(rendered.html, "--dump-dom", profile=tmp_path / "profile")
    shot = tmp_path / "shot.png"
    make.chromium(
        rendered.html, "--window-size=1280,2300", f"--screenshot={shot}", profile=tmp_path / "profile"
    )

    assert_report_dom(parse(dom_text))
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (2300, 1280)
    rgb = (pixels[:, :, :3] * 255).round()
    # The custom model's blue (#2563eb) in the drawn charts: the SVG was rendered, not just present.
    blue = (
        (abs(rgb[:, :, 0] - 37) < 12) & (abs(rgb[:, :, 1] - 99) < 12) & (abs(rgb[:, :, 2] - 235) < 12)
    ).sum()
    assert blue > 5000


def test_report_command_from_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_cli(capsys, "report", "--from-dir", str(EXAMPLE), "--out", str(tmp_path / "out"), "--json")

    assert result.code == 0, result.err
    doc = result.json()
    assert doc["runId"] == RUN_ID
    assert Path(doc["html"]).is_file() and Path(doc["markdown"]).is_file() and len(doc["png"]) == 2


@pytest.mark.usefixtures("moto")
def test_report_command_reads_the_run_artifacts_from_s3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deploy()
    run_id = RUN_ID
    boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=STATE_MACHINE_ARN, name=run_id, input="{}"
    )
    s3 = boto3.client("s3", region_name=REGION)
    for name in ("record.json", "loss-curves.json"):
        s3.put_object(Bucket=BUCKET, Key=f"runs/{run_id}/{name}", Body=(EXAMPLE / name).read_bytes())

    result = run_cli(capsys, "report", run_id, "--out", str(tmp_path))

    assert result.code == 0, result.err
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    dom = parse(page)
    assert f"s3://{BUCKET}/runs/{run_id}/" in dom.words("record-table")
    assert dom.count("loss-chart", "svg") == 1
    # evaluation.json is not there: the comparison comes from the record's metrics.
    assert "0.751" in dom.words("comparison-table")
    assert dom.count("prompts-table", "tr") == 0


@pytest.mark.usefixtures("moto")
def test_report_of_a_run_without_artifacts_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    deploy()
    boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=STATE_MACHINE_ARN, name="fresh-run-0000000000", input="{}"
    )

    result = run_cli(capsys, "report", "fresh-run-0000000000")

    assert result.code == 2
    assert "has no report artifacts yet" in result.err


def test_a_run_that_failed_before_evaluation_still_reports(tmp_path: Path) -> None:
    record: dict[str, Any] = json.loads((EXAMPLE / "record.json").read_text(encoding="utf-8"))
    record["status"] = "FAILED"
    record["failure"] = {"Error": "LossAboveBar", "Cause": "validation loss 3.10 is above the bar 2.50"}
    record["metrics"]["evaluation"] = None
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")

    written = report.render_run(report.load_dir(tmp_path), tmp_path / "out")

    dom = parse(written.html.read_text(encoding="utf-8"))
    assert "LossAboveBar: validation loss 3.10 is above the bar 2.50" in dom.words("record-table")
    assert "did not reach the evaluation" in dom.words("comparison")
    assert "No loss curves" in dom.words("loss")
    assert written.pngs == []


def test_a_run_its_evaluation_could_not_judge_says_so(tmp_path: Path) -> None:
    record: dict[str, Any] = json.loads((EXAMPLE / "record.json").read_text(encoding="utf-8"))
    record["status"] = "FAILED"
    summary = "Not judged: 16 of 16 calls to the base model failed (100% > 10% allowed)."
    record["failure"] = {"Error": "EvaluationNotJudged", "Cause": summary}
    record["decisions"]["evaluation"] = {"passed": False, "judged": False, "summary": summary}
    record["decisions"]["approval"] = {"required": True, "approved": None, "approver": None}
    record["decisions"]["smoke"] = None
    record["resources"]["provisionedModelArn"] = None
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")

    written = report.render_run(report.load_dir(tmp_path), tmp_path / "out")

    page = written.html.read_text(encoding="utf-8")
    dom = parse(page)
    assert f"Quality gate not judged {summary}" in dom.words("decisions-table")
    assert '<span class="badge not-judged">not judged</span>' in page
    assert "Approval to serve not reached" in dom.words("decisions-table")
    assert "Smoke check not reached" in dom.words("decisions-table")
    assert "provisioned throughput (not bought)" in dom.words("serving-table")


def test_a_promotion_says_whose_model_it_served(tmp_path: Path) -> None:
    record: dict[str, Any] = json.loads((EXAMPLE / "record.json").read_text(encoding="utf-8"))
    record["promotion"] = {"sourceRunId": "support-bot-0123456789", "modelArn": "arn:model"}
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")

    written = report.render_run(report.load_dir(tmp_path), tmp_path / "out")

    words = parse(written.html.read_text(encoding="utf-8")).words("record-table")
    assert "Promotion of run support-bot-0123456789's model" in words


def test_the_bundled_example_is_what_the_generator_produces() -> None:
    """The example run is built by the workflow's own code: if a handler's shape changes, regenerate it
    with `.venv/bin/python examples/report-run/make_report_run.py`."""
    built = generator().build()

    for name, doc in built.items():
        bundled = json.loads((EXAMPLE / name).read_text(encoding="utf-8"))
        assert json.loads(json.dumps(doc)) == bundled, name


_MEASURE = """<script>
window.addEventListener('load', () => {
  const rows = [];
  for (const table of document.querySelectorAll('table')) {
    const section = table.closest('section');
    rows.push(table.id + ' ' + table.getBoundingClientRect().width + ' ' + section.clientWidth);
  }
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = rows.join('\\n');
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.parametrize("width", [1280, 760])
def test_no_table_is_wider_than_its_section(rendered: report.Written, tmp_path: Path, width: int) -> None:
    """Measured by Chromium: the comparison (the metrics table) once overflowed its section."""
    _chromium_or_skip()
    page = rendered.html.read_text(encoding="utf-8")
    # The report's policy forbids scripts; the copy measured here lets one measure the layout.
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")

    dom = generator().chromium(measured, f"--window-size={width},2000", "--dump-dom", profile=tmp_path / "p")

    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    rows = [line.split() for line in found.group(1).strip().splitlines()]
    assert {name for name, _, _ in rows} >= {"comparison-table", "decisions-table", "record-table"}
    for name, table, section in rows:
        assert float(table) <= float(section) + 0.5, f"{name} is {table}px wide in a {section}px section"
