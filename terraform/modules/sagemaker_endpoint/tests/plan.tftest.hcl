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
    condition     = aws_appautoscaling_target.this[0].min_capacity == 1 && aws_appautoscaling_target.this[0].max_capacity == 3
    error_message = "the endpoint must scale between 1 and 3 instances"
  }
  assert {
    condition     = aws_appautoscaling_policy.invocations[0].target_tracking_scaling_policy_configuration[0].scale_in_cooldown == 30 && aws_appautoscaling_policy.invocations[0].target_tracking_scaling_policy_configuration[0].scale_out_cooldown == 30
    error_message = "both cooldowns must be 30 s"
  }
  assert {
    condition     = aws_appautoscaling_policy.invocations[0].target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "SageMakerVariantInvocationsPerInstance"
    error_message = "scaling must track invocations per instance"
  }
  assert {
    condition     = aws_appautoscaling_target.this[0].resource_id == "endpoint/dog-breeds/variant/AllTraffic"
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

run "rejects_bad_current_instance_count" {
  command = plan
  variables {
    current_instance_count = 1.5
  }
  expect_failures = [var.current_instance_count]
}

run "a_new_fleet_starts_at_the_size_auto_scaling_chose_within_its_range" {
  command = plan
  variables {
    current_instance_count = 5
  }

  assert {
    condition     = terraform_data.fleet_size.input == 3
    error_message = "a count above max_capacity must start the fleet at max_capacity"
  }
}

run "without_a_current_count_the_fleet_starts_at_min_capacity" {
  command = plan
  variables {
    autoscaling = { min_capacity = 2 }
  }

  assert {
    condition     = terraform_data.fleet_size.input == 2
    error_message = "the fleet must start at min_capacity"
  }
}

run "deploys_blue_green_all_at_once_with_a_bake_time_and_three_rollback_alarms" {
  command = plan

  assert {
    condition     = aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].traffic_routing_configuration[0].type == "ALL_AT_ONCE" && aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].traffic_routing_configuration[0].wait_interval_in_seconds == 300
    error_message = "the default must shift all traffic at once, then bake 300 s"
  }
  assert {
    condition     = aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].termination_wait_in_seconds == 120 && aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].maximum_execution_timeout_in_seconds == 3600
    error_message = "the old fleet must wait 120 s, the deployment at most an hour"
  }
  assert {
    condition     = length(aws_sagemaker_endpoint.this.deployment_config[0].rolling_update_policy) == 0
    error_message = "blue/green and rolling exclude each other"
  }
  assert {
    condition     = toset([for alarm in aws_sagemaker_endpoint.this.deployment_config[0].auto_rollback_configuration[0].alarms : alarm.alarm_name]) == toset(["dog-breeds-rollback-errors-5xx", "dog-breeds-rollback-p99-latency", "dog-breeds-rollback-model-faults"])
    error_message = "the endpoint must roll back on 5xx errors, p99 latency and the handler's own faults"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.rollback["p99-latency"].extended_statistic == "p99" && aws_cloudwatch_metric_alarm.rollback["p99-latency"].threshold == 2000000
    error_message = "the latency alarm must watch p99 ModelLatency in microseconds"
  }
  assert {
    condition     = aws_cloudwatch_log_metric_filter.model_faults.log_group_name == "/aws/sagemaker/Endpoints/dog-breeds" && aws_cloudwatch_log_metric_filter.model_faults.pattern == "\"answering 500 internal\""
    error_message = "model faults must be counted from the handler's log line"
  }
}

run "canary_sends_one_instance_first" {
  command = plan
  variables {
    autoscaling = { min_capacity = 2 }
    deployment  = { traffic = "canary", wait_seconds = 600 }
  }

  assert {
    condition     = aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].traffic_routing_configuration[0].canary_size[0].type == "INSTANCE_COUNT" && aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].traffic_routing_configuration[0].canary_size[0].value == 1
    error_message = "the canary must be one instance"
  }
}

run "linear_shifts_one_instance_at_a_time" {
  command = plan
  variables {
    autoscaling = { min_capacity = 2 }
    deployment  = { traffic = "linear" }
  }

  assert {
    condition     = aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].traffic_routing_configuration[0].linear_step_size[0].value == 1 && aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy[0].traffic_routing_configuration[0].type == "LINEAR"
    error_message = "linear traffic must move one instance's share per step"
  }
}

