data "aws_partition" "current" {}

data "aws_ssm_parameter" "dlami" {
  count = var.ami_id == null ? 1 : 0
  name  = var.ami_ssm_parameter
}

locals {
  ami_id     = var.ami_id != null ? var.ami_id : nonsensitive(data.aws_ssm_parameter.dlami[0].value)
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  # The instance writes only its own run's folder: another run's finished model is out of reach.
  run_prefix = "${var.prefixes.models}${var.run_id}/"
  user_data = templatefile("${path.module}/templates/user_data.sh.tftpl", {
    bucket              = var.bucket_name
    data_prefix         = var.prefixes.data
    code_prefix         = var.prefixes.code
    models_prefix       = var.prefixes.models
    run_id              = var.run_id
    hyperparameters     = join(" ", [for name, value in var.hyperparameters : "--${name} ${value}"])
    stop_after_training = var.stop_after_training
    package_int8        = var.package_int8
  })
}

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-training-instance"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    # Listing lets a missing key answer 404 instead of 403, so "not finished yet" and "S3 refused"
    # stay apart (S3 API reference, HeadObject: "If you don't have the s3:ListBucket
    # permission, Amazon S3 returns an HTTP status code 403 Forbidden error").
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.prefixes.data}*", "${var.prefixes.code}*", "${local.run_prefix}*"]
    }
  }

  statement {
    sid     = "ReadDataCodeAndOwnRun"
    actions = ["s3:GetObject"]
    resources = [
      "${local.bucket_arn}/${var.prefixes.data}*",
      "${local.bucket_arn}/${var.prefixes.code}*",
      "${local.bucket_arn}/${local.run_prefix}*",
    ]
  }

  statement {
    sid       = "WriteOwnRun"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.run_prefix}*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "training-data-access"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# What the SSM Agent needs for Session Manager, and no more (Systems Manager user guide,
# "Create a custom IAM role for Session Manager": minimal permissions). Instead of
# AmazonSSMManagedInstanceCore, which also grants ssm:GetParameter* and more on "*".
# ec2messages is left out: agents from 3.3.40.0 use ssmmessages ("Reference: ec2messages,
# ssmmessages, and other API operations").
data "aws_iam_policy_document" "session_manager" {
  #checkov:skip=CKV_AWS_111:ssm:UpdateInstanceInformation and ssmmessages:* have no resource-level permissions (Service Authorization Reference).
  #checkov:skip=CKV_AWS_356:These SSM Agent actions have no resource types; "*" is the only resource they accept.
  statement {
    sid = "SessionManagerAgent"
    # None of these has resource-level permissions (Service Authorization Reference: Amazon
    # Message Gateway Service; UpdateInstanceInformation is the agent's heartbeat).
    actions = [
      "ssm:UpdateInstanceInformation",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "session_manager" {
  name   = "session-manager"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.session_manager.json
}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-training-instance"
  role = aws_iam_role.this.name
  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-training-instance"
  description = "Training instance: no inbound access (SSM Session Manager), HTTPS out to S3 and SSM."
  vpc_id      = var.vpc_id
  tags        = var.tags

  # No inbound rules at all, and Terraform removes any that get added by hand.
  ingress = []

  egress {
    description = "HTTPS to S3, SSM and package mirrors"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_135:t2 instance types cannot be EBS-optimized; larger types are EBS-optimized by default.
  ami                                  = local.ami_id
  instance_type                        = var.instance_type
  subnet_id                            = var.subnet_id
  vpc_security_group_ids               = [aws_security_group.this.id]
  iam_instance_profile                 = aws_iam_instance_profile.this.name
  instance_initiated_shutdown_behavior = "stop"
  monitoring                           = true
  user_data                            = local.user_data
  user_data_replace_on_change          = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = var.kms_key_arn
    delete_on_termination = true
  }

  tags = merge(var.tags, { Name = "${var.name}-training" })
}
