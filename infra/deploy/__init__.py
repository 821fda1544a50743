"""Deploying to AWS: the merged template (`make package`), its offline SAM transform, CloudFormation YAML."""