run "rolling_replaces_one_instance_at_a_time" {
  command = plan
  variables {
    autoscaling = { min_capacity = 2 }
    deployment  = { policy = "rolling" }
  }

  assert {
    condition     = aws_sagemaker_endpoint.this.deployment_config[0].rolling_update_policy[0].maximum_batch_size[0].value == 1 && length(aws_sagemaker_endpoint.this.deployment_config[0].blue_green_update_policy) == 0
    error_message = "rolling must replace one instance per batch, without blue/green"
  }
}

run "serverless_has_no_instances_scaling_or_storage_key" {
  command = plan
  variables {
    serverless        = { memory_size_in_mb = 4096, max_concurrency = 10 }
    network_isolation = false
    kms_key_arn       = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.production_variants[0].serverless_config[0].memory_size_in_mb == 4096 && aws_sagemaker_endpoint_configuration.this.production_variants[0].serverless_config[0].max_concurrency == 10
    error_message = "the variant must be serverless with the given memory and concurrency"
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.production_variants[0].instance_type == null && aws_sagemaker_endpoint_configuration.this.kms_key_arn == null
    error_message = "a serverless variant has no instance type and no storage volume to encrypt"
  }
  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && length(aws_appautoscaling_policy.invocations) == 0
    error_message = "serverless endpoints scale themselves: no auto scaling resources"
  }
  assert {
    condition     = terraform_data.serving_mode.input == "serverless"
    error_message = "the serving mode must be recorded, so that changing it replaces the endpoint"
  }
}

run "data_capture_writes_json_as_text_under_its_prefix_only" {
  command = plan
  variables {
    data_capture = { destination_s3_uri = "s3://dog-breeds-data/capture/" }
    kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.data_capture_config[0].initial_sampling_percentage == 20 && aws_sagemaker_endpoint_configuration.this.data_capture_config[0].destination_s3_uri == "s3://dog-breeds-data/capture/"
    error_message = "20% of requests must be captured under capture/"
  }
  assert {
    condition     = toset([for option in aws_sagemaker_endpoint_configuration.this.data_capture_config[0].capture_options : option.capture_mode]) == toset(["Input", "Output"])
    error_message = "both requests and responses must be captured"
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.data_capture_config[0].capture_content_type_header[0].json_content_types == toset(["application/json"]) && aws_sagemaker_endpoint_configuration.this.data_capture_config[0].kms_key_id == var.kms_key_arn
    error_message = "JSON must be captured as text, under the bucket's key"
  }
  assert {
    condition     = contains([for statement in data.aws_iam_policy_document.execution.statement : statement.sid], "WriteDataCapture") && one([for statement in data.aws_iam_policy_document.execution.statement : statement.resources if statement.sid == "WriteDataCapture"]) == toset(["arn:aws:s3:::dog-breeds-data/capture/*"])
    error_message = "the endpoint role may write captures under capture/ only"
  }
}

run "off_hours_drop_to_one_instance_and_come_back" {
  command = plan
  variables {
    autoscaling = { min_capacity = 2, max_capacity = 3 }
    off_hours   = { scale_down = "cron(0 19 ? * MON-FRI *)", scale_up = "cron(0 7 ? * MON-FRI *)", timezone = "Europe/Berlin" }
  }

  assert {
    condition     = aws_appautoscaling_scheduled_action.off_hours["scale_down"].scalable_target_action[0].max_capacity == "1" && aws_appautoscaling_scheduled_action.off_hours["scale_up"].scalable_target_action[0].min_capacity == "2" && aws_appautoscaling_scheduled_action.off_hours["scale_up"].scalable_target_action[0].max_capacity == "3"
    error_message = "off hours must cap the fleet at one instance and working hours restore 2..3"
  }
  assert {
    condition     = aws_appautoscaling_scheduled_action.off_hours["scale_down"].timezone == "Europe/Berlin"
    error_message = "the schedule must run in the given time zone"
  }
}

run "rejects_bad_deployment_policy" {
  command = plan
  variables {
    deployment = { policy = "all_at_once" }
  }
  expect_failures = [var.deployment]
}

run "rejects_bad_deployment_traffic" {
  command = plan
  variables {
    deployment = { traffic = "shadow" }
  }
  expect_failures = [var.deployment]
}

