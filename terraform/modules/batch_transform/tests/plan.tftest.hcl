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
}

run "reads_inputs_and_models_writes_outputs_only" {
  # AWS rule: CreateTransformJob's execution role permissions (SageMaker developer guide, "How
  # to use SageMaker AI execution roles"): list and read the input, read the model, write the
  # output; here each on its own prefix of one bucket.
  command = plan

  assert {
    condition     = toset(one(data.aws_iam_policy_document.this.statement[0].condition).values) == toset(["transform/in/*"])
    error_message = "the role lists transform/in/ only"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[1].resources == toset(["arn:aws:s3:::dog-breeds-data/models/*", "arn:aws:s3:::dog-breeds-data/transform/in/*"])
    error_message = "the role reads models/ and transform/in/ only"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[2].resources == toset(["arn:aws:s3:::dog-breeds-data/transform/out/*"])
    error_message = "the role writes transform/out/ only"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[3].resources == toset(["arn:aws:ecr:us-east-1:763104351884:repository/pytorch-inference"])
    error_message = "the role pulls only the PyTorch inference image"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[5].resources == toset(["arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TransformJobs", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TransformJobs:*"])
    error_message = "the role writes the transform jobs' log group only"
  }
  assert {
    condition     = length([for statement in data.aws_iam_policy_document.this.statement : statement if statement.sid == "UseBucketKey"]) == 0
    error_message = "no KMS key, no KMS statement"
  }
}

run "trust_is_limited_to_this_account" {
  # AWS rule: confused-deputy guard (SageMaker developer guide, "Cross-service confused deputy
  # prevention").
  command = plan

  assert {
    condition = alltrue([
      for condition in data.aws_iam_policy_document.assume_sagemaker.statement[0].condition :
      (condition.variable == "aws:SourceAccount" && toset(condition.values) == toset(["123456789012"]))
      || (condition.variable == "aws:SourceArn" && toset(condition.values) == toset(["arn:aws:sagemaker:us-east-1:123456789012:*"]))
    ]) && length(data.aws_iam_policy_document.assume_sagemaker.statement[0].condition) == 2
    error_message = "sagemaker.amazonaws.com may assume the transform role for this account only"
  }
}

run "uses_the_bucket_key" {
  command = plan
  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.this.statement : statement.actions if statement.sid == "UseBucketKey"]) == toset(["kms:Decrypt", "kms:GenerateDataKey"])
    error_message = "with the bucket's key: decrypt inputs and model, encrypt answers"
  }
}

run "reject_overlapping_prefixes" {
  command = plan
  variables {
    output_prefix = "transform/in/answers/"
  }
  expect_failures = [aws_iam_role_policy.this]
}

run "reject_bad_name" {
  command = plan
  variables {
    name = "dog breeds"
  }
  expect_failures = [var.name]
}

run "reject_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "s3://dog-breeds-data"
  }
  expect_failures = [var.bucket_name]
}

run "reject_bad_input_prefix" {
  command = plan
  variables {
    input_prefix = "transform/in"
  }
  expect_failures = [var.input_prefix]
}

run "reject_bad_output_prefix" {
  command = plan
  variables {
    output_prefix = "/transform/out/"
  }
  expect_failures = [var.output_prefix]
}

run "reject_bad_models_prefix" {
  command = plan
  variables {
    models_prefix = "Models"
  }
  expect_failures = [var.models_prefix]
}

run "reject_bad_registry" {
  command = plan
  variables {
    image_registry_id = "aws"
  }
  expect_failures = [var.image_registry_id]
}

run "reject_bad_image_repositories" {
  command = plan
  variables {
    image_repositories = []
  }
  expect_failures = [var.image_repositories]
}

run "reject_bad_kms_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/dog-breeds"
  }
  expect_failures = [var.kms_key_arn]
}
