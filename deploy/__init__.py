"""Deployment: the Kafka launcher that runs the brokers the bus needs."""
