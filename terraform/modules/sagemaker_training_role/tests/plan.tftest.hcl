mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variables {
  name        = "dog-breeds"
  bucket_name = "dog-breeds-data"
  prefixes    = { data = "data/", code = "code/", models = "models/", checkpoints = "checkpoints/", features = "features/" }
}

run "reads_data_writes_models_and_checkpoints" {
  command = plan

  assert {
    condition     = data.aws_iam_policy_document.this.statement[1].resources == toset(["arn:aws:s3:::dog-breeds-data/data/*", "arn:aws:s3:::dog-breeds-data/code/*", "arn:aws:s3:::dog-breeds-data/checkpoints/*", "arn:aws:s3:::dog-breeds-data/features/*"])
    error_message = "jobs read data/, code/, checkpoints/ and features/"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[2].resources == toset(["arn:aws:s3:::dog-breeds-data/models/*", "arn:aws:s3:::dog-breeds-data/checkpoints/*", "arn:aws:s3:::dog-breeds-data/features/*"])
    error_message = "jobs write models/, checkpoints/ and features/ only (never data/)"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[4].resources == toset(["arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training"])
    error_message = "jobs pull only the PyTorch training image"
  }
}

run "rejects_bad_registry" {
  command = plan
  variables {
    image_registry_id = "aws"
  }
  expect_failures = [var.image_registry_id]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "dog breeds"
  }
  expect_failures = [var.name]
}

run "trust_is_limited_to_this_accounts_training_jobs" {
  # AWS rule: confused-deputy guard (SageMaker developer guide, "Cross-service confused deputy
  # prevention"): training jobs and tuning trials of this account only.
  command = plan

  assert {
    condition = alltrue([
      for condition in data.aws_iam_policy_document.assume_sagemaker.statement[0].condition :
      (condition.variable == "aws:SourceAccount" && toset(condition.values) == toset(["123456789012"]))
      || (condition.variable == "aws:SourceArn" && toset(condition.values) == toset(["arn:aws:sagemaker:us-east-1:123456789012:training-job/*", "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/*"]))
    ]) && length(data.aws_iam_policy_document.assume_sagemaker.statement[0].condition) == 2
    error_message = "sagemaker.amazonaws.com may assume the training role for this account's training and tuning jobs only"
  }
}

run "jobs_may_register_pending_versions_in_the_one_group" {
  command = plan
  variables {
    model_package_group_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models"
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.this.statement : statement.resources if statement.sid == "RegisterPendingVersions"]) == toset(["arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models", "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/*"])
    error_message = "CreateModelPackage must be scoped to the group and its versions"
  }
  assert {
    condition = [for statement in data.aws_iam_policy_document.this.statement :
      jsonencode([for test in statement.condition : { test = test.test, variable = test.variable, values = sort(test.values) }])
    if statement.sid == "RegisterPendingVersions"] == [jsonencode([{ test = "StringEquals", variable = "sagemaker:ModelApprovalStatus", values = ["PendingManualApproval"] }])]
    error_message = "a job may only create versions that wait for approval"
  }
}

run "without_a_group_no_registry_access" {
  command = plan

  assert {
    condition     = !contains([for statement in data.aws_iam_policy_document.this.statement : statement.sid], "RegisterPendingVersions")
    error_message = "no group, no CreateModelPackage"
  }
}

run "rejects_bad_model_package_group_arn" {
  command = plan
  variables {
    model_package_group_arn = "dog-breeds-models"
  }
  expect_failures = [var.model_package_group_arn]
}