run "rejects_zero_step_instances" {
  command = plan
  variables {
    deployment = { step_instances = 0 }
  }
  expect_failures = [var.deployment]
}

run "rejects_wait_over_an_hour" {
  command = plan
  variables {
    deployment = { wait_seconds = 3601 }
  }
  expect_failures = [var.deployment]
}

run "rejects_execution_timeout_out_of_range" {
  command = plan
  variables {
    deployment = { max_execution_seconds = 300 }
  }
  expect_failures = [var.deployment]
}

run "rejects_canary_on_one_instance" {
  command = plan
  variables {
    deployment = { traffic = "canary" }
  }
  expect_failures = [aws_sagemaker_endpoint.this]
}

run "rejects_linear_steps_under_ten_percent" {
  command = plan
  variables {
    autoscaling = { min_capacity = 2, max_capacity = 20 }
    deployment  = { traffic = "linear" }
  }
  expect_failures = [aws_sagemaker_endpoint.this]
}

run "rejects_rolling_on_one_instance" {
  command = plan
  variables {
    deployment = { policy = "rolling" }
  }
  expect_failures = [aws_sagemaker_endpoint.this]
}

run "rejects_traffic_setting_with_rolling" {
  command = plan
  variables {
    autoscaling = { min_capacity = 2 }
    deployment  = { policy = "rolling", traffic = "canary" }
  }
  expect_failures = [aws_sagemaker_endpoint.this]
}

run "rejects_canary_on_serverless" {
  command = plan
  variables {
    serverless        = {}
    network_isolation = false
    deployment        = { traffic = "canary" }
  }
  expect_failures = [aws_sagemaker_endpoint.this]
}

run "rejects_execution_timeout_shorter_than_the_waits" {
  command = plan
  variables {
    deployment = { wait_seconds = 3600, termination_wait_seconds = 600, max_execution_seconds = 3600 }
  }
  expect_failures = [aws_sagemaker_endpoint.this]
}

run "rejects_bad_serverless_memory" {
  command = plan
  variables {
    serverless        = { memory_size_in_mb = 1500 }
    network_isolation = false
  }
  expect_failures = [var.serverless]
}

run "rejects_bad_serverless_concurrency" {
  command = plan
  variables {
    serverless        = { max_concurrency = 201 }
    network_isolation = false
  }
  expect_failures = [var.serverless]
}

run "rejects_isolated_serverless" {
  command = plan
  variables {
    serverless = {}
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "rejects_capture_on_serverless" {
  command = plan
  variables {
    serverless        = {}
    network_isolation = false
    data_capture      = { destination_s3_uri = "s3://dog-breeds-data/capture/" }
  }
  expect_failures = [aws_sagemaker_endpoint_configuration.this]
}

run "rejects_bad_capture_destination" {
  command = plan
  variables {
    data_capture = { destination_s3_uri = "s3://dog-breeds-data/capture" }
  }
  expect_failures = [var.data_capture]
}

run "rejects_bad_capture_sampling" {
  command = plan
  variables {
    data_capture = { destination_s3_uri = "s3://dog-breeds-data/capture/", sampling_percentage = 101 }
  }
  expect_failures = [var.data_capture]
}

run "rejects_bad_off_hours_schedule" {
  command = plan
  variables {
    off_hours = { scale_down = "0 19 * * 1-5", scale_up = "cron(0 7 ? * MON-FRI *)" }
  }
  expect_failures = [var.off_hours]
}

run "rejects_zero_rollback_threshold" {
  command = plan
  variables {
    rollback_alarms = { errors_5xx_per_minute = 0 }
  }
  expect_failures = [var.rollback_alarms]
}

run "rejects_bad_log_retention" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
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

run "an_approved_version_serves_from_its_package" {
  command = plan
  variables {
    model_data_url            = null
    model_package_arn         = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
  }

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].model_package_name == var.model_package_arn && aws_sagemaker_model.this.primary_container[0].image == null && aws_sagemaker_model.this.primary_container[0].model_data_url == null
    error_message = "the model must come from the package alone: its image and model data are the package's"
  }
  assert {
    condition     = output.served_model == var.model_package_arn
    error_message = "the served model must be the package"
  }
}

