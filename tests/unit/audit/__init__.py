"""Pure tests of the auditors' tools."""
