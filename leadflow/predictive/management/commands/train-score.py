"""`leadflow train-score`: train the predictive score now, score the open leads, print how good it is."""

import json

from django.core.management.base import BaseCommand, CommandError

from leadflow.predictive import services
from leadflow.predictive.models import RunStatus


class Command(BaseCommand):
    help = (
        "Train the predictive score on the closed leads (customers against disqualified), make it the active model "
        "and score every open lead. Prints the 5-fold cross-validated ROC AUC and the number of examples."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object")

    def handle(self, *args, **options) -> None:
        run = services.request_training(actor=None, trigger="command", enqueue=False)
        finished = services.run_training(run_id=run.pk)
        if finished is None:
            raise CommandError(f"A training (run {run.pk}) is already under way in a worker; wait for it to finish.")
        if finished.status == RunStatus.FAILED:
            raise CommandError(finished.error)
        model = finished.model
        summary = {
            "auc": model.auc,
            "examples": model.examples,
            "positives": model.positives,
            "negatives": model.negatives,
            "algorithm": model.algorithm,
            "version": model.version,
            "scored": finished.scored,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            f"Model v{model.version} ({model.get_algorithm_display()}): cross-validated ROC AUC {model.auc:.3f} "
            f"on {model.examples} examples ({model.positives} customers, {model.negatives} disqualified); "
            f"{finished.scored} open leads scored."
        )
