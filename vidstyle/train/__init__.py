"""Training transform nets with perceptual losses (Johnson et al. 2016, §3)."""