run "a_model_and_a_package_at_once_are_refused" {
  command = plan
  variables {
    model_package_arn         = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "a_package_needs_the_prefix_its_model_data_lies_under" {
  command = plan
  variables {
    model_data_url    = null
    model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "rejects_bad_model_package_arn" {
  command = plan
  variables {
    model_data_url    = null
    model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/dog-breeds-models"
  }
  expect_failures = [var.model_package_arn]
}

run "one_worker_per_vcpu_with_one_thread_each" {
  command = plan

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2" && aws_sagemaker_model.this.primary_container[0].environment["OMP_NUM_THREADS"] == "1"
    error_message = "ml.m5.large (2 vCPUs) must run 2 workers of 1 thread"
  }
}

run "a_larger_instance_gets_more_workers" {
  command = plan
  variables {
    instance_type = "ml.c5.4xlarge"
  }

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "16" && aws_sagemaker_model.this.primary_container[0].environment["OMP_NUM_THREADS"] == "1"
    error_message = "ml.c5.4xlarge (16 vCPUs) must run 16 workers of 1 thread"
  }
}

run "the_rule_can_be_overridden" {
  command = plan
  variables {
    instance_type = "ml.c5.xlarge"
    model_server  = { workers = 2, threads_per_worker = 2 }
  }

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2" && aws_sagemaker_model.this.primary_container[0].environment["OMP_NUM_THREADS"] == "2"
    error_message = "model_server must override the rule"
  }
}

run "a_model_package_gets_the_workers_too" {
  command = plan
  variables {
    model_data_url            = null
    model_package_arn         = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds/3"
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
  }

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2" && aws_sagemaker_model.this.primary_container[0].environment["OMP_NUM_THREADS"] == "1" && aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_PROGRAM"] == "inference.py"
    error_message = "a model from a package must carry the model server's settings, and the package's own variables in case SageMaker takes the model's alone"
  }
}

run "serverless_runs_one_worker" {
  command = plan
  variables {
    serverless        = { memory_size_in_mb = 3072, max_concurrency = 5 }
    network_isolation = false
  }

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "1" && !contains(keys(aws_sagemaker_model.this.primary_container[0].environment), "OMP_NUM_THREADS")
    error_message = "a serverless endpoint must run one worker with torch's own threads"
  }
}

