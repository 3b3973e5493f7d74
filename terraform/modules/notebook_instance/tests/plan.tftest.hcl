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
  name               = "dog-breeds-notebook"
  job_name_prefix    = "dog-breeds"
  bucket_name        = "dog-breeds-data"
  prefixes           = { data = "data/", code = "code/", workspace = "notebooks/dog-breeds-notebook/" }
  training_role_arn  = "arn:aws:iam::123456789012:role/dog-breeds-training"
  subnet_id          = "subnet-0123456789abcdef0"
  security_group_ids = ["sg-0123456789abcdef0"]
}

run "defaults_are_cheap_locked_down_and_stop_when_idle" {
  command = plan

  assert {
    condition     = aws_sagemaker_notebook_instance.this.instance_type == "ml.t2.medium"
    error_message = "the default type must be ml.t2.medium, the cheapest that runs the notebooks"
  }
  assert {
    condition     = aws_sagemaker_notebook_instance.this.root_access == "Disabled" && aws_sagemaker_notebook_instance.this.direct_internet_access == "Disabled"
    error_message = "root access and direct internet access must be off by default"
  }
  assert {
    condition     = aws_sagemaker_notebook_instance.this.instance_metadata_service_configuration[0].minimum_instance_metadata_service_version == "2"
    error_message = "the notebook must require IMDSv2"
  }
  assert {
    condition     = aws_sagemaker_notebook_instance.this.lifecycle_config_name == "dog-breeds-notebook-autostop"
    error_message = "the notebook must run the idle-stop lifecycle configuration"
  }
  assert {
    condition     = strcontains(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.this.on_start), "*/5 * * * * root") && strcontains(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.this.on_start), "--idle-minutes 60 >>") && strcontains(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.this.on_start), "def idle_minutes(")
    error_message = "the on-start script must install autostop.py and run it every 5 minutes with the limit"
  }
  assert {
    condition     = length(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.this.on_start)) <= 16384
    error_message = "a lifecycle script holds at most 16384 characters (SageMaker API reference, NotebookInstanceLifecycleHook)"
  }
}

run "an_idle_limit_of_zero_turns_the_stop_off" {
  command = plan

  variables {
    idle_minutes = 0
  }

  assert {
    condition     = !strcontains(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.this.on_start), "*/5 * * * *")
    error_message = "idle_minutes = 0 must install no cron entry"
  }
}

run "the_role_passes_only_the_training_role_and_touches_only_its_project" {
  command = plan

  assert {
    condition = anytrue([for statement in data.aws_iam_policy_document.this.statement :
    statement.actions == toset(["iam:PassRole"]) && statement.resources == toset(["arn:aws:iam::123456789012:role/dog-breeds-training"])])
    error_message = "iam:PassRole must name the training role only"
  }
  assert {
    condition = anytrue([for statement in data.aws_iam_policy_document.this.statement :
      contains(statement.actions, "sagemaker:CreateTrainingJob")
    && statement.resources == toset(["arn:aws:sagemaker:us-east-1:123456789012:training-job/dog-breeds-*", "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/dog-breeds-*"])])
    error_message = "jobs may be launched under the project's name prefix only"
  }
  assert {
    condition = anytrue([for statement in data.aws_iam_policy_document.this.statement :
    contains(statement.actions, "sagemaker:StopNotebookInstance") && statement.resources == toset(["arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/dog-breeds-notebook"])])
    error_message = "the notebook may stop itself only"
  }
  assert {
    condition     = !anytrue([for statement in data.aws_iam_policy_document.this.statement : contains(statement.actions, "s3:PutObject") && contains(statement.resources, "arn:aws:s3:::dog-breeds-data/data/*")])
    error_message = "the notebook must never write data/"
  }
}

run "direct_internet_access_needs_no_vpc" {
  command = plan

  variables {
    direct_internet_access = true
    subnet_id              = null
    security_group_ids     = []
  }

  assert {
    condition     = aws_sagemaker_notebook_instance.this.direct_internet_access == "Enabled"
    error_message = "direct internet access can be turned on knowingly"
  }
}

run "rejects_no_internet_without_a_subnet" {
  # AWS rule: a notebook without direct internet access reaches only its VPC (SageMaker API
  # reference, CreateNotebookInstance: DirectInternetAccess), so it needs a subnet and groups.
  command = plan
  variables {
    subnet_id          = null
    security_group_ids = []
  }
  expect_failures = [aws_sagemaker_notebook_instance.this]
}

