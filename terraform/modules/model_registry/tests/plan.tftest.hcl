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
