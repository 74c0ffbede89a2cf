"""The security posture before and after: every CIS control a configuration decides, Kubespray's value beside
Talos's, and whether the move makes it stronger, keeps it, or weakens it (docs/security.md, "Posture")."""
