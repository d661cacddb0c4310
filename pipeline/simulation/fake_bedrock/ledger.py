"""The simulated Bedrock's ledger: everything bought, created, stopped or deleted, and every Converse
call by what it reached; the money invariants of a simulation are checked against it."""

from __future__ import annotations

from typing import Any

from pipeline.simulation.fake_bedrock.jobs import CustomizationJobs
from pipeline.simulation.fake_bedrock.records import Deployment, ModelChange, Throughput


def _changes(changes: list[ModelChange], now: float) -> list[dict[str, Any]]:
    return [
        {
            "targetModelArn": c.target_model_arn,
            "previousModelArn": c.previous_model_arn,
            "startedAt": c.started,
            "doneAt": c.done_at,
            "status": c.status(now),
            "failureMessage": c.failure,
        }
        for c in changes
    ]


class Ledger(CustomizationJobs):
    def _earlier_entries(self, now: float) -> list[dict[str, Any]]:
        entries = []
        for job in self.jobs.values():
            if job.arn in self.seeded:
                status, _, _ = self.job_status(job)
                entries.append(
                    {
                        "kind": "job",
                        "name": job.name,
                        "arn": job.arn,
                        "alive": True,
                        "status": status,
                        "stopRequests": job.stop_requests,
                    }
                )
        for pt in self.throughputs.values():
            if pt.arn in self.seeded:
                entries.append(
                    {
                        "kind": "throughput",
                        "name": pt.name,
                        "arn": pt.arn,
                        "alive": pt.deleted is None,
                        "status": "Deleted" if pt.deleted is not None else pt.status(now),
                        "stopRequests": 0,
                    }
                )
        return entries

    def _declared(self) -> set[str]:
        endpoints: list[Deployment | Throughput] = [*self.deployments.values(), *self.throughputs.values()]
        return {e.arn for e in endpoints if e.preexisting}

    def ledger(self) -> dict[str, Any]:
        """Everything bought, created, stopped or deleted: what the money invariants are checked on.

        Times are simulated seconds since the start. Keys:

        - ``jobs``: one per customization job (``name, arn, clientRequestToken, customizationType,
          createdAt, createRequests, stopRequests, status, failureMessage, outputModelArn,
          metricsFiles``).
        - ``throughputs``: one per purchase (``name, arn, clientRequestToken, modelArn, modelUnits,
          commitment, createdAt, createRequests, status`` ("Deleted" once deleted), ``deletedAt,
          deleteRefusals, alive, firstModelArn, changes, addedTags``).
        - ``deployments``: one per custom model deployment (``name, arn, clientRequestToken,
          modelArn, createdAt, createRequests, readyAt`` (when it leaves Creating, Active or Failed;
          None: never), ``status`` (Creating | Active | Failed, "Deleted" once deleted),
          ``deletedAt, alive, firstModelArn, changes, addedTags``). ``modelArn`` is the model it serves
          now; ``firstModelArn`` the one it was created with; ``changes`` its in-place model
          changes (``targetModelArn, previousModelArn, startedAt, doneAt, status``
          (Updating | UpdateCompleted | UpdateFailed), ``failureMessage``); ``addedTags`` the tags
          added with TagResource (a slot's endpoint carries the slot tag).
        - ``earlier``: what an earlier execution of the same run id created before the run started
          (:meth:`seed_earlier_run`; never in the lists above): ``kind, name, arn, alive, status,
          stopRequests``.
        - ``invocations``: every Converse call in order (``at, modelId, target`` (``throughput``,
          ``deployment`` or ``base``), ``customModelArn`` (what the throughput or deployment
          serves; None for the base or an unknown ARN), ``outcome`` ("ok", an error code, or
          "fault:<code>" / "fault-after:<code>")).
        """
        with self._lock:
            now = self.clock.elapsed()
            earlier = self._earlier_entries(now)
            jobs = []
            for job in self.jobs.values():
                if job.arn in self.seeded:
                    continue
                self._advance(job)
                status, failure, _ = self.job_status(job)
                jobs.append(
                    {
                        "name": job.name,
                        "arn": job.arn,
                        "clientRequestToken": job.token,
                        "customizationType": job.request.get("customizationType", "FINE_TUNING"),
                        "createdAt": job.created,
                        "createRequests": job.create_requests,
                        "stopRequests": job.stop_requests,
                        "status": status,
                        "failureMessage": failure,
                        "outputModelArn": job.output_model_arn,
                        "metricsFiles": list(job.metrics_written),
                    }
                )
            throughputs = [
                {
                    "name": pt.name,
                    "arn": pt.arn,
                    "clientRequestToken": pt.token,
                    "modelArn": pt.model_at(now),
                    "firstModelArn": pt.model_arn,
                    "changes": _changes(pt.changes, now),
                    "addedTags": dict(self.added_tags.get(pt.arn, {})),
                    "modelUnits": pt.model_units,
                    "commitment": pt.commitment or "none",
                    "createdAt": pt.created,
                    "createRequests": pt.create_requests,
                    "status": "Deleted" if pt.deleted is not None else pt.status(now),
                    "deletedAt": pt.deleted,
                    "deleteRefusals": pt.delete_refusals,
                    "alive": pt.deleted is None,
                    "preexisting": pt.preexisting,
                }
                for pt in self.throughputs.values()
                if pt.arn not in self.seeded
            ]
            deployments = [
                {
                    "name": deployment.name,
                    "arn": deployment.arn,
                    "clientRequestToken": deployment.token,
                    "modelArn": deployment.model_at(now),
                    "firstModelArn": deployment.model_arn,
                    "changes": _changes(deployment.changes, now),
                    "addedTags": dict(self.added_tags.get(deployment.arn, {})),
                    "createdAt": deployment.created,
                    "createRequests": deployment.create_requests,
                    "readyAt": deployment.ready_at,
                    "status": "Deleted" if deployment.deleted is not None else deployment.status(now),
                    "deletedAt": deployment.deleted,
                    "alive": deployment.deleted is None,
                    "preexisting": deployment.preexisting,
                }
                for deployment in self.deployments.values()
            ]
            # What was there before the run (a serving slot's endpoint) is not the run's.
            existing = {
                "throughputs": [t for t in throughputs if t.pop("preexisting")],
                "deployments": [d for d in deployments if d.pop("preexisting")],
            }
            throughputs = [t for t in throughputs if t["arn"] not in self._declared()]
            deployments = [d for d in deployments if d["arn"] not in self._declared()]
            invocations = []
            for call in self.calls:
                if call.operation != "Converse":
                    continue
                served: Throughput | Deployment | None = None
                if ":provisioned-model/" in call.subject:
                    target, served = "throughput", self.throughputs.get(call.subject)
                elif ":custom-model-deployment/" in call.subject:
                    target, served = "deployment", self.deployments.get(call.subject)
                else:
                    target = "base"
                invocations.append(
                    {
                        "at": call.elapsed,
                        "modelId": call.subject,
                        "target": target,
                        "customModelArn": served.model_at(call.elapsed) if served is not None else None,
                        "outcome": call.outcome,
                    }
                )
            evaluation_jobs = [
                {
                    "name": job.name,
                    "arn": job.arn,
                    "clientRequestToken": job.token,
                    "createdAt": job.created,
                    "createRequests": job.create_requests,
                    "status": job.status(now),
                    "results": list(job.results),
                }
                for job in self.evaluation_jobs.values()
            ]
            return {
                "earlier": earlier,
                "jobs": jobs,
                "throughputs": throughputs,
                "deployments": deployments,
                "invocations": invocations,
                "evaluationJobs": evaluation_jobs,
                "existing": existing,
            }
