# Plan-level checks of how the root module wires the modules together (mocked provider).
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
  mock_data "aws_sagemaker_prebuilt_ecr_image" {
    defaults = { registry_id = "763104351884", registry_path = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312" }
  }
}

variables {
  code_bundle_path    = "../build/code.tar.gz"
  lambda_package_path = "../build/lambda.zip"
  ami_id              = "ami-0123456789abcdef0"
}

run "first_apply_trains_but_serves_nothing_yet" {
  command = plan

  assert {
    condition     = length(module.training_instance) == 1 && length(module.sagemaker_endpoint) == 0 && length(module.lambda_invoker) == 0 && length(module.monitoring) == 0
    error_message = "without model_data_url only storage, roles and the training instance exist"
  }
  assert {
    condition     = module.data_bucket.bucket_name == "dog-breeds-123456789012"
    error_message = "the bucket name defaults to <name>-<account id>"
  }
  assert {
    condition     = aws_s3_object.code_bundle.key == "code/code.tar.gz"
    error_message = "the code bundle goes to code/code.tar.gz, where the instance fetches it"
  }
  assert {
    condition     = output.training_model_s3_prefix == "s3://dog-breeds-123456789012/models/ec2-initial/"
    error_message = "the EC2 model lands under models/<run id>/"
  }
}

run "model_data_url_deploys_endpoint_lambda_and_alarms" {
  command = plan

  variables {
    model_data_url = "s3://dog-breeds-123456789012/models/ec2-initial/model.tar.gz"
  }

  assert {
    condition     = length(module.sagemaker_endpoint) == 1 && length(module.lambda_invoker) == 1 && length(module.monitoring) == 1
    error_message = "a model URL must deploy the endpoint, the Lambda and the alarms"
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
    region = "mars"
  }
  expect_failures = [var.region]
}

run "realtime_endpoints_capture_20_percent_and_deploy_blue_green" {
  command = plan

  variables {
    model_data_url = "s3://dog-breeds-123456789012/models/run-1/model.tar.gz"
  }

  assert {
    condition     = module.sagemaker_endpoint[0].data_capture_s3_uri == "s3://dog-breeds-123456789012/capture/"
    error_message = "a realtime endpoint must capture to s3://BUCKET/capture/"
  }
  assert {
    condition     = module.lambda_invoker[0].timeout == 29
    error_message = "the function must end before the HTTP API's 30 s"
  }
  assert {
    condition     = length(module.model_monitor) == 1 && output.model_monitor_function_name == "dog-breeds-model-monitor"
    error_message = "where requests are captured, the model monitor runs"
  }
  assert {
    condition     = module.model_monitor[0].metric_namespace == "dog-breeds/ModelMonitor" && module.model_monitor[0].window_seconds == 3600
    error_message = "the monitor publishes an hour's figures in the stack's namespace"
  }
}

run "serverless_turns_capture_off_and_gives_the_lambda_one_long_attempt" {
  command = plan

  variables {
    model_data_url = "s3://dog-breeds-123456789012/models/run-1/model.tar.gz"
    endpoint_mode  = "serverless"
  }

  assert {
    condition     = module.sagemaker_endpoint[0].data_capture_s3_uri == null && module.sagemaker_endpoint[0].mode == "serverless"
    error_message = "serverless endpoints cannot capture"
  }
  assert {
    condition     = length(module.model_monitor) == 0 && output.model_monitor_function_name == null
    error_message = "without captures there is nothing to monitor"
  }
}

run "async_queues_under_async_scales_from_zero_and_polls_through_the_api" {
  command = plan

  variables {
    model_data_url  = "s3://dog-breeds-123456789012/models/run-1/model.tar.gz"
    endpoint_mode   = "async"
    create_http_api = true
  }

  assert {
    condition     = module.sagemaker_endpoint[0].mode == "async" && module.sagemaker_endpoint[0].data_capture_s3_uri == null
    error_message = "an asynchronous endpoint keeps its requests under async/, without capture"
  }
  assert {
    condition     = module.sagemaker_endpoint[0].async_inference.output_s3_uri == "s3://dog-breeds-123456789012/async/out/" && module.sagemaker_endpoint[0].async_inference.failure_s3_uri == "s3://dog-breeds-123456789012/async/failed/"
    error_message = "answers and failures land under async/out/ and async/failed/"
  }
  assert {
    condition     = module.sagemaker_endpoint[0].async_inference.input_s3_uri == "s3://dog-breeds-123456789012/${module.lambda_invoker[0].async_inference.input_prefix}"
    error_message = "the Lambda queues requests where the endpoint reads them"
  }
  assert {
    condition     = module.http_api[0].status_url != null && module.sagemaker_endpoint[0].async_inference.input_s3_uri != null
    error_message = "the API must route status requests"
  }
}