run "refuses_more_workers_than_vcpus" {
  command = plan
  variables {
    model_server = { workers = 2, threads_per_worker = 2 }
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "refuses_idle_vcpus" {
  command = plan
  variables {
    model_server = { workers = 1, threads_per_worker = 1 }
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "refuses_fewer_workers_than_vcpus_on_the_rules_one_thread" {
  command = plan
  variables {
    instance_type = "ml.c5.xlarge"
    model_server  = { workers = 2 }
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "refuses_a_graviton_type_with_the_x86_image" {
  command = plan
  variables {
    instance_type = "ml.c7g.xlarge"
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "refuses_a_gpu_type_with_the_cpu_image" {
  command = plan
  variables {
    instance_type = "ml.g4dn.xlarge"
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "refuses_a_size_without_a_known_vcpu_count" {
  command = plan
  variables {
    instance_type = "ml.m5.metal"
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "a_gpu_type_with_the_gpu_image_runs_one_worker_per_gpu" {
  command = plan
  variables {
    instance_type       = "ml.g4dn.12xlarge"
    inference_image_uri = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-gpu-py312"
  }

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "4" && aws_sagemaker_model.this.primary_container[0].environment["OMP_NUM_THREADS"] == "6"
    error_message = "ml.g4dn.12xlarge (4 GPUs, 48 vCPUs) must run 4 workers of 6 threads"
  }
}

run "rejects_worker_settings_in_container_environment" {
  command = plan
  variables {
    container_environment = { SAGEMAKER_TS_BATCH_SIZE = "4" }
  }
  expect_failures = [var.container_environment]
}

run "rejects_zero_workers" {
  command = plan
  variables {
    model_server = { workers = 0 }
  }
  expect_failures = [var.model_server]
}

run "refuses_an_inferentia_type" {
  command = plan
  variables {
    instance_type = "ml.inf2.xlarge"
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "refuses_model_server_settings_on_serverless" {
  command = plan
  variables {
    serverless        = { memory_size_in_mb = 3072, max_concurrency = 5 }
    network_isolation = false
    model_server      = { workers = 2 }
  }
  expect_failures = [aws_sagemaker_model.this]
}

run "a_graviton_type_with_the_arm64_image_runs_one_worker_per_vcpu" {
  command = plan
  variables {
    instance_type       = "ml.c7g.2xlarge"
    inference_image_uri = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-arm64:2.6.0-cpu-py312-ubuntu22.04-sagemaker"
  }

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "8" && aws_sagemaker_model.this.primary_container[0].environment["OMP_NUM_THREADS"] == "1"
    error_message = "ml.c7g.2xlarge (8 vCPUs) with the arm64 image must run 8 workers of 1 thread"
  }
}

run "a_newer_graviton_family_is_known_by_its_name" {
  command = plan
  variables {
    instance_type = "ml.m8g.xlarge"
  }
  expect_failures = [aws_sagemaker_model.this]
}

# Asynchronous inference: developer guide, "Asynchronous inference" (AsyncInferenceConfig),
# "Autoscale an asynchronous endpoint" (MinCapacity 0, target tracking on
# ApproximateBacklogSizePerInstance, a step policy on HasBacklogWithoutCapacity: Average,
# 2 of 2 minutes, >= 1, missing data kept) and "Monitor asynchronous endpoint".
run "async_queues_through_s3_and_scales_on_its_backlog_from_zero" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/in/"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    autoscaling = { min_capacity = 0 }
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/bucket-key"
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.async_inference_config[0].output_config[0].s3_output_path == "s3://dog-breeds-data/async/out/" && aws_sagemaker_endpoint_configuration.this.async_inference_config[0].output_config[0].s3_failure_path == "s3://dog-breeds-data/async/failed/"
    error_message = "answers and failures must land under their own prefixes"
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.async_inference_config[0].output_config[0].kms_key_id == var.kms_key_arn && length(aws_sagemaker_endpoint_configuration.this.async_inference_config[0].client_config) == 0
    error_message = "answers must be written under the bucket's key, and SageMaker chooses the concurrency when none is given"
  }
  assert {
    condition     = aws_sns_topic.async["success"].name == "dog-breeds-async-success" && aws_sns_topic.async["error"].name == "dog-breeds-async-error" && aws_sns_topic.async["error"].kms_master_key_id == var.async_inference.topics_kms_key_arn
    error_message = "the outcome topics must exist under the given customer managed key"
  }
  assert {
    condition     = aws_appautoscaling_target.this[0].min_capacity == 0 && aws_appautoscaling_target.this[0].max_capacity == 3 && terraform_data.fleet_size.input == 1
    error_message = "the variant must scale between 0 and 3, starting at 1 (InitialInstanceCount is at least 1)"
  }
  assert {
    condition     = length(aws_appautoscaling_policy.invocations) == 0
    error_message = "asynchronous endpoints publish no InvocationsPerInstance: no invocations policy"
  }
  assert {
    condition = alltrue([
      aws_appautoscaling_policy.backlog[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metric_name == "ApproximateBacklogSizePerInstance",
      aws_appautoscaling_policy.backlog[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].namespace == "AWS/SageMaker",
      aws_appautoscaling_policy.backlog[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].statistic == "Average",
      one([for d in aws_appautoscaling_policy.backlog[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].dimensions : d.value if d.name == "EndpointName"]) == "dog-breeds",
      aws_appautoscaling_policy.backlog[0].target_tracking_scaling_policy_configuration[0].target_value == 5,
    ])
    error_message = "target tracking must keep about 5 queued requests per instance, on the endpoint's backlog metric"
  }
  assert {
    condition = alltrue([
      aws_appautoscaling_policy.from_zero[0].policy_type == "StepScaling",
      aws_appautoscaling_policy.from_zero[0].step_scaling_policy_configuration[0].adjustment_type == "ChangeInCapacity",
      one(aws_appautoscaling_policy.from_zero[0].step_scaling_policy_configuration[0].step_adjustment).scaling_adjustment == 1,
      one(aws_appautoscaling_policy.from_zero[0].step_scaling_policy_configuration[0].step_adjustment).metric_interval_lower_bound == "0",
    ])
    error_message = "the step policy must add one instance"
  }
  assert {
    condition = alltrue([
      aws_cloudwatch_metric_alarm.backlog_without_capacity[0].metric_name == "HasBacklogWithoutCapacity",
      aws_cloudwatch_metric_alarm.backlog_without_capacity[0].dimensions["EndpointName"] == "dog-breeds",
      length(aws_cloudwatch_metric_alarm.backlog_without_capacity[0].dimensions) == 1,
      aws_cloudwatch_metric_alarm.backlog_without_capacity[0].statistic == "Average",
      aws_cloudwatch_metric_alarm.backlog_without_capacity[0].threshold == 1,
      aws_cloudwatch_metric_alarm.backlog_without_capacity[0].comparison_operator == "GreaterThanOrEqualToThreshold",
      aws_cloudwatch_metric_alarm.backlog_without_capacity[0].evaluation_periods == 2,
      aws_cloudwatch_metric_alarm.backlog_without_capacity[0].treat_missing_data == "missing",
    ])
    error_message = "the alarm must fire when requests wait with no instance, as the guide's pattern does"
  }
  assert {
    condition     = one([for statement in data.aws_iam_policy_document.execution.statement : statement.resources if statement.sid == "ReadAsyncRequests"]) == toset(["arn:aws:s3:::dog-breeds-data/async/in/*"]) && one([for statement in data.aws_iam_policy_document.execution.statement : statement.resources if statement.sid == "WriteAsyncAnswers"]) == toset(["arn:aws:s3:::dog-breeds-data/async/out/*", "arn:aws:s3:::dog-breeds-data/async/failed/*"])
    error_message = "the role may read requests under the input prefix and write answers under the output and failure prefixes only"
  }
  assert {
    condition     = one([for statement in data.aws_iam_policy_document.execution.statement : statement.resources if statement.sid == "UseTopicsKey"]) == toset([var.async_inference.topics_kms_key_arn]) && contains([for statement in data.aws_iam_policy_document.execution.statement : statement.sid], "NotifyAsyncOutcomes")
    error_message = "the role must publish to the topics, with their key"
  }
  assert {
    condition     = terraform_data.serving_mode.input == "async" && output.async_inference.output_s3_uri == "s3://dog-breeds-data/async/out/"
    error_message = "the serving mode must be recorded (a switch replaces the endpoint), and the paths given out"
  }
}

run "async_concurrency_per_instance_is_passed_on" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri                            = "s3://dog-breeds-data/async/in/"
      output_s3_uri                           = "s3://dog-breeds-data/async/out/"
      failure_s3_uri                          = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn                      = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      max_concurrent_invocations_per_instance = 4
    }
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.async_inference_config[0].client_config[0].max_concurrent_invocations_per_instance == 4
    error_message = "MaxConcurrentInvocationsPerInstance must be the one given"
  }
}

run "rejects_min_capacity_zero_on_realtime" {
  command = plan
  variables {
    autoscaling = { min_capacity = 0 }
  }
  expect_failures = [aws_appautoscaling_target.this]
}

run "rejects_zero_backlog_target" {
  command = plan
  variables {
    autoscaling = { backlog_per_instance = 0 }
  }
  expect_failures = [var.autoscaling]
}

run "rejects_bad_async_uri" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/in"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
  }
  expect_failures = [var.async_inference]
}

run "rejects_overlapping_async_prefixes" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
  }
  expect_failures = [var.async_inference]
}

run "rejects_an_aws_managed_topics_key" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/in/"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/aws/sns"
    }
  }
  expect_failures = [var.async_inference]
}

run "rejects_async_concurrency_over_1000" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri                            = "s3://dog-breeds-data/async/in/"
      output_s3_uri                           = "s3://dog-breeds-data/async/out/"
      failure_s3_uri                          = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn                      = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      max_concurrent_invocations_per_instance = 1001
    }
  }
  expect_failures = [var.async_inference]
}

