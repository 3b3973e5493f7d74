mock_provider "aws" {
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
  name = "dog-breeds-models"
  tags = { Team = "ml-platform" }
}

run "one_group_named_and_tagged" {
  command = plan

  assert {
    condition     = aws_sagemaker_model_package_group.this.model_package_group_name == "dog-breeds-models" && aws_sagemaker_model_package_group.this.tags["Team"] == "ml-platform"
    error_message = "the group must carry the name and the tags"
  }
  assert {
    condition     = output.package_arn_pattern == "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/*"
    error_message = "the versions' ARN pattern must be model-package/GROUP/*"
  }
}

run "roles_may_add_pending_versions_to_this_group_only" {
  # Applied with the mocked provider: the statement names the group's own ARN.
  command = apply

  override_resource {
    target = aws_sagemaker_model_package_group.this
    values = { arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models" }
  }

  assert {
    condition     = data.aws_iam_policy_document.add_pending_versions.statement[0].actions == toset(["sagemaker:CreateModelPackage"]) && data.aws_iam_policy_document.add_pending_versions.statement[0].resources == toset(["arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models", "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/*"])
    error_message = "CreateModelPackage must be scoped to the group and its versions"
  }
  assert {
    condition = [for statement in data.aws_iam_policy_document.add_pending_versions.statement :
    jsonencode([for test in statement.condition : { test = test.test, variable = test.variable, values = sort(test.values) }])] == [jsonencode([{ test = "StringEquals", variable = "sagemaker:ModelApprovalStatus", values = ["PendingManualApproval"] }])]
    error_message = "a role may only create versions that wait for approval"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.add_pending_versions.statement) == 1 && data.aws_iam_policy_document.add_pending_versions.statement[0].effect != "Deny"
    error_message = "the policy must hold that one statement and nothing more"
  }
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Dog_Breeds"
  }
  expect_failures = [var.name]
}

run "rejects_empty_description" {
  command = plan
  variables {
    description = ""
  }
  expect_failures = [var.description]
}
