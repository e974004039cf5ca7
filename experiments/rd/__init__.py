"""Benchmarks and comparisons: rate-distortion against the classical peers (jpegli, mozjpeg,
libjpeg-turbo, OpenJPEG) and between the shipped networks."""
