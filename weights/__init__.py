"""The shipped networks (ONNX graphs, torch weights and MANIFEST.json), installed as package
data so that ``importlib.resources`` finds them in a wheel as in the repository."""
