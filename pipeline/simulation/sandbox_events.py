"""What happens in the sandbox between requests, and what it tells the person running it.

A background thread (:func:`monitor`) looks every half second for executions that ended and delivers
their EventBridge execution-status event to the function the template's rule targets
(:func:`deliver_ended`), and prints what the topic sent as a subscriber would receive it
(:func:`announce_notifications`, :func:`notification_text`: each deadline on the wall clock too).
When the sandbox stops, :func:`write_logs` keeps what the functions logged.

Apart from :mod:`pipeline.simulation.sandbox` (the server's lifecycle) because it is the world's
own motion, not the serving of requests.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
import threading
from typing import Final, TextIO

from pipeline.simulation.sandbox_stack import ENVIRONMENT, Sandbox

_MONITOR_SECONDS: Final = 0.5

LOG = logging.getLogger("pipeline.simulation.sandbox")


def monitor(sandbox: Sandbox, stop: threading.Event) -> None:
    while not stop.wait(_MONITOR_SECONDS):
        try:
            deliver_ended(sandbox)
        except Exception:
            LOG.exception("delivering execution-status events failed")
        try:
            announce_notifications(sandbox, sys.stdout)
        except Exception:
            LOG.exception("printing the topic's notifications failed")


def deliver_ended(sandbox: Sandbox) -> None:
    """The execution-status event of every execution that ended since the last look."""
    from pipeline.simulation.actors import deliver_status_event

    sfn = sandbox.clients["stepfunctions"]
    paginator = sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=sandbox.provisioned.state_machine_arn):
        for execution in page.get("executions", []):
            arn = execution["executionArn"]
            if execution["status"] == "RUNNING" or arn in sandbox.delivered:
                continue
            sandbox.delivered.add(arn)
            description = sfn.describe_execution(executionArn=arn)
            notes: list[str] = []
            deliver_status_event(
                sandbox.template,
                sandbox.provisioned,
                sandbox.clients["lambda"],
                description,
                execution["name"],
                notes,
            )
            for note in notes:
                LOG.warning("%s: %s", execution["name"], note)


def announce_notifications(sandbox: Sandbox, out: TextIO) -> int:
    """Print what the topic sent since the last look, as a subscriber would have received it."""
    from moto.sns.models import sns_backends

    from pipeline.simulation.actors import ACCOUNT

    topic = sns_backends[ACCOUNT][sandbox.region].topics.get(sandbox.provisioned.topic_arn)
    sent = list(topic.sent_notifications) if topic is not None else []
    fresh = sent[sandbox.announced :]
    sandbox.announced = len(sent)
    now = dt.datetime.now(dt.UTC)
    for entry in fresh:
        out.write(notification_text(str(entry[2] or ""), str(entry[1] or ""), now, sandbox.speed))
    if fresh:
        out.flush()
    return len(fresh)


def write_logs(sandbox: Sandbox) -> None:
    logs = sandbox.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {}
    for invocation in list(sandbox.functions.invocations):
        lines.setdefault(invocation.function, []).extend(
            [f"--- {invocation.request_id} at +{invocation.started:.0f}s", *invocation.logs]
        )
    for name, text in lines.items():
        (logs / f"{name}.log").write_text("\n".join(text) + "\n", encoding="utf-8")


_DEADLINE: Final = re.compile(r"\(until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)")


def notification_text(subject: str, message: str, now: dt.datetime, speed: float) -> str:
    """One notification as the sandbox prints it: when, the subject, the message indented, and
    each deadline it names on the wall clock too (the functions write them in sandbox time: a
    "1 day" approval wait lasts 2.4 minutes at 600x)."""
    stamp = now.strftime("%H:%M:%S UTC")
    lines = [f"[{stamp}] notification (SNS): {subject or '(no subject)'}"]
    added = False
    for line in message.strip().splitlines():
        # The functions do not know how an operator reaches them: their commands name no
        # environment. Pasted from here they must act on the sandbox, so it is added (and said).
        if "bedrock-customize " in line and "--env" not in line:
            line, added = f"{line} --env {ENVIRONMENT}", True
        lines.append(f"    {line}".rstrip())
    if added:
        lines.append(f"    (--env {ENVIRONMENT} added by the sandbox to the commands above)")
    for match in _DEADLINE.finditer(message):
        until = dt.datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        span = max(0.0, (until - now).total_seconds())
        real = now + dt.timedelta(seconds=span / speed)
        lines.append(
            f"    (sandbox time: {match.group(1)} is {_duration(span)} of sandbox time away; at {speed:g}x "
            f"that is {real.strftime('%H:%M:%S UTC')}, in {_duration(span / speed)})"
        )
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    from pipeline.simulation.clock import format_duration

    return format_duration(seconds)
