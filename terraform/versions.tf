terraform {
  required_version = ">= 1.10" # variable validations that read runtimes.json (1.9), the S3 backend's lockfile (1.10)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
