"""Pixels: a photo file to the model's input array (decoding, EXIF, crop, the resize methods)."""
