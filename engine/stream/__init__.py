"""Streaming: a run's signals and strategy driven bar by bar (``xai-backtest stream``,
``Backtest.stream``).

``start`` opens a stream of a config; ``runner`` is the loop; ``online`` decides each bar
with the walk-forward's fold model; ``book`` keeps the paper account with the run's own
engine; ``broker`` is where orders go; ``guard`` sorts out bad streams; ``journal`` keeps
everything for a restart; ``live_page`` writes ``live.html``; ``cli`` is the command.
"""
