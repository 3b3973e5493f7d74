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
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
}

variables {
  name        = "dog-breeds"
  bucket_name = "dog-breeds-data"
  prefixes    = { data = "data/", code = "code/", models = "models/" }
}

run "t2_xlarge_with_imdsv2_and_an_encrypted_volume" {
  command = plan

  assert {
    condition     = aws_instance.this.instance_type == "t2.xlarge"
    error_message = "the default instance type must be t2.xlarge"
  }
  assert {
    condition     = aws_instance.this.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 must be required"
  }
  assert {
    condition     = aws_instance.this.root_block_device[0].encrypted && aws_instance.this.root_block_device[0].volume_type == "gp3"
    error_message = "the root volume must be encrypted gp3"
  }
  assert {
    condition     = length(aws_security_group.this.ingress) == 0
    error_message = "no inbound access: SSM Session Manager only"
  }
  assert {
    condition     = aws_instance.this.ami == "ami-0123456789abcdef0"
    error_message = "without ami_id the AMI comes from the Deep Learning AMI SSM parameter"
  }
  assert {
    # AWS rule: Session Manager needs these five actions and no more (Systems Manager user
    # guide, "Create a custom IAM role for Session Manager"); AmazonSSMManagedInstanceCore
    # would add ssm:GetParameter* on every parameter.
    condition     = data.aws_iam_policy_document.session_manager.statement[0].actions == toset(["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"])
    error_message = "the instance must be reachable through Session Manager, with its minimal permissions only"
  }
}

run "user_data_names_bucket_prefixes_and_run" {
  command = plan

  variables {
    run_id          = "run-42"
    hyperparameters = { arch = "resnet18", epochs = "2" }
  }

  assert {
    condition = alltrue([for line in ["BUCKET=dog-breeds-data", "DATA_PREFIX=data/", "CODE_PREFIX=code/", "MODELS_PREFIX=models/", "RUN_ID=run-42", "HYPERPARAMETERS=\"--arch resnet18 --epochs 2\"", "STOP_AFTER_TRAINING=true", "PACKAGE_INT8=true"] :
    strcontains(aws_instance.this.user_data, line)])
    error_message = "the rendered user data must carry the bucket, prefixes, run id, hyperparameters and int8 packaging (on by default)"
  }
}

run "explicit_ami_skips_the_lookup" {
  command = plan

  variables {
    ami_id = "ami-0fedcba9876543210"
  }

  assert {
    condition     = aws_instance.this.ami == "ami-0fedcba9876543210" && length(data.aws_ssm_parameter.dlami) == 0
    error_message = "an explicit ami_id must be used as is"
  }
}

run "data_is_read_only_and_only_its_own_run_is_writable" {
  command = plan

  variables {
    run_id = "run-7"
  }

  assert {
    condition     = data.aws_iam_policy_document.this.statement[2].resources == toset(["arn:aws:s3:::dog-breeds-data/models/run-7/*"])
    error_message = "the instance may write models/<run id>/ only: another run's finished model is out of its reach"
  }
  assert {
    condition     = contains(tolist(data.aws_iam_policy_document.this.statement[0].condition)[0].values, "models/run-7/*")
    error_message = "listing its own run's prefix lets a missing _SUCCESS answer 404, not 403"
  }
}

run "transient_failures_are_retried_then_the_instance_powers_off" {
  command = plan

  assert {
    condition = alltrue([for line in ["RestartForceExitStatus=75", "RestartSec=10", "StartLimitBurst=5", "OnFailure=dog-breeds-poweroff.service", "ExecStart=/usr/bin/systemctl poweroff", "|| transient \"downloading the code bundle\"", "sleep $(( 30 << (tries - 1) ))"] :
    strcontains(aws_instance.this.user_data, line)])
    error_message = "exit 75 (S3 or metadata unavailable) must be retried with a pause, then power the instance off"
  }
  assert {
    condition     = strcontains(aws_instance.this.user_data, "latest/meta-data/instance-id")
    error_message = "the launcher must pass the instance id (the run's claim) to the boot script"
  }
}

run "without_stop_after_training_a_failed_unit_leaves_the_instance_on" {
  command = plan

  variables {
    stop_after_training = false
  }

  assert {
    condition     = !strcontains(aws_instance.this.user_data, "OnFailure=")
    error_message = "with stop_after_training = false nothing powers the instance off"
  }
}

run "rejects_unknown_instance_type" {
  command = plan
  variables {
    instance_type = "x9.mega"
  }
  expect_failures = [var.instance_type]
}

run "rejects_bad_ami" {
  command = plan
  variables {
    ami_id = "ubuntu"
  }
  expect_failures = [var.ami_id]
}

run "rejects_small_volume" {
  command = plan
  variables {
    root_volume_size = 20
  }
  expect_failures = [var.root_volume_size]
}

run "rejects_bad_run_id" {
  command = plan
  variables {
    run_id = "run 1"
  }
  expect_failures = [var.run_id]
}

run "rejects_hyperparameters_the_boot_script_sets" {
  command = plan
  variables {
    hyperparameters = { epochs = "2", "model-dir" = "/tmp/elsewhere" }
  }
  expect_failures = [var.hyperparameters]
}

run "rejects_shell_in_hyperparameters" {
  command = plan
  variables {
    hyperparameters = { epochs = "5; rm -rf /" }
  }
  expect_failures = [var.hyperparameters]
}

run "rejects_private_ssm_parameter" {
  command = plan
  variables {
    ami_ssm_parameter = "/my/ami"
  }
  expect_failures = [var.ami_ssm_parameter]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Dog Breeds"
  }
  expect_failures = [var.name]
}
