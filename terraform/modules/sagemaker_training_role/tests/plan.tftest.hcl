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

run "jobs_add_versions_by_the_registrys_own_policy" {
  command = plan
  variables {
    add_pending_versions_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"RegisterPendingVersions\",\"Effect\":\"Allow\",\"Action\":\"sagemaker:CreateModelPackage\",\"Resource\":\"*\"}]}"
  }

  assert {
    condition     = data.aws_iam_policy_document.this.source_policy_documents == tolist([var.add_pending_versions_policy_json])
    error_message = "the role's policy must merge the registry's policy as it is (its PendingManualApproval rule lives in modules/model_registry)"
  }
}

run "without_a_registry_no_registry_access" {
  command = plan

  assert {
    condition     = length(data.aws_iam_policy_document.this.source_policy_documents) == 0 && !contains(flatten([for statement in data.aws_iam_policy_document.this.statement : statement.actions]), "sagemaker:CreateModelPackage")
    error_message = "no registry, no CreateModelPackage"
  }
}

run "rejects_bad_add_pending_versions_policy_json" {
  command = plan
  variables {
    add_pending_versions_policy_json = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models"
  }
  expect_failures = [var.add_pending_versions_policy_json]
}
