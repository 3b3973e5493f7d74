# What the instance type can run, and the model server's workers and threads for it.
#
# vCPUs follow the size in the type's name (Amazon EC2 User Guide, "Amazon EC2 instance type
# naming conventions", and the vCPU columns of "Amazon SageMaker AI pricing", On-Demand,
# Real-Time Inference): large 2, xlarge 4, Nxlarge 4N; medium is 2 on x86 (t2, t3) and 1 on
# Graviton (c7g, m7g). x86 types have two vCPUs per physical core, Graviton one.
#
# TorchServe starts one worker per vCPU when not told (ConfigManager.getDefaultWorkers), and
# torch gives each worker one intra-op thread per physical core: on ml.c5.xlarge 4 workers x 2
# threads on 4 vCPUs, which oversubscribes the cores and collapses throughput (bench/README.md,
# serving under load). One worker per vCPU with one thread each is the measured best under
# load; a GPU type serves one worker per GPU (TorchServe's own default), its vCPUs shared out.
locals {
  instance_family = try(split(".", var.instance_type)[1], "")
  instance_size   = try(split(".", var.instance_type)[2], "")

  # Families by their name (EC2 naming conventions): Inferentia and Trainium (inf, trn), a "g"
  # after the generation for Graviton (c7g, m6gd, r8g), g and p for NVIDIA GPUs (g4dn, p5);
  # the rest are x86 CPUs.
  instance_kind = (
    can(regex("^(inf|trn)[0-9]", local.instance_family)) ? "accelerator" :
    can(regex("^[a-z]+[0-9]+[a-z]*g[a-z]*$", local.instance_family)) ? "graviton" :
    can(regex("^(g|gr|p)[0-9]", local.instance_family)) ? "gpu" : "x86"
  )

  # medium, large, xlarge, Nxlarge; anything else (metal) has no known count: null.
  size_vcpus = (
    local.instance_size == "medium" ? (local.instance_kind == "graviton" ? 1 : 2) :
    local.instance_size == "large" ? 2 :
    local.instance_size == "xlarge" ? 4 :
    can(regex("^[0-9]+xlarge$", local.instance_size)) ? 4 * tonumber(trimsuffix(local.instance_size, "xlarge")) : null
  )
  # GPUs of the multi-GPU sizes SageMaker hosts (pricing page, Accelerated computing); the
  # other sizes of a GPU family have one.
  multi_gpu = {
    "g4dn.12xlarge" = 4, "g5.12xlarge" = 4, "g5.24xlarge" = 4, "g5.48xlarge" = 8,
    "g6.12xlarge"   = 4, "g6.24xlarge" = 4, "g6.48xlarge" = 8, "g6e.12xlarge" = 4,
    "g6e.24xlarge"  = 4, "g6e.48xlarge" = 8, "p3.8xlarge" = 4, "p3.16xlarge" = 8,
    "p4d.24xlarge"  = 8, "p4de.24xlarge" = 8, "p5.48xlarge" = 8, "p5e.48xlarge" = 8,
    "p2.8xlarge"    = 8, "p2.16xlarge" = 16,
  }
  instance_gpus = local.instance_kind == "gpu" ? lookup(local.multi_gpu, "${local.instance_family}.${local.instance_size}", 1) : 0

  # What the image is built for, from its repository and tag (the last part of the URI), as
  # the AWS Deep Learning Containers name them.
  image_name = element(split("/", local.image_uri), length(split("/", local.image_uri)) - 1)
  image_kind = (
    can(regex("-arm64|graviton", local.image_name)) ? "graviton" :
    can(regex("-gpu-|:[^:]*gpu", local.image_name)) ? "gpu" : "x86"
  )
  image_for_kind = {
    x86      = "pytorch-inference:<version>-cpu-py3<minor> (inference_image_tag)"
    graviton = "pytorch-inference-arm64:<version>-cpu-py3<minor>-ubuntu22.04-sagemaker, with an fp32 model or one quantized for qnnpack (see the module's README)"
    gpu      = "pytorch-inference:<version>-gpu-py3<minor> (a -gpu- inference_image_tag)"
  }

  rule_workers = local.instance_kind == "gpu" ? local.instance_gpus : local.size_vcpus
  rule_threads = local.instance_kind == "gpu" ? max(1, floor(coalesce(local.size_vcpus, 1) / 2 / max(local.instance_gpus, 1))) : 1
  # Serverless: vCPUs are not published (they grow with memory): one worker, torch's threads.
  server_workers = local.serverless ? 1 : coalesce(var.model_server.workers, local.rule_workers, 1)
  server_threads = local.serverless ? var.model_server.threads_per_worker : coalesce(var.model_server.threads_per_worker, local.rule_threads)
  server_environment = merge(
    { SAGEMAKER_MODEL_SERVER_WORKERS = tostring(local.server_workers) },
    local.server_threads == null ? {} : { OMP_NUM_THREADS = tostring(local.server_threads) },
  )
}
