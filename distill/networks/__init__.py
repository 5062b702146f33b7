"""Every network and its loader: architectures, the tiny CLIP, the text-conditioned teacher, the SD pipeline, latent pools."""
