"""What answers requests on this machine as AWS would: a model.tar.gz on the SageMaker
PyTorch serving stack with the InvokeEndpoint route (``endpoint``), a loopback endpoint that
answers whatever it is told (``stub_endpoint``), the Lambda handler imported as a fresh
container does (``lambda_runtime``), and the dog-photo page (``page``)."""
