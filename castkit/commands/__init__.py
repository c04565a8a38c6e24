"""The everyday commands besides ``build``: ``convert`` one capture, ``title`` one card,
``preview`` a storyboard, ``doctor`` the ffmpeg in use.

Layer 10 (beside ``exports``): imports ``builder`` and everything below.
"""
