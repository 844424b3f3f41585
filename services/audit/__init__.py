"""The auditors' tools: the archive of the domain topics (Avro files chained by manifests, anchored on
``audit.anchors``), its verification, and replay of any view from Kafka or from an archive.
"""
