mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_sagemaker_prebuilt_ecr_image" {
    defaults = {
      registry_id   = "763104351884"
      registry_path = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
    }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variables {
  name           = "dog-breeds"
  model_data_url = "s3://dog-breeds-data/models/run-1/model.tar.gz"
}

run "autoscaling_one_to_three_with_30s_cooldowns" {
  command = plan

  assert {
    condition     = aws_appautoscaling_target.this.min_capacity == 1 && aws_appautoscaling_target.this.max_capacity == 3
    error_message = "the endpoint must scale between 1 and 3 instances"
  }
  assert {
    condition     = aws_appautoscaling_policy.invocations.target_tracking_scaling_policy_configuration[0].scale_in_cooldown == 30 && aws_appautoscaling_policy.invocations.target_tracking_scaling_policy_configuration[0].scale_out_cooldown == 30
    error_message = "both cooldowns must be 30 s"
  }
  assert {
    condition     = aws_appautoscaling_policy.invocations.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "SageMakerVariantInvocationsPerInstance"
    error_message = "scaling must track invocations per instance"
  }
  assert {
    condition     = aws_appautoscaling_target.this.resource_id == "endpoint/dog-breeds/variant/AllTraffic"
    error_message = "the scalable target must be the endpoint's AllTraffic variant"
  }
}

run "serves_the_model_with_the_pytorch_container" {
  command = plan

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].model_data_url == var.model_data_url
    error_message = "the model must serve model_data_url"
  }
  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_PROGRAM"] == "inference.py"
    error_message = "the container must run code/inference.py"
  }
  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].image == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
    error_message = "the image must come from the prebuilt ECR image data source"
  }
  assert {
    condition     = startswith(aws_sagemaker_endpoint_configuration.this.name, "dog-breeds-")
    error_message = "the endpoint configuration name must carry a hash of its inputs"
  }
  assert {
    condition     = data.aws_iam_policy_document.execution.statement[0].resources == toset(["arn:aws:s3:::dog-breeds-data/models/run-1/model.tar.gz"])
    error_message = "without a prefix the role may read exactly the model artifact"
  }
}

run "new_model_gets_a_new_endpoint_configuration" {
  command = plan

  variables {
    model_data_url = "s3://dog-breeds-data/models/run-2/model.tar.gz"
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.name != run.serves_the_model_with_the_pytorch_container.endpoint_config_name
    error_message = "changing the model must change the endpoint configuration name"
  }
}

run "rejects_min_above_max" {
  command = plan
  variables {
    autoscaling = { min_capacity = 4, max_capacity = 3 }
  }
  expect_failures = [var.autoscaling]
}

run "rejects_negative_cooldown" {
  command = plan
  variables {
    autoscaling = { scale_in_cooldown = -1 }
  }
  expect_failures = [var.autoscaling]
}

run "rejects_zero_target" {
  command = plan
  variables {
    autoscaling = { invocations_per_instance = 0 }
  }
  expect_failures = [var.autoscaling]
}

run "rejects_bad_model_url" {
  command = plan
  variables {
    model_data_url = "https://example.com/model.tar.gz"
  }
  expect_failures = [var.model_data_url]
}

run "rejects_bad_prefix" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models"
  }
  expect_failures = [var.model_artifacts_s3_prefix]
}

run "rejects_bad_instance_type" {
  command = plan
  variables {
    instance_type = "m5.large"
  }
  expect_failures = [var.instance_type]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "dog_breeds!"
  }
  expect_failures = [var.name]
}

run "rejects_bad_image_tag" {
  command = plan
  variables {
    inference_image_tag = "latest"
  }
  expect_failures = [var.inference_image_tag]
}

run "rejects_zero_instances" {
  command = plan
  variables {
    initial_instance_count = 0
  }
  expect_failures = [var.initial_instance_count]
}

run "trust_is_limited_to_this_accounts_sagemaker" {
  # AWS rule: confused-deputy guard for inference (SageMaker developer guide, "Cross-service
  # confused deputy prevention"): aws:SourceArn exactly arn:aws:sagemaker:REGION:ACCOUNT:*.
  command = plan

  assert {
    condition = alltrue([
      for condition in data.aws_iam_policy_document.assume_sagemaker.statement[0].condition :
      (condition.variable == "aws:SourceAccount" && toset(condition.values) == toset(["123456789012"]))
      || (condition.variable == "aws:SourceArn" && condition.test == "ArnLike" && toset(condition.values) == toset(["arn:aws:sagemaker:us-east-1:123456789012:*"]))
    ]) && length(data.aws_iam_policy_document.assume_sagemaker.statement[0].condition) == 2
    error_message = "sagemaker.amazonaws.com may assume the endpoint role for this account's SageMaker only"
  }
}

run "s3_input_is_off_under_network_isolation" {
  command = plan

  assert {
    condition     = aws_sagemaker_model.this.enable_network_isolation && aws_sagemaker_model.this.primary_container[0].environment["S3_INPUT_ENABLED"] == "false"
    error_message = "an isolated model must tell its handler that s3_uri cannot work"
  }
}
