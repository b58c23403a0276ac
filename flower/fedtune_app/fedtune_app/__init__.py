"""fedtune's Flower ServerApp (flwr 1.23 public API)."""
