"""The model contract: what a .tflite file says about its input and output (pawlite.json,
TFLite Metadata read through a pure-Python flatbuffer reader) and writing that metadata."""