run "refuses_capture_on_async" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/in/"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    data_capture = { destination_s3_uri = "s3://dog-breeds-data/capture/" }
  }
  expect_failures = [aws_sagemaker_endpoint_configuration.this]
}

run "refuses_async_and_serverless_at_once" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/in/"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    serverless        = {}
    network_isolation = false
  }
  expect_failures = [aws_sagemaker_endpoint_configuration.this]
}

run "refuses_off_hours_on_async" {
  command = plan
  variables {
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/in/"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    off_hours = { scale_down = "cron(0 19 ? * MON-FRI *)", scale_up = "cron(0 7 ? * MON-FRI *)" }
  }
  expect_failures = [aws_appautoscaling_target.this]
}

# Shadow variants: "Create a shadow test" (one production and one shadow variant; the shadow's
# answers are captured, never returned), "Shadow tests", Exclusions (serverless and
# asynchronous endpoints), deployment guardrails' Exclusions (rolling: multi-variant endpoints).
run "a_shadow_candidate_answers_a_copy_of_the_traffic" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    shadow                    = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4" }
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.shadow_production_variants[0].variant_name == "Shadow" && aws_sagemaker_endpoint_configuration.this.shadow_production_variants[0].initial_variant_weight == 1 && aws_sagemaker_endpoint_configuration.this.shadow_production_variants[0].instance_type == "ml.m5.large" && aws_sagemaker_endpoint_configuration.this.shadow_production_variants[0].initial_instance_count == 1
    error_message = "the shadow variant must get a copy of every request, on one instance of the production's type"
  }
  assert {
    condition     = aws_sagemaker_model.shadow[0].primary_container[0].model_package_name == var.shadow.model_package_arn && aws_sagemaker_model.shadow[0].primary_container[0].environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2" && aws_sagemaker_model.shadow[0].name != aws_sagemaker_model.this.name
    error_message = "the shadow must serve the candidate package with the model server's settings for the type"
  }
  assert {
    condition     = output.shadow_variant_name == "Shadow" && output.shadow_model == var.shadow.model_package_arn
    error_message = "the shadow variant's name and model must be given out (mlops shadow report reads them)"
  }
}

