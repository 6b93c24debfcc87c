"""Dataset loaders and generators for rnnzoo (numpy + stdlib only)."""
