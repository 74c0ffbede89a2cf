"""kubespray2talos: move Kubespray-built Kubernetes clusters onto Talos Linux, node by node."""

__version__ = "0.1.0"
