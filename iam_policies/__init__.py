"""Least-privilege IAM policies derived from the AWS calls the stack was seen to make: the
emulator's recorded requests named as IAM actions on resource ARNs (``calls``), then grouped
into the deployer's, planner's and operator's policy templates (``policies``). See README.md.
"""
