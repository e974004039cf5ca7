"""Speed and memory: encode and decode time, cold starts, batch throughput, large images and
training step time on this CPU."""
