"""The SDK producers, processors and auditors share: contracts, envelope, publishing and consuming."""
