data "aws_caller_identity" "current" {}

locals {
  # The runtimes the parity tests reproduce (tests/parity): only their image tags deploy.
  runtimes        = jsondecode(file("${path.module}/runtimes.json"))
  bucket_name     = coalesce(var.bucket_name, "${var.name}-${data.aws_caller_identity.current.account_id}")
  prefixes        = { data = "data/", code = "code/", models = "models/", checkpoints = "checkpoints/", features = "features/", capture = "capture/", async = "async/", registry = "registry/" }
  deploy_endpoint = var.model_data_url != null || var.model_package_arn != null
  serverless      = var.endpoint_mode == "serverless"
  asynchronous    = var.endpoint_mode == "async"
  # An asynchronous endpoint's requests, answers and failures, under the bucket's async/.
  async_prefixes = { input = "${local.prefixes.async}in/", output = "${local.prefixes.async}out/", failure = "${local.prefixes.async}failed/" }
  # Capture is on by default where SageMaker offers it (real-time endpoints).
  # A shadow run compares both variants' answers to every request: it captures them all.
  data_capture = coalesce(var.endpoint_data_capture.enabled, var.endpoint_mode == "realtime") ? {
    destination_s3_uri  = "s3://${module.data_bucket.bucket_name}/${local.prefixes.capture}"
    sampling_percentage = var.endpoint_shadow_model_package_arn == null ? var.endpoint_data_capture.sampling_percentage : 100
  } : null
  code_bundle_key = "${local.prefixes.code}code.tar.gz"
  # What answers call the model: its key without bucket or file name (models/run-1), or the
  # registry version (dog-breeds-models/3), so no answer carries the account id.
  model_version = (var.model_package_arn != null ? regex("model-package/(.+)$", var.model_package_arn)[0]
  : var.model_data_url != null ? trimsuffix(replace(var.model_data_url, "/^s3://[^/]+//", ""), "/model.tar.gz") : "")
}

# The model registry: trained models become versions here, and a person approves them.
module "model_registry" {
  source = "./modules/model_registry"

  name = "${var.name}-models"
  tags = var.tags
}

# The image the endpoint serves with, and that registered versions name.
data "aws_sagemaker_prebuilt_ecr_image" "pytorch_inference" {
  repository_name = "pytorch-inference"
  image_tag       = var.inference_image_tag
}

module "data_bucket" {
  source = "./modules/data_bucket"

  bucket_name             = local.bucket_name
  kms_key_arn             = var.kms_key_arn
  force_destroy           = var.force_destroy_bucket
  prefixes                = local.prefixes
  capture_expiration_days = var.endpoint_data_capture.expiration_days
  tags                    = var.tags
}

# The training code (ml/ and ec2/train_on_boot.sh), built by `make package-code`.
resource "aws_s3_object" "code_bundle" {
  bucket      = module.data_bucket.bucket_name
  key         = local.code_bundle_key
  source      = var.code_bundle_path
  source_hash = filemd5(var.code_bundle_path)
  tags        = var.tags
}

module "training_instance" {
  source = "./modules/training_instance"
  count  = var.create_training_instance ? 1 : 0

  name                = var.name
  instance_type       = var.training_instance_type
  ami_id              = var.ami_id
  subnet_id           = var.subnet_id
  vpc_id              = var.vpc_id
  root_volume_size    = var.training_volume_size
  bucket_name         = module.data_bucket.bucket_name
  prefixes            = local.prefixes
  run_id              = var.training_run_id
  hyperparameters     = var.training_hyperparameters
  stop_after_training = var.stop_after_training
  package_int8        = var.training_package_int8
  kms_key_arn         = var.kms_key_arn
  tags                = var.tags

  depends_on = [aws_s3_object.code_bundle]
}

# The image SageMaker training and tuning jobs run (python -m mlops reads it from the outputs).
data "aws_sagemaker_prebuilt_ecr_image" "pytorch_training" {
  repository_name = "pytorch-training"
  image_tag       = var.training_image_tag
}

module "sagemaker_training_role" {
  source = "./modules/sagemaker_training_role"

  name                             = var.name
  bucket_name                      = module.data_bucket.bucket_name
  prefixes                         = local.prefixes
  image_registry_id                = data.aws_sagemaker_prebuilt_ecr_image.pytorch_training.registry_id
  add_pending_versions_policy_json = module.model_registry.add_pending_versions_policy_json
  kms_key_arn                      = var.kms_key_arn
  tags                             = var.tags
}

