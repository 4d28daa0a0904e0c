"""Background work for the predictive score: thin entry points that call services."""

from django_tasks import task

from leadflow.predictive import services


@task()
def train(run_id: int) -> None:
    services.run_training(run_id=run_id)
