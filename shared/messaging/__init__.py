"""RabbitMQ: the relay that publishes a log, the batched consumer, and the topology derived from the services."""