# The role batch transform jobs' models run with (python -m mlops transform): photos in under
# transform/in/, answers out under transform/out/.
module "batch_transform" {
  source = "./modules/batch_transform"

  name              = var.name
  bucket_name       = module.data_bucket.bucket_name
  models_prefix     = local.prefixes.models
  image_registry_id = data.aws_sagemaker_prebuilt_ecr_image.pytorch_inference.registry_id
  kms_key_arn       = var.kms_key_arn
  tags              = var.tags
}

module "notebook_instance" {
  source = "./modules/notebook_instance"
  count  = var.create_notebook_instance ? 1 : 0

  name                    = "${var.name}-notebook"
  job_name_prefix         = var.name
  instance_type           = var.notebook.instance_type
  volume_size             = var.notebook.volume_size
  platform_identifier     = var.notebook.platform_identifier
  idle_minutes            = var.notebook.idle_minutes
  direct_internet_access  = var.notebook.direct_internet_access
  subnet_id               = var.notebook.subnet_id
  security_group_ids      = var.notebook.security_group_ids
  default_code_repository = var.notebook.default_code_repository
  bucket_name             = module.data_bucket.bucket_name
  prefixes                = { data = local.prefixes.data, code = local.prefixes.code, features = local.prefixes.features, models = local.prefixes.models, registry = local.prefixes.registry, workspace = "notebooks/${var.name}-notebook/" }
  model_registry          = { group_arn = module.model_registry.group_arn, add_pending_versions_policy_json = module.model_registry.add_pending_versions_policy_json }
  training_role_arn       = module.sagemaker_training_role.role_arn
  endpoint_arn            = local.deploy_endpoint ? module.sagemaker_endpoint[0].endpoint_arn : null
  kms_key_arn             = var.kms_key_arn
  tags                    = var.tags
}

module "sagemaker_endpoint" {
  source = "./modules/sagemaker_endpoint"
  count  = local.deploy_endpoint ? 1 : 0

  name                      = var.name
  model_data_url            = var.model_data_url
  model_package_arn         = var.model_package_arn
  model_artifacts_s3_prefix = "s3://${module.data_bucket.bucket_name}/${local.prefixes.models}"
  inference_image_uri       = data.aws_sagemaker_prebuilt_ecr_image.pytorch_inference.registry_path
  instance_type             = var.endpoint_instance_type
  model_server              = var.endpoint_model_server
  current_instance_count    = var.endpoint_current_instance_count
  serverless                = local.serverless ? var.endpoint_serverless : null
  network_isolation         = !local.serverless # serverless endpoints cannot be isolated
  inference_image_tag       = var.inference_image_tag
  autoscaling               = merge(var.endpoint_autoscaling, { min_capacity = coalesce(var.endpoint_autoscaling.min_capacity, local.asynchronous ? 0 : 1) })
  async_inference = local.asynchronous ? {
    input_s3_uri                            = "s3://${module.data_bucket.bucket_name}/${local.async_prefixes.input}"
    output_s3_uri                           = "s3://${module.data_bucket.bucket_name}/${local.async_prefixes.output}"
    failure_s3_uri                          = "s3://${module.data_bucket.bucket_name}/${local.async_prefixes.failure}"
    topics_kms_key_arn                      = module.monitoring[0].topic_kms_key_arn
    max_concurrent_invocations_per_instance = var.endpoint_async.max_concurrent_invocations_per_instance
  } : null
  deployment      = var.endpoint_deployment
  rollback_alarms = var.endpoint_rollback_alarms
  data_capture    = local.data_capture
  shadow          = var.endpoint_shadow_model_package_arn == null ? null : merge(var.endpoint_shadow, { model_package_arn = var.endpoint_shadow_model_package_arn })
  off_hours       = var.endpoint_off_hours
  kms_key_arn     = var.kms_key_arn
  tags            = var.tags
}

module "lambda_invoker" {
  source = "./modules/lambda_invoker"
  count  = local.deploy_endpoint ? 1 : 0

