# Roles a CI system assumes with its OIDC tokens, so no access key is ever stored: GitHub
# Actions here (docs.github.com, "Configuring OpenID Connect in Amazon Web Services").
# The deployer is trusted only for jobs of the protected environment (main's apply); the
# planner, read-only, for pull requests and the main branch.

locals {
  issuer            = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : var.oidc_provider_arn
  subjects = {
    deployer = ["repo:${var.repository}:environment:${var.deploy_environment}"]
    planner  = ["repo:${var.repository}:pull_request", "repo:${var.repository}:ref:refs/heads/${var.main_branch}"]
  }
  documents = {
    deployer = var.deployer_policy_documents
    planner  = var.planner_policy_documents
  }
  # One managed policy per document, "deployer-1", "planner-2", ...
  policies = merge([
    for role, documents in local.documents : {
      for index, document in documents : "${role}-${index + 1}" => { role = role, document = document }
    }
  ]...)
}

# One per account and issuer: pass an existing one's ARN with create_oidc_provider = false.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

data "aws_iam_policy_document" "trust" {
  for_each = local.subjects

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # StringEquals, not StringLike: no wildcard can widen who is trusted.
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = each.value
    }
  }
}

# Each given document as the provider normalizes it (and refuses it when it is no policy).
data "aws_iam_policy_document" "part" {
  for_each = local.policies

  source_policy_documents = [each.value.document]
}

resource "aws_iam_role" "this" {
  for_each = local.subjects

  name                 = "${var.name}-ci-${each.key}"
  description          = each.key == "deployer" ? "Applies ${var.name} from ${var.repository}'s ${var.deploy_environment} environment" : "Plans ${var.name} (read-only) for ${var.repository}'s pull requests and ${var.main_branch}"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_policy" "this" {
  for_each = local.policies

  name        = "${var.name}-ci-${each.key}"
  description = "Part of what the ${var.name} CI ${each.value.role} may do (generated from recorded calls)"
  policy      = data.aws_iam_policy_document.part[each.key].json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.policies

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = aws_iam_policy.this[each.key].arn
}
