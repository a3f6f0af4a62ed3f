"""Making the video: the machinery the outputs share, split by job.

- run.py: the one render path of the video and the slides (`render_parts`), the fast run the
  stills and the script come from (`fast_run`), the speech (`prepare_speech`), the progress bar;
- options.py: manim's configuration; cache.py: the cache of finished stages (each entry written
  through scenes/cache_writes.py, which says once when a cache cannot be written); pool.py: each stage
  rendered on its own, in forked processes; media.py: pieces, joins, sound, GIF, subtitles;
  batch.py: many videos' stages as one batch; names.py: file and folder names, render.py's default file;
- voice.py: the offline voices; lifecycle.py: signals, work folders, publishing every output at once.
Every use of manim's private API is scenes/manim_adapter.py's, below both the explainer and this package.
"""

