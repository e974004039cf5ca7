"""Training: the lane that never stops (issue 22), the recipe, the GPU slices and the
registration of shipped networks."""
