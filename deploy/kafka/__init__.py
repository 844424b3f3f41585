"""The Kafka launcher: official Apache Kafka brokers in KRaft mode on loopback, run with the JDK."""
