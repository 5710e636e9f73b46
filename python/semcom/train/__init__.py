"""Training loops. Each runs alone or under torchrun (DistributedDataParallel)."""
