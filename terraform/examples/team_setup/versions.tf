terraform {
  required_version = ">= 1.10" # the S3 backend's lock file (use_lockfile)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
