"""The teacher stack's training stages: VAE, text encoder, teacher UNet, and the SD folder they make."""
