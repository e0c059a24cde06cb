"""The benchmark: collab against the reference Yjs servers (docs/performance.md)."""