run "rejects_a_type_that_is_no_notebook_type" {
  command = plan
  variables {
    instance_type = "t2.medium"
  }
  expect_failures = [var.instance_type]
}

run "rejects_a_tiny_volume" {
  command = plan
  variables {
    volume_size = 2
  }
  expect_failures = [var.volume_size]
}

run "rejects_a_deprecated_platform" {
  command = plan
  variables {
    platform_identifier = "notebook-al2-v1"
  }
  expect_failures = [var.platform_identifier]
}

run "rejects_negative_idle_minutes" {
  command = plan
  variables {
    idle_minutes = -5
  }
  expect_failures = [var.idle_minutes]
}

run "rejects_a_bad_subnet" {
  command = plan
  variables {
    subnet_id = "my-subnet"
  }
  expect_failures = [var.subnet_id]
}

run "rejects_bad_security_groups" {
  command = plan
  variables {
    security_group_ids = ["default"]
  }
  expect_failures = [var.security_group_ids]
}

run "rejects_a_non_https_repository" {
  command = plan
  variables {
    default_code_repository = "git@github.com:team/dog-breeds.git"
  }
  expect_failures = [var.default_code_repository]
}

run "rejects_a_bad_name" {
  command = plan
  variables {
    name = "dog breeds"
  }
  expect_failures = [var.name]
}

run "rejects_a_bad_job_prefix" {
  command = plan
  variables {
    job_name_prefix = "dog_breeds"
  }
  expect_failures = [var.job_name_prefix]
}

run "rejects_bad_prefixes" {
  command = plan
  variables {
    prefixes = { data = "data", code = "code/", workspace = "notebooks/x/" }
  }
  expect_failures = [var.prefixes]
}

run "rejects_a_bad_training_role" {
  command = plan
  variables {
    training_role_arn = "dog-breeds-training"
  }
  expect_failures = [var.training_role_arn]
}

run "rejects_a_wildcard_endpoint" {
  command = plan
  variables {
    endpoint_arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/*"
  }
  expect_failures = [var.endpoint_arn]
}

run "rejects_bad_kms_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/aws/s3"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "Data_Bucket"
  }
  expect_failures = [var.bucket_name]
}

run "the_training_role_may_be_passed_to_sagemaker_only" {
  command = plan

  assert {
    condition = [for statement in data.aws_iam_policy_document.this.statement :
      jsonencode([for test in statement.condition : { test = test.test, variable = test.variable, values = sort(test.values) }])
    if statement.sid == "PassOnlyTheTrainingRole"] == [jsonencode([{ test = "StringEquals", variable = "iam:PassedToService", values = ["sagemaker.amazonaws.com"] }])]
    error_message = "iam:PassRole must carry iam:PassedToService = sagemaker.amazonaws.com"
  }
}

run "rejects_bad_model_registry_group_arn" {
  command = plan
  variables {
    model_registry = { group_arn = "dog-breeds-models", add_pending_versions_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  expect_failures = [var.model_registry]
}

run "rejects_bad_model_registry_policy_json" {
  command = plan
  variables {
    model_registry = { group_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models", add_pending_versions_policy_json = "CreateModelPackage" }
  }
  expect_failures = [var.model_registry]
}

run "the_notebook_reviews_versions_of_its_group" {
  command = plan
  variables {
    model_registry = {
      group_arn                        = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models"
      add_pending_versions_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"RegisterPendingVersions\",\"Effect\":\"Allow\",\"Action\":\"sagemaker:CreateModelPackage\",\"Resource\":\"*\"}]}"
    }
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.this.statement : statement.resources if statement.sid == "ReviewVersions"]) == toset(["arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/*"])
    error_message = "approving and describing must be scoped to the group's versions"
  }
  assert {
    condition     = one([for statement in data.aws_iam_policy_document.this.statement : statement.resources if statement.sid == "WriteRegistryDocuments"]) == toset(["arn:aws:s3:::dog-breeds-data/registry/*"])
    error_message = "the notebook writes metrics documents under registry/ only"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.source_policy_documents == tolist([var.model_registry.add_pending_versions_policy_json])
    error_message = "the notebook adds versions by the registry's own policy (PendingManualApproval only), merged as it is"
  }
}
