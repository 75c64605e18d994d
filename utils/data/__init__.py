"""The data layer: find, download, extract, check, split and load the images (notebook 01).

``sources`` (where the data come from) -> ``download`` / ``archives`` -> ``images`` (one check
per file) -> ``splits`` -> ``dataset`` (the manifest every notebook reads) -> ``pipeline``
(tf.data). ``loaders`` keeps the seed notebook's loader for comparison.
"""
