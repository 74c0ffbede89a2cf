"""The node-by-node migration: migration.yaml, kubectl-grade drain, the steps, the run loop, and rehearsals."""
