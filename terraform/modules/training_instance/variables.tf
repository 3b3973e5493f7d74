variable "name" {
  type        = string
  description = "Prefix of the instance, its role, profile and security group."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,40}$", var.name))
    error_message = "name must be 1-41 lowercase letters, digits or hyphens."
  }
}

variable "instance_type" {
  type        = string
  default     = "t2.xlarge"
  description = "EC2 instance type (t2.xlarge: 4 vCPU, 16 GiB; choose a g4dn/g5 type to train on a GPU)."

  validation {
    condition     = can(regex("^(t2|t3|t3a|m5|m6i|m7i|c5|c6i|c7i|r5|g4dn|g5|g6|p3|p4d)\\.(nano|micro|small|medium|large|[0-9]*xlarge|metal)$", var.instance_type))
    error_message = "instance_type must be a general purpose, compute, memory or GPU type such as t2.xlarge or g4dn.xlarge."
  }
}

variable "ami_id" {
  type        = string
  default     = null
  description = "AMI to boot; null looks up the Deep Learning AMI from ami_ssm_parameter."

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0."
  }
}

variable "ami_ssm_parameter" {
  type        = string
  default     = "/aws/service/deeplearning/ami/x86_64/oss-nvidia-driver-gpu-pytorch-2.9-ubuntu-24.04/latest/ami-id"
  description = "Public SSM parameter holding the Deep Learning AMI (PyTorch) id."

  validation {
    condition     = startswith(var.ami_ssm_parameter, "/aws/service/")
    error_message = "ami_ssm_parameter must be a public AWS parameter under /aws/service/."
  }
}

variable "subnet_id" {
  type        = string
  default     = null
  description = "Subnet to launch in (needs a route to S3 and SSM); null uses the default VPC's."
}

variable "vpc_id" {
  type        = string
  default     = null
  description = "VPC of subnet_id, for the security group; null uses the default VPC."
}

variable "root_volume_size" {
  type        = number
  default     = 100
  description = "Root volume size in GiB: the AMI (~75 GiB) plus dataset, checkpoints and model."

  validation {
    condition     = var.root_volume_size >= 80 && var.root_volume_size <= 2000
    error_message = "root_volume_size must be between 80 and 2000 GiB (the Deep Learning AMI alone needs ~75)."
  }
}

variable "bucket_name" {
  type        = string
  description = "Bucket with the data/, code/ and models/ prefixes."
}

variable "prefixes" {
  type = object({
    data   = string
    code   = string
    models = string
  })
  description = "Key prefixes of the dataset, the code bundle and the trained models."
}

variable "run_id" {
  type        = string
  default     = "ec2-initial"
  description = "Training run id: the model lands in <models prefix><run_id>/. A new id trains again."

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$", var.run_id))
    error_message = "run_id must be 1-64 letters, digits, dots, hyphens or underscores."
  }
}

variable "hyperparameters" {
  type        = map(string)
  default     = { arch = "resnet50", epochs = "5", "batch-size" = "32", lr = "0.001" }
  description = "Flags for ml/train.py, name (without --) to value."

  validation {
    condition     = alltrue([for name, value in var.hyperparameters : can(regex("^[a-z][a-z0-9-]*$", name)) && can(regex("^[A-Za-z0-9._/-]+$", value))])
    error_message = "hyperparameters need lowercase flag names and plain values (letters, digits, . _ / -)."
  }

  validation {
    condition     = length(setintersection(keys(var.hyperparameters), ["data-dir", "train-dir", "valid-dir", "test-dir", "model-dir", "output-data-dir", "checkpoint-dir", "resume"])) == 0
    error_message = "hyperparameters must not set data-dir, train-dir, valid-dir, test-dir, model-dir, output-data-dir, checkpoint-dir or resume: the boot script sets them (its folders on the instance)."
  }
}

variable "stop_after_training" {
  type        = bool
  default     = true
  description = "Stop the instance (not terminate) when training has finished, to stop paying for it."
}

variable "package_int8" {
  type        = bool
  default     = true
  description = "Add an int8 model to model.tar.gz for x86 CPU endpoints (calibrated on data/valid, shipped only when it agrees with fp32 on 99% of data/test; GPU and Graviton endpoints serve fp32 from the same archive)."
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key for the root volume and the bucket; null uses AWS managed keys."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}
