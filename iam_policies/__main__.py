"""``python -m iam_policies``: rebuild the policy templates from the committed recording."""

from iam_policies.policies import main

main()
