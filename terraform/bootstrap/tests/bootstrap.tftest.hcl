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
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  bucket_name = "dog-breeds-tfstate-123456789012"
}

run "the_state_bucket_is_hardened_and_keeps_old_states_90_days" {
  command = plan

  assert {
    condition     = module.state_bucket_hardening.sse_algorithm == "AES256"
    error_message = "the state bucket must be hardened (modules/bucket_hardening: private, versioned, SSE-S3, TLS only)"
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.state.rule).noncurrent_version_expiration).noncurrent_days == 90 && one(one(aws_s3_bucket_lifecycle_configuration.state.rule).expiration).expired_object_delete_marker
    error_message = "old states and lock files must expire after 90 days, and their delete markers with them"
  }
  assert {
    condition     = output.backend_config == "bucket = \"dog-breeds-tfstate-123456789012\"\nkey    = \"dog-breeds/terraform.tfstate\"\nregion = \"us-east-1\""
    error_message = "backend_config must be the partial backend file for the stack"
  }
}

run "a_kms_key_encrypts_the_bucket_and_the_state" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = module.state_bucket_hardening.sse_algorithm == "aws:kms"
    error_message = "a KMS key must switch encryption to aws:kms"
  }
  assert {
    condition     = strcontains(output.backend_config, "kms_key_id = \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"")
    error_message = "backend_config must carry the KMS key for the state objects"
  }
}

run "rejects_bad_region" {
  command = plan
  variables {
    region = "US East"
  }
  expect_failures = [var.region]
}

run "rejects_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "State_Bucket"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_bad_state_key" {
  command = plan
  variables {
    state_key = "/dog-breeds//terraform.tfstate"
  }
  expect_failures = [var.state_key]
}

run "rejects_bad_kms_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/terraform"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_noncurrent_version_expiration_days" {
  command = plan
  variables {
    noncurrent_version_expiration_days = 0
  }
  expect_failures = [var.noncurrent_version_expiration_days]
}

run "outputs_the_stacks_policies_and_no_ci_roles_by_default" {
  command = plan

  assert {
    condition     = length(output.deployer_policy_documents) >= 2 && length(output.operator_policy_documents) >= 1 && length(module.ci_roles) == 0
    error_message = "the policies must be output, and no CI role made without ci_repository"
  }
  assert {
    condition     = anytrue([for document in output.deployer_policy_documents : strcontains(document, "arn:aws:s3:::dog-breeds-tfstate-123456789012/dog-breeds/terraform.tfstate.tflock")])
    error_message = "the deployer must reach the lock file of this state bucket"
  }
}

run "ci_roles_for_a_repository" {
  command = plan
  variables {
    ci_repository = "example-org/dog-breeds"
  }

  assert {
    condition     = length(module.ci_roles) == 1
    error_message = "ci_repository must create the CI roles"
  }
}

run "rejects_bad_stack_name" {
  command = plan
  variables {
    stack_name = "Dog_Breeds"
  }
  expect_failures = [var.stack_name]
}

run "rejects_bad_stack_bucket_name" {
  command = plan
  variables {
    stack_bucket_name = "Data_Bucket"
  }
  expect_failures = [var.stack_bucket_name]
}

run "rejects_bad_stack_region" {
  command = plan
  variables {
    stack_region = "mars-1"
  }
  expect_failures = [var.stack_region]
}

run "rejects_bad_ci_repository" {
  command = plan
  variables {
    ci_repository = "dog-breeds"
  }
  expect_failures = [var.ci_repository]
}

run "rejects_bad_ci_oidc_provider_arn" {
  command = plan
  variables {
    ci_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"
  }
  expect_failures = [var.ci_oidc_provider_arn]
}