run "a_shadow_model_name_fits_sagemakers_63_characters" {
  command = plan
  variables {
    name                      = "a-fifty-four-character-endpoint-name-for-a-long-stack1"
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    shadow                    = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4" }
  }

  assert {
    condition     = length(var.name) == 54 && length(aws_sagemaker_model.shadow[0].name) <= 63 && length(aws_sagemaker_model.this.name) <= 63
    error_message = "model names must fit SageMaker's 63 characters (CreateModel ModelName)"
  }
}

run "a_shadow_may_take_a_share_of_the_traffic" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    shadow                    = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4", traffic_percentage = 25 }
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.shadow_production_variants[0].initial_variant_weight == 0.25
    error_message = "25 % of the traffic is the weight 0.25 against the production's 1"
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.name != run.a_shadow_candidate_answers_a_copy_of_the_traffic.endpoint_config_name
    error_message = "a changed shadow must be a new endpoint configuration"
  }
}

run "rejects_a_shadow_that_is_not_a_package_version" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    shadow                    = { model_package_arn = "s3://dog-breeds-data/models/run-2/model.tar.gz" }
  }
  expect_failures = [var.shadow]
}

run "rejects_a_shadow_on_zero_instances" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    shadow                    = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4", instance_count = 0 }
  }
  expect_failures = [var.shadow]
}

run "rejects_a_shadow_share_over_100_percent" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    shadow                    = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4", traffic_percentage = 150 }
  }
  expect_failures = [var.shadow]
}

run "refuses_a_shadow_on_serverless" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    serverless                = {}
    network_isolation         = false
    shadow                    = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4" }
  }
  expect_failures = [aws_sagemaker_endpoint_configuration.this]
}

run "refuses_a_shadow_on_async" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    async_inference = {
      input_s3_uri       = "s3://dog-breeds-data/async/in/"
      output_s3_uri      = "s3://dog-breeds-data/async/out/"
      failure_s3_uri     = "s3://dog-breeds-data/async/failed/"
      topics_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    shadow = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4" }
  }
  expect_failures = [aws_sagemaker_endpoint_configuration.this]
}

run "refuses_a_rolling_deployment_with_a_shadow" {
  command = plan
  variables {
    model_artifacts_s3_prefix = "s3://dog-breeds-data/models/"
    autoscaling               = { min_capacity = 2, max_capacity = 3 }
    deployment                = { policy = "rolling" }
    shadow                    = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4" }
  }
  expect_failures = [aws_sagemaker_endpoint.this]
}

run "refuses_a_shadow_without_the_models_prefix" {
  command = plan
  variables {
    shadow = { model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4" }
  }
  expect_failures = [aws_sagemaker_model.shadow]
}
