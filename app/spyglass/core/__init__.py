"""The transport core of Spyglass: image names, manifests, transports and the copy engine; no Qt."""