run "a_shadow_run_captures_every_request_of_both_variants" {
  command = plan

  variables {
    model_package_arn                 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
    endpoint_shadow_model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4"
  }

  assert {
    condition     = module.sagemaker_endpoint[0].shadow_variant_name == "Shadow" && module.sagemaker_endpoint[0].shadow_model == var.endpoint_shadow_model_package_arn
    error_message = "the candidate must run as the shadow variant"
  }
  assert {
    condition     = module.sagemaker_endpoint[0].data_capture_s3_uri == "s3://dog-breeds-123456789012/capture/" && module.sagemaker_endpoint[0].data_capture_percentage == 100 && output.endpoint_shadow.capture_s3_uri == "s3://dog-breeds-123456789012/capture/"
    error_message = "every request and both variants' answers must be captured under capture/ (not the usual 20 %)"
  }
}

run "a_shadow_without_capture_is_refused" {
  command = plan

  variables {
    model_package_arn                 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
    endpoint_shadow_model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/4"
    endpoint_data_capture             = { enabled = false }
  }
  expect_failures = [var.endpoint_shadow_model_package_arn]
}

run "rejects_a_shadow_that_is_not_a_registry_version" {
  command = plan

  variables {
    model_package_arn                 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
    endpoint_shadow_model_package_arn = "s3://dog-breeds-123456789012/models/run-2/model.tar.gz"
  }
  expect_failures = [var.endpoint_shadow_model_package_arn]
}

run "rejects_bad_endpoint_mode" {
  command = plan
  variables {
    endpoint_mode = "batch"
  }
  expect_failures = [var.endpoint_mode]
}

run "rejects_zero_day_capture_expiration" {
  command = plan
  variables {
    endpoint_data_capture = { expiration_days = 0 }
  }
  expect_failures = [var.endpoint_data_capture]
}

run "rejects_bad_training_image_tag" {
  command = plan
  variables {
    training_image_tag = "latest"
  }
  expect_failures = [var.training_image_tag]
}

run "the_notebook_and_the_api_are_off_by_default" {
  command = plan

  variables {
    model_data_url = "s3://dog-breeds-123456789012/models/run-1/model.tar.gz"
  }

  assert {
    condition     = length(module.notebook_instance) == 0 && length(module.http_api) == 0
    error_message = "the notebook instance and the HTTP API are opt-in"
  }
}

run "switched_on_they_are_created" {
  command = plan

  variables {
    model_data_url           = "s3://dog-breeds-123456789012/models/run-1/model.tar.gz"
    create_http_api          = true
    create_notebook_instance = true
    notebook                 = { subnet_id = "subnet-0123456789abcdef0", security_group_ids = ["sg-0123456789abcdef0"] }
  }

  assert {
    condition     = length(module.notebook_instance) == 1 && length(module.http_api) == 1
    error_message = "create_notebook_instance and create_http_api must create their modules"
  }
}

run "an_api_without_a_model_is_a_warning_not_a_silent_no_op" {
  command = plan

  variables {
    create_http_api = true
  }

  expect_failures = [check.http_api_waits_for_a_model]
}

run "an_approved_version_deploys_from_the_registry" {
  command = plan

  variables {
    model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
  }

  assert {
    condition     = length(module.sagemaker_endpoint) == 1 && module.sagemaker_endpoint[0].served_model == var.model_package_arn
    error_message = "a model package must deploy the endpoint from that package"
  }
  assert {
    condition     = module.lambda_invoker[0].model_version == "dog-breeds-models/3"
    error_message = "answers must name the registry version, without the account id"
  }
  assert {
    condition     = module.model_registry.group_name == "dog-breeds-models"
    error_message = "the registry's group is named after the stack"
  }
}

run "rejects_bad_model_package_arn" {
  command = plan
  variables {
    model_package_arn = "s3://dog-breeds-123456789012/models/run-1/model.tar.gz"
  }
  expect_failures = [var.model_package_arn]
}

run "rejects_an_inference_image_without_a_parity_environment" {
  command = plan
  variables {
    inference_image_tag = "2.7.0-cpu-py312"
  }
  expect_failures = [var.inference_image_tag]
}

run "rejects_a_training_image_without_a_parity_environment" {
  command = plan
  variables {
    training_image_tag = "2.9.0-cpu-py312"
  }
  expect_failures = [var.training_image_tag]
}

run "rejects_bad_endpoint_instance_type" {
  command = plan
  variables {
    endpoint_instance_type = "m5.large"
  }
  expect_failures = [var.endpoint_instance_type]
}

run "rejects_zero_endpoint_workers" {
  command = plan
  variables {
    endpoint_model_server = { threads_per_worker = 0 }
  }
  expect_failures = [var.endpoint_model_server]
}
