"""etcd membership for the migration: the protocol, quorum arithmetic, and the etcdctl implementation."""
