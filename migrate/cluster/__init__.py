"""The Kubernetes side of the migration, behind one narrow `Cluster` protocol (see base.py)."""
