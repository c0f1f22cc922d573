"""Settings of the robot per environment: the sandbox default and production."""
