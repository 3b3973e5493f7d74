"""Launch the cloud side of the workflow: SageMaker tuning and training jobs, endpoint updates.

    python -m mlops features [--hyperparameter arch=resnet50] ...
    python -m mlops tune   [--features-job NAME] [--spot] [--max-jobs 6] ...
    python -m mlops train  [--from-tuning NAME] [--instance-count N] [--spot] ...
    python -m mlops deploy (--model-data S3_URL | --from-job NAME) [--direct] [--tfvars FILE]
    python -m mlops verify [--wait-timeout SECONDS]
    python -m mlops status [--tuning-job NAME] [--desired-instance-count]
    python -m mlops transform (--model-package ARN | --model-data S3_URL | --from-job NAME)
        --input s3://BUCKET/transform/in/... --output s3://BUCKET/transform/out/...
    python -m mlops shadow (start --model-package ARN | report | promote | stop) [--tfvars FILE]

Bucket, roles and image come from ``terraform output -json`` (or flags); every job runs
``ml/train.py`` from a code bundle uploaded next to its data. Modules:

- ``specs``: names and request bodies, pure functions of the options;
- ``stack``: what the Terraform stack provides, and the checks on it;
- ``bundle``: the training code bundle;
- ``jobs``, ``registry``, ``deploy``, ``verify``, ``status``, ``transform``, ``shadow``: the
  commands, each declared (``command.Command``: name, help, options) next to the function
  that runs it;
- ``cli``: the command line built from them.
"""


class JobsError(Exception):
    """Something the user can fix (a missing setting, a bad option, a job not found)."""

    exit_status = 2


class DeploymentError(JobsError):
    """The endpoint does not serve what was deployed: it failed, or SageMaker rolled it back."""

    exit_status = 1
