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
  name         = "dog-breeds"
  state_bucket = "dog-breeds-tfstate-123456789012"
}

run "every_document_is_a_policy_of_this_stack" {
  command = plan

  assert {
    condition = alltrue([
      for document in concat(output.deployer_policy_documents, output.planner_policy_documents, output.operator_policy_documents) :
      jsondecode(document).Version == "2012-10-17" && length(jsondecode(document).Statement) > 0
    ])
    error_message = "every document must be an IAM policy with statements"
  }
  assert {
    condition = alltrue([
      for document in concat(output.deployer_policy_documents, output.planner_policy_documents, output.operator_policy_documents) :
      !strcontains(document, "$${") && alltrue([for statement in jsondecode(document).Statement : !contains(flatten([statement.Action]), "*")])
    ])
    error_message = "every placeholder must be filled, and no statement may allow every action"
  }
  assert {
    condition     = anytrue([for document in output.deployer_policy_documents : strcontains(document, "arn:aws:iam::123456789012:role/dog-breeds-training")]) && !anytrue([for document in output.deployer_policy_documents : strcontains(document, "role/dog-breeds*")])
    error_message = "the deployer's IAM statements must name the stack's roles exactly"
  }
  assert {
    condition     = anytrue([for document in output.operator_policy_documents : strcontains(document, "arn:aws:s3:::dog-breeds-123456789012/*")])
    error_message = "the data bucket must default to NAME-ACCOUNT_ID"
  }
}

run "the_region_can_be_the_stacks" {
  command = plan
  variables {
    region = "eu-west-1"
  }

  assert {
    condition     = anytrue([for document in output.deployer_policy_documents : strcontains(document, "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/dog-breeds*")])
    error_message = "the policies must name the stack's region"
  }
}

run "a_kms_encrypted_state_adds_its_key" {
  command = plan
  variables {
    state_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0b8a3f0e-58c4-4b4e-9d0e-0d5b1c2f7a11"
  }

  assert {
    condition     = one(data.aws_iam_policy_document.state_key_write[0].statement).resources == toset(["arn:aws:kms:us-east-1:123456789012:key/0b8a3f0e-58c4-4b4e-9d0e-0d5b1c2f7a11"]) && length(output.deployer_policy_documents) == length(fileset("templates", "deployer-*.json.tftpl")) + 1
    error_message = "the state's KMS key must be usable by the deployer, in a document of its own"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.state_key_read[0].statement).actions == toset(["kms:Decrypt"]) && length(output.planner_policy_documents) == length(fileset("templates", "planner-*.json.tftpl")) + 1
    error_message = "the planner must only decrypt the state"
  }
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Dog_Breeds"
  }
  expect_failures = [var.name]
}

run "rejects_bad_region" {
  command = plan
  variables {
    region = "mars-1"
  }
  expect_failures = [var.region]
}

run "rejects_bad_data_bucket" {
  command = plan
  variables {
    data_bucket = "Data_Bucket"
  }
  expect_failures = [var.data_bucket]
}

run "rejects_bad_state_bucket" {
  command = plan
  variables {
    state_bucket = "Not_A_Bucket"
  }
  expect_failures = [var.state_bucket]
}

run "rejects_a_state_key_with_a_wildcard" {
  command = plan
  variables {
    state_key = "*/terraform.tfstate"
  }
  expect_failures = [var.state_key]
}

run "rejects_bad_state_kms_key_arn" {
  command = plan
  variables {
    state_kms_key_arn = "alias/state"
  }
  expect_failures = [var.state_kms_key_arn]
}
