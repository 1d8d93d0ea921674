"""AWS Lambda functions packaged as container images, as a deploy target."""