  name              = "${var.name}-invoker"
  package_path      = var.lambda_package_path
  endpoint_name     = module.sagemaker_endpoint[0].endpoint_name
  endpoint_arn      = module.sagemaker_endpoint[0].endpoint_arn
  model_version     = local.model_version
  input_s3          = var.lambda_s3_input_prefix == null ? null : { bucket = module.data_bucket.bucket_name, prefix = var.lambda_s3_input_prefix }
  url_allowlist     = var.lambda_url_allowlist
  cors_allow_origin = var.lambda_cors_allow_origin
  async_inference   = local.asynchronous ? merge({ bucket = module.data_bucket.bucket_name }, { for role, prefix in local.async_prefixes : "${role}_prefix" => prefix }) : null
  # A serverless endpoint may start cold and takes 4 MB requests: one long attempt, smaller images.
  invoke_timeout          = local.serverless ? 19 : 8
  invoke_attempts         = local.serverless ? 1 : 2
  max_image_bytes         = local.serverless ? 2900000 : 4500000
  reserved_concurrency    = var.lambda_reserved_concurrency
  provisioned_concurrency = var.lambda_provisioned_concurrency
  metric_namespace        = "${var.name}/Invoker"
  kms_key_arn             = var.kms_key_arn
  tags                    = var.tags
}

# The API fronts the Lambda, which exists once a model is deployed: on the first apply (train,
# no model yet) the switch waits, and the plan says so.
check "http_api_waits_for_a_model" {
  assert {
    condition     = !var.create_http_api || local.deploy_endpoint
    error_message = "create_http_api = true creates nothing until model_data_url is set: the API fronts the Lambda, which invokes the endpoint serving that model."
  }
}

module "http_api" {
  source = "./modules/http_api"
  count  = local.deploy_endpoint && var.create_http_api ? 1 : 0

  name               = "${var.name}-api"
  function_name      = module.lambda_invoker[0].function_name
  function_alias_arn = module.lambda_invoker[0].alias_arn
  function_timeout   = module.lambda_invoker[0].timeout
  throttling         = var.http_api.throttling
  cors_allow_origins = var.http_api.cors_allow_origins
  authorization      = var.http_api.authorization
  status_route       = local.asynchronous
  kms_key_arn        = var.kms_key_arn
  tags               = var.tags
}

# Where requests are captured, the monitor compares them hourly with the served version's
# training baseline (README: After going live).
module "model_monitor" {
  source = "./modules/model_monitor"
  count  = local.deploy_endpoint && local.data_capture != null && var.model_monitor.enabled ? 1 : 0

  name                           = "${var.name}-model-monitor"
  package_path                   = var.lambda_package_path
  endpoint_name                  = module.sagemaker_endpoint[0].endpoint_name
  variant_name                   = module.sagemaker_endpoint[0].variant_name
  capture_s3_uri                 = local.data_capture.destination_s3_uri
  model_package_group_name       = module.model_registry.group_name
  baseline_s3_prefix             = "s3://${module.data_bucket.bucket_name}/${local.prefixes.registry}${module.model_registry.group_name}/"
  metric_namespace               = "${var.name}/ModelMonitor"
  schedule_expression            = var.model_monitor.schedule_expression
  window_minutes                 = var.model_monitor.window_minutes
  min_requests                   = var.model_monitor.min_requests
  drift_score_threshold          = var.model_monitor.drift_score_threshold
  low_confidence_share_threshold = var.model_monitor.low_confidence_share_threshold
  alarm_evaluation_periods       = var.model_monitor.alarm_evaluation_periods
  alarm_topic_arn                = module.monitoring[0].sns_topic_arn
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags
}

module "monitoring" {
  source = "./modules/monitoring"
  count  = local.deploy_endpoint ? 1 : 0

  name          = var.name
  endpoint_name = module.sagemaker_endpoint[0].endpoint_name
  variant_name  = module.sagemaker_endpoint[0].variant_name
  function_name = module.lambda_invoker[0].function_name
  endpoint_mode = var.endpoint_mode
  # An asynchronous endpoint's outcome topics are encrypted with the alarm topic's key.
  create_sns_topic      = local.asynchronous
  transform_job_prefix  = "${var.name}-transform-"
  deployment_alarm_arns = module.sagemaker_endpoint[0].rollback_alarm_arns
  model_monitor = length(module.model_monitor) == 0 ? null : {
    namespace      = module.model_monitor[0].metric_namespace
    period_seconds = module.model_monitor[0].window_seconds
    alarm_arns     = module.model_monitor[0].alarm_arns
  }
  monthly_budget = var.monthly_budget
  alarm_email    = var.alarm_email
  kms_key_arn    = var.kms_key_arn
  tags           = var.tags
}
