"""The everyday commands besides ``build``: ``convert`` one capture, ``title`` one card,
``preview`` a storyboard, ``doctor`` the ffmpeg in use, ``init`` a first recipe and contact
sheets from a user's own recordings.

Layer 10 (beside ``exports``): imports ``builder`` and everything below.
"""
